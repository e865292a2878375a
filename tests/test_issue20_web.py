"""Hostile input that was a redirect to another site or a 500: ``next=`` with a tab, a garbage bearer
header beside a session, lone surrogates, row numbers that are not numbers; and the login throttle
and password policy that refused the wrong people and accepted the wrong passwords."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from engine.admin.users import check_password_policy, create_user, generate_password, issue_token, reset_password
from engine.errors import InvalidInput
from engine.models import Case, Task, User, db
from tests.conftest import DATA, PASSWORD, deploy_dir, user
from tests.support.web import assignee, attempt, form_inputs, logged_in, start
from tests.support.web import client_csrf as csrf
from webui.auth import MAX_FAILURES_PER_ADDRESS, MAX_FAILURES_PER_PAIR, MAX_FAILURES_PER_USER, LoginThrottle
from webui.formrender import MAX_ROW_INDEX, parse_form
from webui.security import safe_redirect

# Each leads a browser to another site, or breaks the Location header: every one falls back to the default.
HOSTILE_NEXT = [
    "/\t/evil.example",  # /%09/evil.example: browsers drop the tab and go to //evil.example
    "/\r/evil.example", "/\n/evil.example", "/\t\\evil.example",
    "/x\r\nSet-Cookie: pwned=1",  # header injection (was a 500)
    "/\x7f/evil.example", "/\x01/evil.example", "/\x85/evil.example",
    "/ /evil.example", "/\u3000/evil.example", "/\u00a0/evil.example",  # whitespace between the slashes
    "//evil.example/", "/\\evil.example/", "/a\\b", "https://evil.example/", "javascript:alert(1)",
    "evil.example/path", "", "/" + "a" * 3000,
]
def short(value: object) -> str:
    """A readable test id for a parameter that may be thousands of characters long."""
    text = repr(value)
    return text if len(text) <= 24 else f"{text[:16]}…({len(str(value))})"


SAFE_NEXT = ["/cases/1", "/?scope=available&page=2", "/tasks/abc#form", "/案件"]


# --- 1. one safe-redirect check for login, language switch, unclaim and reassign --------------------

@pytest.mark.parametrize("target", HOSTILE_NEXT, ids=short)
def test_safe_redirect_refuses_every_way_to_another_site(target: str) -> None:
    assert safe_redirect(target, "/home") == "/home"


@pytest.mark.parametrize("target", SAFE_NEXT)
def test_safe_redirect_keeps_paths_of_this_site(target: str) -> None:
    assert safe_redirect(target, "/home") == target


@pytest.mark.parametrize("target", HOSTILE_NEXT, ids=short)
def test_login_falls_back_to_the_inbox_for_a_hostile_next(app: Flask, people: dict[str, int], target: str) -> None:
    client = app.test_client()
    token = form_inputs(client.get("/login").get_data(as_text=True))["csrf_token"]
    r = client.post("/login", query_string={"next": target}, data={"username": "a_handler1", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"] == "/", r.headers.get("Location")
    assert "pwned" not in str(r.headers)


def test_login_still_returns_to_a_page_of_this_site(app: Flask, people: dict[str, int]) -> None:
    client = app.test_client()
    token = form_inputs(client.get("/login").get_data(as_text=True))["csrf_token"]
    r = client.post("/login?next=/cases/7%3Fx%3D1", data={"username": "a_handler1", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"] == "/cases/7?x=1"
    client = app.test_client()
    token = form_inputs(client.get("/login").get_data(as_text=True))["csrf_token"]
    r = client.post("/login", query_string={"next": "/?q=案件"}, data={"username": "a_handler1", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"] in ("/?q=案件", "/?q=%E6%A1%88%E4%BB%B6")


def test_the_raw_tab_in_the_query_string_does_not_escape(app: Flask, people: dict[str, int]) -> None:
    """The exact request of the report, percent-encoded as a browser sends it."""
    client = app.test_client()
    token = form_inputs(client.get("/login").get_data(as_text=True))["csrf_token"]
    for raw in ("/%09/evil.example", "/%0D%0A/evil.example", "%2F%09%2Fevil.example", "/%5Cevil.example"):
        r = client.post(f"/login?next={raw}", data={"username": "a_handler1", "password": PASSWORD, "csrf_token": token})
        assert r.status_code == 302 and r.headers["Location"] == "/", (raw, r.headers["Location"])
        client = app.test_client()
        token = form_inputs(client.get("/login").get_data(as_text=True))["csrf_token"]


@pytest.mark.parametrize("target", HOSTILE_NEXT, ids=short)
def test_language_switch_falls_back_to_the_home_page(app: Flask, target: str) -> None:
    client = app.test_client()
    token = form_inputs(client.get("/login").get_data(as_text=True))["csrf_token"]
    r = client.post("/lang", data={"lang": "en", "next": target, "csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"] == "/", r.headers.get("Location")
    assert "zhifa_lang=en" in r.headers["Set-Cookie"]


def test_language_switch_returns_to_the_page_it_was_pressed_on(app: Flask) -> None:
    client = app.test_client()
    token = form_inputs(client.get("/login").get_data(as_text=True))["csrf_token"]
    r = client.post("/lang", data={"lang": "en", "next": "/login?next=%2Fcases%2F3", "csrf_token": token})
    assert r.headers["Location"] == "/login?next=%2Fcases%2F3"


@pytest.mark.parametrize("target", ["/\t/evil.example", "/\r\n/evil.example", "/\\evil.example", "/ /evil.example"])
def test_unclaim_and_reassign_fall_back_to_the_inbox(app: Flask, people: dict[str, int], mini: int, target: str) -> None:
    _, task_id = start(app)
    handler = logged_in(app, "a_handler1")
    handler.post(f"/tasks/{task_id}/claim", data={"csrf_token": csrf(handler)})
    r = handler.post(f"/tasks/{task_id}/unclaim", data={"csrf_token": csrf(handler), "next": target})
    assert r.status_code == 302 and r.headers["Location"] == "/", r.headers["Location"]
    assert assignee(app, task_id) is None

    head = logged_in(app, "a_head")
    r = head.post(f"/tasks/{task_id}/reassign", data={"csrf_token": csrf(head), "to": "a_handler2", "next": target})
    assert r.status_code == 302 and r.headers["Location"] == "/", r.headers["Location"]
    assert assignee(app, task_id) == people["a_handler2"]
    # A refusal (a_nocred has no 执法证) goes back the same way: flashed, then the safe page.
    r = head.post(f"/tasks/{task_id}/reassign", data={"csrf_token": csrf(head), "to": "a_nocred", "next": target})
    assert r.status_code == 302 and r.headers["Location"] == "/", r.headers["Location"]
    assert assignee(app, task_id) == people["a_handler2"]


def test_unclaim_still_returns_to_the_list_it_came_from(app: Flask, people: dict[str, int], mini: int) -> None:
    _, task_id = start(app)
    handler = logged_in(app, "a_handler1")
    handler.post(f"/tasks/{task_id}/claim", data={"csrf_token": csrf(handler)})
    r = handler.post(f"/tasks/{task_id}/unclaim", data={"csrf_token": csrf(handler), "next": "/?scope=available"})
    assert r.headers["Location"] == "/?scope=available"


# --- 2. a request with a bearer header is judged by the token alone ----------------------------------

GARBAGE_TOKENS = ["garbage", "", "zf_" + "a" * 100_000, "zf_äöü", "zf_\u00ff\u00fe", "zf_a b", "zf_ab\x01", "zf_ab,Basic x",
                  "zf_not-a-token"]


@pytest.mark.parametrize("token", GARBAGE_TOKENS, ids=short)
def test_a_garbage_bearer_token_beside_a_valid_session_is_a_401_never_a_500(app: Flask, people: dict[str, int],
                                                                            token: str) -> None:
    client = logged_in(app, "a_handler1")
    headers = {"Authorization": f"Bearer {token}"}
    r = client.get("/api/v1/tasks", headers=headers)
    assert r.status_code == 401, r.status_code
    body = r.get_json()
    assert body["error"] == "invalid_token" and "令牌" in body["message"]
    assert r.headers["WWW-Authenticate"].startswith("Bearer") and 'error="invalid_token"' in r.headers["WWW-Authenticate"]
    r = client.post("/api/v1/cases", headers=headers, json={"procedure": "mini", "party": {"type": "citizen", "name": "张三"}})
    assert r.status_code == 401, "the session does not stand in for a bad token (and no CSRF check was needed)"
    for page in ("/", "/cases/new", "/notifications"):
        r = client.get(page, headers=headers)
        assert r.status_code == 401, (page, r.status_code)
        assert "令牌" in r.get_data(as_text=True)
    assert client.get("/").status_code == 200, "without the header the session still works"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_a_malformed_token_is_refused_without_a_database_lookup(app: Flask, people: dict[str, int],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import webui.auth

    looked_up: list[str] = []
    real = webui.auth.user_for_token
    monkeypatch.setattr(webui.auth, "user_for_token", lambda token: looked_up.append(token) or real(token))
    client = app.test_client()
    for token in ("zf_" + "a" * 100_000, "zf_äöü", "zf_a b", "zf_ab\x01", "a,b"):
        assert client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert looked_up == []
    assert client.get("/api/v1/tasks", headers={"Authorization": "Bearer zf_well-formed_but-unknown"}).status_code == 401
    assert looked_up == ["zf_well-formed_but-unknown"]


def test_a_bearer_header_without_a_token_is_refused(app: Flask, people: dict[str, int]) -> None:
    client = logged_in(app, "a_handler1")
    for header in ("Bearer", "bearer ", "BEARER  "):
        r = client.get("/api/v1/tasks", headers={"Authorization": header})
        assert r.status_code == 401 and r.get_json()["error"] == "invalid_token", header


def test_a_valid_token_is_judged_by_itself_whatever_the_session(app: Flask, people: dict[str, int]) -> None:
    with app.app_context():
        admin_token, handler_token = issue_token(user("admin")), issue_token(user("a_handler1"))
        db.session.commit()
    as_handler = logged_in(app, "a_handler1")
    assert as_handler.get("/api/v1/incidents").status_code == 403
    for scheme in ("Bearer", "bearer"):
        assert as_handler.get("/api/v1/incidents", headers={"Authorization": f"{scheme} {admin_token}"}).status_code == 200
    as_admin = logged_in(app, "admin")
    assert as_admin.get("/api/v1/incidents").status_code == 200
    assert as_admin.get("/api/v1/incidents", headers={"Authorization": f"Bearer {handler_token}"}).status_code == 403


def test_a_revoked_token_is_a_401_even_with_a_session(app: Flask, people: dict[str, int]) -> None:
    from engine.admin.users import revoke_tokens

    with app.app_context():
        token = issue_token(user("a_handler1"))
        db.session.commit()
        revoke_tokens(user("admin"), people["a_handler1"])
    client = logged_in(app, "a_handler1")
    r = client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and r.get_json()["error"] == "invalid_token"


# --- 3. lone surrogates are refused like NUL characters ---------------------------------------------

def _post_raw_json(client: FlaskClient, path: str, text: str, token: str) -> tuple[int, dict]:
    r = client.post(path, data=text.encode(), content_type="application/json", headers={"Authorization": f"Bearer {token}"})
    return r.status_code, r.get_json()


@pytest.mark.parametrize("name", ["\\ud800", "\\uDFFF", "张\\ud83d三", "\\ude00\\ud83d"])
def test_a_lone_surrogate_in_a_json_body_is_a_400_and_nothing_is_stored(app: Flask, people: dict[str, int], mini: int,
                                                                       name: str) -> None:
    with app.app_context():
        token = issue_token(user("a_handler1"))
        db.session.commit()
    client = app.test_client()
    body = '{"procedure": "mini", "party": {"type": "citizen", "name": "NAME"}}'.replace("NAME", name)
    status, answer = _post_raw_json(client, "/api/v1/cases", body, token)
    assert status == 400, (status, answer)
    assert "代理项" in answer["message"] and "请删除该字符" in answer["message"]
    status, answer = _post_raw_json(client, "/api/v1/cases", '{"procedure": "mini", "party": {"type": "citizen", "name": "张三"},'
                                                             ' "facts": {"\\ud800": 1}}', token)
    assert status == 400, "a surrogate in a key too"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_a_surrogate_pair_and_an_escaped_backslash_are_ordinary_text(app: Flask, people: dict[str, int], mini: int) -> None:
    with app.app_context():
        token = issue_token(user("a_handler1"))
        db.session.commit()
    client = app.test_client()
    for name in ("\\ud83d\\ude00 商店", "\\\\ud800"):  # 😀, and the six characters \ud800
        body = '{"procedure": "mini", "party": {"type": "citizen", "name": "NAME"}}'.replace("NAME", name)
        status, answer = _post_raw_json(client, "/api/v1/cases", body, token)
        assert status == 201, (name, status, answer)
    with app.app_context():
        assert sorted(c.party_name for c in db.session.scalars(select(Case))) == sorted(["😀 商店", "\\ud800"])


def test_surrogates_in_forms_and_query_strings_are_never_a_500(app: Flask, people: dict[str, int], mini: int) -> None:
    """A browser cannot send a lone surrogate (UTF-8 has none): its bytes are decoded as U+FFFD and stored as such."""
    client = logged_in(app, "a_handler1")
    assert client.get("/?q=%ED%A0%80").status_code == 200
    assert client.get("/api/v1/cases?q=%ED%A0%80").status_code == 200
    token = csrf(client)
    r = client.post("/cases/new", data=f"csrf_token={token}&procedure=mini&party_type=citizen&party_name=%ED%A0%80"
                                        "&violation=x&proposed_fine=1", content_type="application/x-www-form-urlencoded")
    assert r.status_code < 500


def test_the_surrogate_check_covers_forms_too(app: Flask) -> None:
    """Werkzeug decodes forms with replacement characters today; the check does not rely on it."""
    from webui import security

    with app.test_request_context("/x", method="POST", data={"a": "ok"}):
        assert security._bad_text_in_request() is None
    with app.test_request_context("/x", method="POST", data={"a": "ok"}) as ctx:
        ctx.request.form = MultiDict({"party_name": "\ud800"})
        assert security._bad_text_in_request() == "surrogate"
    with app.test_request_context("/x", method="GET") as ctx:
        ctx.request.args = MultiDict({"q": "a\udfffb"})
        assert security._bad_text_in_request() == "surrogate"


# --- 4. row numbers are ASCII digits up to MAX_ROW_INDEX --------------------------------------------

ROWS_SCHEMA = {
    "type": "object",
    "properties": {
        "evidence": {"title": "证据", "type": "array", "x-widget": "rows", "items": {
            "type": "object", "properties": {"name": {"title": "名称", "type": "string"}}}},
        "evidence-note": {"title": "备注", "type": "string"},
    },
}


@pytest.mark.parametrize("index", ["²", "٣", "１", "-1", "+1", "1_0", " 1", str(MAX_ROW_INDEX + 1), "9" * 5000, "10" * 5, "x"], ids=short)
def test_a_row_number_that_is_not_one_is_refused_naming_the_field(index: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_form(ROWS_SCHEMA, MultiDict({f"evidence-{index}-name": "照片", "evidence-0-name": "笔录"}))
    assert err.value.details[0]["field"] == "evidence"
    assert "证据" in err.value.message and "行号" in err.value.message and f"0 到 {MAX_ROW_INDEX}" in err.value.message


def test_row_numbers_up_to_the_bound_are_rows_and_another_fields_inputs_are_not() -> None:
    data = parse_form(ROWS_SCHEMA, MultiDict({f"evidence-{MAX_ROW_INDEX}-name": "末行", "evidence-0-name": "首行",
                                              "evidence-note": "备注", "evidence-007-name": "零七"}))
    assert data["evidence"] == [{"name": "首行"}, {"name": "零七"}, {"name": "末行"}]
    assert data["evidence-note"] == "备注"


@pytest.fixture
def rows_bundle(app: Flask, tmp_path: Path) -> int:
    """The mini procedure whose 登记 form also has rows of evidence."""
    bundle = tmp_path / "bundle"
    shutil.copytree(DATA / "mini", bundle)
    form = bundle / "forms" / "mini_register.json"
    schema = json.loads(form.read_text())
    schema["properties"]["evidence"] = {"title": "证据", "type": "array", "x-widget": "rows", "items": {
        "type": "object", "required": ["name"], "properties": {"name": {"title": "名称", "type": "string", "maxLength": 50}}}}
    form.write_text(json.dumps(schema, ensure_ascii=False))
    with app.app_context():
        deployment_id = deploy_dir(bundle)
        db.session.remove()
    return deployment_id


@pytest.mark.parametrize("index", ["²", "1000000000", "9" * 5000], ids=short)
def test_a_task_page_post_with_a_bad_row_number_is_a_422_and_changes_nothing(app: Flask, people: dict[str, int],
                                                                             rows_bundle: int, index: str) -> None:
    case_id, task_id = start(app)
    client = logged_in(app, "a_handler1")
    client.post(f"/tasks/{task_id}/claim", data={"csrf_token": csrf(client)})
    fields = form_inputs(client.get(f"/tasks/{task_id}").get_data(as_text=True))
    r = client.post(f"/tasks/{task_id}", data={"csrf_token": fields["csrf_token"], "version": fields["version"],
                                                "facts": "经营场所未公示", "proposed_fine": "100", f"evidence-{index}-name": "照片"})
    assert r.status_code == 422, r.status_code
    page = r.get_data(as_text=True)
    assert "证据" in page and "行号" in page and "经营场所未公示" in page, "the message names the field; the input is kept"
    with app.app_context():
        task = db.session.get(Task, task_id)
        assert task is not None and task.status == "open"
    r = client.post(f"/tasks/{task_id}", data={"csrf_token": fields["csrf_token"], "version": fields["version"],
                                                "facts": "经营场所未公示", "proposed_fine": "100", "evidence-3-name": "照片"})
    assert r.status_code == 302 and f"/cases/{case_id}" in r.headers["Location"]


# --- 5. login throttling: per account and address, per account, and spraying per address -------------

def test_colleagues_behind_one_address_log_in_however_many_others_fail(app: Flask, people: dict[str, int]) -> None:
    """An office behind one NAT address: other people's failures never refuse a correct password."""
    throttle = app.extensions["zhifa_login_throttle"]
    for i in range(MAX_FAILURES_PER_ADDRESS * 2):
        throttle.fail(f"typo{i % 7}", "192.0.2.7")
    for name in ("a_handler2", "a_head"):
        throttle.fail(name, "192.0.2.7", times=MAX_FAILURES_PER_PAIR - 1)  # colleagues who mistyped, but are under their own limit
    office = app.test_client()
    office.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    for name in ("a_handler1", "a_reviewer", "a_chief"):
        assert attempt(office, name, PASSWORD).status_code == 302, name


def test_spraying_from_one_address_refuses_unknown_and_failed_usernames_there(app: Flask, people: dict[str, int]) -> None:
    throttle = app.extensions["zhifa_login_throttle"]
    sprayer = app.test_client()
    sprayer.environ_base["REMOTE_ADDR"] = "198.51.100.9"
    throttle.fail("nobody", "198.51.100.9", times=MAX_FAILURES_PER_ADDRESS - 1)
    assert attempt(sprayer, "nobody2", "wrong-pass-1").status_code == 429, "the 100th failure: from now on 'too many'"
    r = attempt(sprayer, "nobody2", "wrong-pass-1")
    assert r.status_code == 429 and "本机地址" in r.get_data(as_text=True) and "分钟后再试" in r.get_data(as_text=True)
    assert int(r.headers["Retry-After"]) > 0
    # A real user with a wrong password: "too many" as well (no oracle for which usernames exist) ...
    assert attempt(sprayer, "a_handler1", "wrong-pass-1").status_code == 429
    # ... and having failed there, not even their right password goes through from that address for now.
    assert attempt(sprayer, "a_handler1", PASSWORD).status_code == 429
    # A user who has not failed gets in with the right password; elsewhere a_handler1 does too.
    assert attempt(sprayer, "a_handler2", PASSWORD).status_code == 302
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "198.51.100.10"
    assert attempt(elsewhere, "a_handler1", PASSWORD).status_code == 302


def test_one_account_from_many_addresses_is_locked_everywhere(app: Flask, people: dict[str, int]) -> None:
    """Credential stuffing against one account from several addresses, none of which reaches its own limit."""
    per_address = MAX_FAILURES_PER_PAIR - 1
    addresses = [f"203.0.113.{i}" for i in range(-(-MAX_FAILURES_PER_USER // per_address))]
    for address in addresses:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        for _ in range(per_address):
            assert attempt(client, "a_head", "wrong-pass-1").status_code in (401, 429)
    fresh = app.test_client()
    fresh.environ_base["REMOTE_ADDR"] = "203.0.113.200"
    r = attempt(fresh, "a_head", PASSWORD)
    assert r.status_code == 429 and "该账号" in r.get_data(as_text=True) and "可能有人在猜测密码" in r.get_data(as_text=True)
    assert attempt(fresh, "a_handler1", PASSWORD).status_code == 302, "other accounts are not locked"


def test_the_refusal_says_how_long_to_wait_and_the_lock_ends(app: Flask, people: dict[str, int]) -> None:
    now = [1000.0]
    throttle = LoginThrottle(now=lambda: now[0])
    app.extensions["zhifa_login_throttle"] = throttle
    client = app.test_client()
    for _ in range(MAX_FAILURES_PER_PAIR):
        now[0] += 30
        assert attempt(client, "a_handler1", "wrong-pass-1").status_code == 401
    r = attempt(client, "a_handler1", PASSWORD)
    assert r.status_code == 429 and "请 3 分钟后再试" in r.get_data(as_text=True)  # the first failure ages out in 180 s
    assert r.headers["Retry-After"] == "180"
    refusal = throttle.refusal("a_handler1", "127.0.0.1")
    assert refusal is not None and refusal.rule == "pair"
    now[0] += 181
    assert attempt(client, "a_handler1", PASSWORD).status_code == 302
    assert throttle.refusal("a_handler1", "127.0.0.1") is None, "a right password ends its own count"


def test_the_refusals_are_translated(app: Flask, people: dict[str, int]) -> None:
    client = app.test_client()
    client.set_cookie("zhifa_lang", "en")
    for _ in range(MAX_FAILURES_PER_PAIR):
        attempt(client, "a_handler1", "wrong-pass-1")
    page = attempt(client, "a_handler1", PASSWORD).get_data(as_text=True)
    assert "try again in 5 minutes" in page and "该账号" not in page


def test_the_throttle_forgets_stale_counters(monkeypatch: pytest.MonkeyPatch) -> None:
    import webui.auth

    monkeypatch.setattr(webui.auth, "MAX_KEYS", 10)
    now = [0.0]
    throttle = LoginThrottle(now=lambda: now[0])
    for i in range(20):
        throttle.fail(f"name{i}", "10.0.0.1")
    now[0] += 1000
    throttle.fail("late", "10.0.0.1")
    assert len(throttle._failures) <= 3


# --- 6. password policy: zxcvbn, the username, Chinese messages -------------------------------------

@pytest.mark.parametrize("password", ["password12", "aaaaaaaaa1", "qwertyuiop1", "abcdefghij1", "19870512ab", "Password2026"])
def test_guessable_passwords_are_refused_in_chinese(app: Flask, password: str) -> None:
    with pytest.raises(InvalidInput) as err:
        check_password_policy(password, "wang5", "王五")
    message = err.value.message
    assert message.startswith("密码太容易被猜到：") and "请换一个密码" in message
    assert "easy to guess" not in message.split("(")[0], "zxcvbn's English feedback is not shown"


@pytest.mark.parametrize(("username", "password"), [("a_handler1", "x-A_HANDLER1-2026-q"), ("li4", "Olive-LI4-tree-9"),
                                                    ("admin", "Myadmin-pass-2026")])
def test_a_password_containing_the_username_is_refused(app: Flask, username: str, password: str) -> None:
    with pytest.raises(InvalidInput) as err:
        check_password_policy(password, username, username)
    assert "不能包含用户名" in err.value.message


def test_the_display_name_counts_as_a_known_word() -> None:
    check_password_policy("Zhangsanfeng7", "u9", "")
    with pytest.raises(InvalidInput):
        check_password_policy("Zhangsanfeng7", "u9", "zhangsanfeng")


@pytest.mark.parametrize(("username", "password"), [("a_handler1", PASSWORD), ("admin", "zhifa-demo-2026"),
                                                    ("b_reviewer", "zhifa-demo-2026"), ("zhang3", "Strong-pass-2026"),
                                                    ("quick", "swift-pass-2026"), ("u", "Correct-horse-battery-9")])
def test_the_demo_and_test_passwords_still_pass(username: str, password: str) -> None:
    check_password_policy(password, username, username)


def test_a_long_passphrase_is_judged_not_refused() -> None:
    check_password_policy("the quick brown fox 7 jumps over the lazy dog " * 3, "a_head", "a_head")


def test_generated_passwords_pass_the_policy_even_for_short_usernames() -> None:
    for _ in range(500):  # "ab" is in about one random password in 70
        password = generate_password("ab", "ab")
        assert "ab" not in password.lower()
        check_password_policy(password, "ab", "ab")


def test_weak_passwords_are_refused_on_every_path(app: Flask, people: dict[str, int]) -> None:
    from tests.support.cli import invoke

    with app.app_context():
        for password in ("password12", "aaaaaaaaa1", "Weakling-2026x"):
            with pytest.raises(InvalidInput):
                create_user("weakling", "unit_a", ["handler"], password)
            db.session.rollback()
            with pytest.raises(InvalidInput):
                reset_password(user("admin"), people["a_handler1"], password.replace("Weakling", "A_handler1"))
            db.session.rollback()
        assert db.session.query(User).filter_by(username="weakling").first() is None
    result = invoke(app, "users", "create", "weak2", "--unit", "unit_a", "--role", "handler", "--password", "password12")
    assert result.exit_code != 0 and "密码太容易被猜到" in result.output
    result = invoke(app, "users", "create", "strong2", "--unit", "unit_a", "--role", "handler", "--password", "Copper-kettle-2026")
    assert result.exit_code == 0, result.output
    result = invoke(app, "users", "create", "gen3", "--unit", "unit_a", "--role", "handler")
    assert result.exit_code == 0 and "with password" in result.output


def test_the_admin_page_shows_the_chinese_reason(app: Flask, people: dict[str, int]) -> None:
    admin = logged_in(app, "admin")
    token = form_inputs(admin.get("/admin/users/new").get_data(as_text=True))["csrf_token"]
    r = admin.post("/admin/users/new", data={"csrf_token": token, "username": "zhao9", "display_name": "赵九", "unit": "unit_a",
                                             "roles": "handler", "password": "password12"})
    assert r.status_code == 422 and "密码太容易被猜到" in r.get_data(as_text=True)
    r = admin.post("/admin/users/new", data={"csrf_token": token, "username": "zhao9", "display_name": "赵九", "unit": "unit_a",
                                             "roles": "handler", "password": "Zhao9-lantern-2026"})
    assert r.status_code == 422 and "不能包含用户名" in r.get_data(as_text=True)


def test_the_demo_loader_is_not_blocked(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.demo.cases
    from engine.demo.seed import DEMO_PASSWORD, load_demo

    monkeypatch.setattr(engine.demo.cases, "load_demo_cases", lambda: None)  # the cases need the shipped procedures
    with app.app_context():
        load_demo()
        assert db.session.scalar(select(func.count()).select_from(User)) >= 17
        names = list(db.session.scalars(select(User.username)))
    client = app.test_client()
    for name in names:
        assert attempt(client, name, DEMO_PASSWORD).status_code == 302, name
        client = app.test_client()
