"""The officer pages against a hostile browser: forged form posts, another unit's case, script in input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from markupsafe import escape

from engine import clock
from engine.models import db
from tests.conftest import PASSWORD
from tests.support.web import assignee, form_inputs, logged_in, start
from tests.support.web import client_csrf as csrf

PAYLOADS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']


def test_claim_without_a_csrf_token_is_refused_and_changes_nothing(app: Flask, people: dict[str, int], mini: int,
                                                                    frozen: clock.FrozenClock) -> None:
    case_id, task_id = start(app)
    client = logged_in(app, "a_handler1")
    assert client.post(f"/tasks/{task_id}/claim").status_code == 400
    assert client.post(f"/tasks/{task_id}/claim", data={"csrf_token": "forged"}).status_code == 400
    assert assignee(app, task_id) is None
    token = form_inputs(client.get("/?scope=available").get_data(as_text=True))["csrf_token"]
    assert client.post(f"/tasks/{task_id}/claim", data={"csrf_token": token}).status_code in (302, 303)
    assert assignee(app, task_id) == people["a_handler1"]


@pytest.mark.parametrize("path", ["/tasks/{task}/claim", "/tasks/{task}/unclaim", "/tasks/{task}/reassign", "/tasks/{task}",
                                  "/cases/new", "/lang", "/logout"])
def test_every_form_post_without_a_csrf_token_is_refused(app: Flask, people: dict[str, int], mini: int, frozen: clock.FrozenClock,
                                                         path: str) -> None:
    _, task_id = start(app)
    client = logged_in(app, "a_head")
    client.post(f"/tasks/{task_id}/claim", data={"csrf_token": csrf(client)})
    version = form_inputs(client.get(f"/tasks/{task_id}").get_data(as_text=True)).get("version", "1")
    data = {"to": "a_handler2", "version": version, "facts": "经营场所未公示", "proposed_fine": "100", "lang": "en",
            "procedure": "mini", "party_type": "citizen", "party_name": "伪造请求"}
    r = client.post(path.format(task=task_id), data=data)
    assert r.status_code == 400 and "CSRF" in r.get_data(as_text=True)
    assert assignee(app, task_id) == people["a_head"], "the task is still claimed by the head, open"
    assert client.get("/").status_code == 200, "still logged in"


def test_officer_of_another_unit_gets_404_for_the_case_and_task_in_pages_and_api(app: Flask, api: Callable[[str], Any],
                                                                                 mini: int, frozen: clock.FrozenClock) -> None:
    case_id, task_id = start(app, party_name="某某食品有限公司")
    colleague = logged_in(app, "a_handler2")
    assert colleague.get(f"/cases/{case_id}").status_code == 200
    assert colleague.get(f"/tasks/{task_id}").status_code == 200

    outsider = logged_in(app, "b_handler1")
    for path in (f"/cases/{case_id}", f"/cases/{case_id}/diagram", f"/tasks/{task_id}"):
        r = outsider.get(path)
        assert r.status_code == 404, path
        assert "某某食品有限公司" not in r.get_data(as_text=True)
    assert outsider.post(f"/tasks/{task_id}/claim", data={"csrf_token": csrf(outsider)}).status_code == 404
    assert "某某食品有限公司" not in outsider.get("/?scope=available").get_data(as_text=True)
    assert assignee(app, task_id) is None

    outsider_api = api("b_handler1")
    assert outsider_api.get(f"/cases/{case_id}")[0] == 404
    assert outsider_api.get(f"/tasks/{task_id}")[0] == 404


@pytest.mark.parametrize("payload", PAYLOADS)
def test_script_in_a_party_name_is_escaped_on_inbox_task_and_case_pages(app: Flask, people: dict[str, int], mini: int,
                                                                         frozen: clock.FrozenClock, payload: str) -> None:
    case_id, task_id = start(app, party_name=payload)
    handler, head = logged_in(app, "a_handler2"), logged_in(app, "a_head")
    for client, path in ((handler, "/?scope=available"), (head, "/?scope=unit"), (handler, f"/tasks/{task_id}"),
                         (handler, f"/cases/{case_id}")):
        r = client.get(path)
        assert r.status_code == 200, path
        assert_escaped(r.get_data(as_text=True), payload, path)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_script_typed_into_a_form_field_is_escaped_when_shown_again(app: Flask, people: dict[str, int], mini: int,
                                                                    frozen: clock.FrozenClock, payload: str) -> None:
    case_id, task_id = start(app)
    client = logged_in(app, "a_handler1")
    client.post(f"/tasks/{task_id}/claim", data={"csrf_token": csrf(client)})
    fields = form_inputs(client.get(f"/tasks/{task_id}").get_data(as_text=True))
    # A negative fine is refused: the page comes back with the typed facts kept.
    r = client.post(f"/tasks/{task_id}", data={"csrf_token": fields["csrf_token"], "version": fields["version"],
                                                "facts": payload, "proposed_fine": "-5"})
    assert r.status_code == 422, r.status_code
    assert_escaped(r.get_data(as_text=True), payload, "task form with an error")

    r = client.post(f"/tasks/{task_id}", data={"csrf_token": fields["csrf_token"], "version": fields["version"],
                                                "facts": payload, "proposed_fine": "100"})
    assert r.status_code in (302, 303) and f"/cases/{case_id}" in r.headers["Location"]
    for path in (f"/cases/{case_id}", f"/tasks/{task_id}", "/?scope=done"):
        page = client.get(path).get_data(as_text=True)
        assert payload not in page and "<img src=x" not in page, path


@pytest.mark.parametrize("target", ["//evil.example/", "/\\evil.example/", "https://evil.example/", "javascript:alert(1)"])
def test_login_never_redirects_to_another_site(app: Flask, people: dict[str, int], target: str) -> None:
    client = app.test_client()
    token = form_inputs(client.get("/login").get_data(as_text=True))["csrf_token"]
    r = client.post("/login", query_string={"next": target},
                    data={"username": "a_handler1", "password": PASSWORD, "csrf_token": token})
    location = r.headers["Location"]
    assert r.status_code == 302 and location.startswith("/") and not location.startswith("//") and "\\" not in location


# --- helpers -------------------------------------------------------------------------------------

def assert_escaped(page: str, payload: str, where: str) -> None:
    assert payload not in page, f"raw payload on {where}"
    assert "<img src=x" not in page and "<script>alert" not in page, f"injected markup on {where}"
    assert str(escape(payload)) in page, f"escaped payload {escape(payload)} missing on {where}"


def test_ids_beyond_the_integer_columns_are_not_found_on_every_database(app, people):
    """Ids are INTEGER columns: PostgreSQL refuses to bind 2**31 and more, so routing must stop them (404, not 500)."""
    from tests.support.web import login

    client = app.test_client()
    login(client, "admin")
    for url in ("/cases/2147483648", "/api/v1/cases/2147483648", "/api/v1/deployments/9223372036854775806",
                "/api/v1/processes/mini/xml?deployment=99999999999"):
        assert client.get(url).status_code == 404, url
    assert client.get("/designer/versions?from=99999999999&to=1").status_code == 200  # an impossible id is ignored


def test_nul_characters_are_refused_before_they_reach_the_database(app, people, mini, api):
    """PostgreSQL cannot store NUL in text: the statement failed and the request was a 500 (found by the
    contract fuzzer on the PostgreSQL pass: ``GET /api/v1/cases?q=%00``). Refused up front, on every database."""
    from sqlalchemy import func, select

    from engine.models import Case
    from tests.support.web import login

    handler = api("a_handler1")
    assert handler.get("/cases", q="a\x00b")[0] == 400
    status, body = handler.post("/cases", {"procedure": "mini", "party": {"party_type": "citizen", "party_name": "张\x00三"}})
    assert status == 400 and "NUL" in body["message"]
    client = app.test_client()
    login(client, "a_handler1")
    assert client.get("/?q=%00").status_code == 400
    assert client.get("/public/penalties?q=%00").status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == 0
    status, _ = handler.post("/cases", {"procedure": "mini", "party": {"party_type": "citizen", "party_name": "张\\u0000三"}})
    assert status == 201  # the six characters of an escape sequence are plain text
