"""Administrators manage people: users, units, roles and credentials; officers and designers do not."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from engine.admin.users import issue_token
from engine.models import ApiToken, AuditEvent, Credential, OrgUnit, User, db
from tests.conftest import PASSWORD, user

STRONG = "Strong-pass-2026"


def logged_in(app, username, password=PASSWORD):
    client = app.test_client()
    r = client.post("/login", data={"username": username, "password": password, "csrf_token": csrf(client, "/login")})
    assert r.status_code == 302, r.get_data(as_text=True)
    return client


def csrf(client, path):
    page = client.get(path).get_data(as_text=True)
    return page.split('name="csrf_token" value="')[1].split('"')[0]


def can_log_in(app, username, password):
    client = app.test_client()
    r = client.post("/login", data={"username": username, "password": password, "csrf_token": csrf(client, "/login")})
    return r.status_code == 302


def audit_actions(app):
    with app.app_context():
        return [(e.action, e.actor, e.data) for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def user_id(app, username):
    with app.app_context():
        return db.session.scalars(select(User.id).where(User.username == username)).one()


@pytest.fixture
def admin(app, people):
    return logged_in(app, "admin")


def post(client, path, data):
    return client.post(path, data={**data, "csrf_token": csrf(client, "/admin/users/new")})


def test_weak_password_is_refused_with_a_clear_message_and_nothing_is_created(app, admin):
    r = post(admin, "/admin/users/new", {"username": "zhang3", "display_name": "张三", "unit": "unit_a",
                                         "roles": ["handler"], "password": "short1"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "密码至少 10 位，且须同时包含字母和数字" in page
    assert 'value="zhang3"' in page and 'value="short1"' not in page  # the form keeps the input, not the password
    with app.app_context():
        assert db.session.scalars(select(User).where(User.username == "zhang3")).first() is None
    assert not any(a == "user.created" and d.get("username") == "zhang3" for a, _, d in audit_actions(app))


def test_created_user_can_log_in_and_the_creation_is_audited_without_the_password(app, admin):
    r = post(admin, "/admin/users/new", {"username": "zhang3", "display_name": "张三", "unit": "unit_b",
                                         "roles": ["handler", "unit_head"], "password": STRONG})
    assert r.status_code == 302
    assert can_log_in(app, "zhang3", STRONG)
    with app.app_context():
        created = user("zhang3")
        assert created.unit.code == "unit_b" and created.role_names == {"handler", "unit_head"}
        assert created.display_name == "张三"
    action, actor, data = [e for e in audit_actions(app) if e[0] == "user.created"][-1]
    assert actor == "admin" and data == {"username": "zhang3", "unit": "unit_b", "roles": ["handler", "unit_head"]}
    assert STRONG not in str(audit_actions(app))


def test_generated_password_is_shown_once_and_works(app, admin):
    r = post(admin, "/admin/users/new", {"username": "li4", "display_name": "李四", "unit": "unit_a", "roles": ["handler"],
                                         "password": ""})
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "只显示这一次" in page and r.headers["Cache-Control"] == "no-store"
    password = re.search(r'id="generated-password">([^<]+)<', page).group(1)
    assert can_log_in(app, "li4", password)
    assert password not in admin.get(f"/admin/users/{user_id(app, 'li4')}").get_data(as_text=True)
    assert password not in str(audit_actions(app))


def test_unknown_role_cannot_be_assigned(app, admin):
    r = post(admin, "/admin/users/new", {"username": "wang5", "unit": "unit_a", "roles": ["superuser"], "password": STRONG})
    assert r.status_code == 422 and "未知角色 superuser" in r.get_data(as_text=True)
    roles_page = admin.get("/admin/roles/").get_data(as_text=True)
    assert "不提供新建角色" in roles_page and "承办人" in roles_page and "法制审核人员" in roles_page


def test_deactivated_user_cannot_log_in_and_their_token_stops_working(app, admin):
    with app.app_context():
        token = issue_token(user("a_handler1"))
        db.session.commit()
    api = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/tasks", headers=headers).status_code == 200
    session = logged_in(app, "a_handler1")
    assert session.get("/").status_code == 200

    uid = user_id(app, "a_handler1")
    r = post(admin, f"/admin/users/{uid}", {"display_name": "甲承办", "unit": "unit_a", "roles": ["handler"]})  # no "active"
    assert r.status_code == 302 and "已停用" in admin.get(r.headers["Location"]).get_data(as_text=True)

    assert not can_log_in(app, "a_handler1", PASSWORD)
    assert api.get("/api/v1/tasks", headers=headers).status_code == 401
    assert session.get("/").status_code == 302  # the open session ends too
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ApiToken).where(ApiToken.user_id == uid)) == 0
    events = {a: (actor, d) for a, actor, d in audit_actions(app)}
    actor, data = events["user.updated"]
    assert actor == "admin" and data["before"]["active"] is True and data["after"]["active"] is False
    assert data["before"]["display_name"] == "a_handler1" and data["after"]["display_name"] == "甲承办"
    assert events["token.revoked"][1] == {"username": "a_handler1", "count": 1, "reason": "deactivated"}


def test_password_reset_is_policy_checked_and_audited(app, admin):
    uid = user_id(app, "a_handler2")
    r = post(admin, f"/admin/users/{uid}/password", {"password": "abcdefghij"})
    assert r.status_code == 422 and "须同时包含字母和数字" in r.get_data(as_text=True)
    assert can_log_in(app, "a_handler2", PASSWORD)
    r = post(admin, f"/admin/users/{uid}/password", {"password": STRONG})
    assert r.status_code == 302
    assert can_log_in(app, "a_handler2", STRONG) and not can_log_in(app, "a_handler2", PASSWORD)
    assert ("user.password_reset", "admin", {"username": "a_handler2", "generated": False}) in audit_actions(app)


def test_administrator_cannot_lock_themselves_out(app, admin):
    uid = user_id(app, "admin")
    r = post(admin, f"/admin/users/{uid}", {"display_name": "管理员", "unit": "unit_a", "roles": ["administrator"]})
    assert r.status_code == 422 and "不能停用自己的账号" in r.get_data(as_text=True)
    r = post(admin, f"/admin/users/{uid}", {"display_name": "管理员", "unit": "unit_a", "roles": ["handler"], "active": "1"})
    assert r.status_code == 422 and "不能取消自己的系统管理员角色" in r.get_data(as_text=True)
    assert admin.get("/admin/users/").status_code == 200


def test_user_list_never_shows_password_or_token_hashes(app, admin):
    with app.app_context():
        issue_token(user("a_head"))
        db.session.commit()
        secrets = [u.password_hash for u in db.session.scalars(select(User))] + list(db.session.scalars(select(ApiToken.token_hash)))
    pages = [admin.get(p).get_data(as_text=True) for p in
             ("/admin/users/", f"/admin/users/{user_id(app, 'a_head')}", "/admin/credentials/", "/admin/audit_log/")]
    for page in pages:
        assert not any(s in page for s in secrets)
        assert "pbkdf2:" not in page and "scrypt:" not in page


def test_user_list_searches_and_filters(app, admin):
    page = admin.get("/admin/users/?q=handler").get_data(as_text=True)
    assert "a_handler1" in page and "b_handler1" in page and "a_chief" not in page
    with app.app_context():
        unit_b = db.session.scalars(select(OrgUnit.id).where(OrgUnit.code == "unit_b")).one()
    page = admin.get(f"/admin/users/?unit={unit_b}").get_data(as_text=True)
    assert "b_handler1" in page and "a_handler1" not in page
    page = admin.get("/admin/users/?role=legal_reviewer").get_data(as_text=True)
    assert "a_reviewer" in page and "a_handler1" not in page
    uid = user_id(app, "a_chief")
    post(admin, f"/admin/users/{uid}", {"display_name": "a_chief", "unit": "unit_a", "roles": ["agency_head"]})
    page = admin.get("/admin/users/?active=0").get_data(as_text=True)
    assert "a_chief" in page and "a_handler1" not in page
    assert "a_chief" not in admin.get("/admin/users/?active=1").get_data(as_text=True)


def test_expiring_and_expired_credentials_are_flagged_and_filtered(app, admin, frozen):
    today = frozen.now().date()
    with app.app_context():
        soon, gone = user("a_handler1"), user("a_handler2")
        db.session.query(Credential).filter(Credential.user_id.in_([soon.id, gone.id])).delete()
        db.session.add(Credential(user_id=soon.id, kind="law_enforcement", number="ZF-SOON", expires_on=today + dt.timedelta(days=10)))
        db.session.add(Credential(user_id=gone.id, kind="law_enforcement", number="ZF-GONE", expires_on=today - dt.timedelta(days=1)))
        db.session.commit()
    listing = admin.get("/admin/credentials/").get_data(as_text=True)
    assert _row(listing, "ZF-SOON").count('data-status="expiring"') == 1 and "即将到期" in _row(listing, "ZF-SOON")
    assert 'data-status="expired"' in _row(listing, "ZF-GONE") and "已过期" in _row(listing, "ZF-GONE")
    assert 'data-status="valid"' in _row(listing, "N-a_head-law_enforcement")

    flagged = admin.get("/admin/credentials/?status=flagged").get_data(as_text=True)
    assert "ZF-SOON" in flagged and "ZF-GONE" in flagged and "N-a_head-law_enforcement" not in flagged
    expired = admin.get("/admin/credentials/?status=expired").get_data(as_text=True)
    assert "ZF-GONE" in expired and "ZF-SOON" not in expired
    users = admin.get("/admin/users/?cred=flagged").get_data(as_text=True)
    assert "a_handler1" in users and "a_handler2" in users and "a_head" not in users
    assert 'data-status="expiring"' in admin.get("/admin/users/").get_data(as_text=True)
    assert "有 2 个证件已过期或将在 30 天内到期" in admin.get("/admin/").get_data(as_text=True)


def test_credentials_are_added_edited_and_removed_with_audit(app, admin):
    uid = user_id(app, "a_nocred")
    r = post(admin, "/admin/credentials/new", {"user_id": uid, "kind": "law_enforcement", "number": "ZF-001", "expires_on": ""})
    assert r.status_code == 422 and "执法证须填写有效期至" in r.get_data(as_text=True)
    r = post(admin, "/admin/credentials/new", {"user_id": uid, "kind": "law_enforcement", "number": "ZF-001",
                                               "expires_on": "2029-12-31"})
    assert r.status_code == 302
    with app.app_context():
        cred = db.session.scalars(select(Credential).where(Credential.user_id == uid)).one()
    r = post(admin, f"/admin/credentials/{cred.id}", {"number": "ZF-002", "expires_on": "2031-06-30"})
    assert r.status_code == 302
    r = post(admin, f"/admin/credentials/{cred.id}/delete", {})
    assert r.status_code == 302
    events = [(a, d) for a, actor, d in audit_actions(app) if a.startswith("credential.") and actor == "admin"]
    assert events == [
        ("credential.added", {"username": "a_nocred", "after": {"kind": "law_enforcement", "number": "ZF-001",
                                                                "expires_on": "2029-12-31"}}),
        ("credential.updated", {"username": "a_nocred",
                                "before": {"kind": "law_enforcement", "number": "ZF-001", "expires_on": "2029-12-31"},
                                "after": {"kind": "law_enforcement", "number": "ZF-002", "expires_on": "2031-06-30"}}),
        ("credential.removed", {"username": "a_nocred", "before": {"kind": "law_enforcement", "number": "ZF-002",
                                                                   "expires_on": "2031-06-30"}}),
    ]


def test_units_are_created_and_edited_with_unique_codes_and_audit(app, admin):
    r = post(admin, "/admin/units/new", {"code": "unit_a", "name": "重复", "agency_short_name": "X市监"})
    assert r.status_code == 422 and "单位代码 unit_a 已被使用" in r.get_data(as_text=True)
    r = post(admin, "/admin/units/new", {"code": "unit_c", "name": "执法三科", "agency_short_name": ""})
    assert r.status_code == 422 and "机关简称" in r.get_data(as_text=True)
    with app.app_context():
        parent = db.session.scalars(select(OrgUnit).where(OrgUnit.code == "unit_a")).one()
    r = post(admin, "/admin/units/new", {"code": "unit_c", "name": "执法三科", "agency_short_name": "X市监", "parent_id": parent.id})
    assert r.status_code == 302
    with app.app_context():
        unit_c = db.session.scalars(select(OrgUnit).where(OrgUnit.code == "unit_c")).one()
        assert unit_c.parent_id == parent.id
    # A unit cannot become its own ancestor.
    r = post(admin, f"/admin/units/{parent.id}", {"name": parent.name, "agency_short_name": "X市监", "parent_id": unit_c.id})
    assert r.status_code == 422 and "循环" in r.get_data(as_text=True)
    r = post(admin, f"/admin/units/{unit_c.id}", {"name": "执法三科", "agency_short_name": "Y市监", "parent_id": ""})
    assert r.status_code == 302
    assert "Y市监" in admin.get("/admin/units/").get_data(as_text=True)
    events = {a: d for a, actor, d in audit_actions(app) if a.startswith("unit.") and actor == "admin"}
    assert events["unit.created"] == {"code": "unit_c", "after": {"name": "执法三科", "agency_short_name": "X市监", "parent": "unit_a"}}
    assert events["unit.updated"] == {"code": "unit_c",
                                      "before": {"name": "执法三科", "agency_short_name": "X市监", "parent": "unit_a"},
                                      "after": {"name": "执法三科", "agency_short_name": "Y市监", "parent": None}}


def test_every_people_page_opens_for_an_administrator(app, admin, people):
    with app.app_context():
        cred = db.session.scalars(select(Credential).where(Credential.user_id == people["a_reviewer"])).first()
        unit = db.session.scalars(select(OrgUnit.id).where(OrgUnit.code == "unit_a")).one()
    for path in PEOPLE_PAGES + (f"/admin/users/{people['a_reviewer']}", f"/admin/units/{unit}",
                                f"/admin/credentials/{cred.id}", f"/admin/credentials/new?user_id={people['a_nocred']}",
                                "/admin/users/?q=a_&role=handler&active=1&cred=flagged&page=1", "/admin/"):
        r = admin.get(path)
        assert r.status_code == 200, path
        assert "执法平台管理" in r.get_data(as_text=True)


PEOPLE_PAGES = ("/admin/users/", "/admin/users/new", "/admin/credentials/", "/admin/units/", "/admin/units/new", "/admin/roles/")


@pytest.mark.parametrize("username", ["a_head", "designer"])
def test_officers_and_designers_can_neither_open_nor_post_to_the_people_pages(app, people, username):
    client = logged_in(app, username)
    for path in PEOPLE_PAGES + (f"/admin/users/{people['a_handler1']}",):
        assert client.get(path).status_code == 403, path
    token = csrf(client, "/")
    attempts = {
        "/admin/users/new": {"username": "intruder", "unit": "unit_a", "roles": ["administrator"], "password": STRONG},
        f"/admin/users/{people[username]}": {"display_name": "x", "unit": "unit_a", "roles": ["administrator"], "active": "1"},
        f"/admin/users/{people['a_handler1']}/password": {"password": STRONG},
        "/admin/units/new": {"code": "evil", "name": "x", "agency_short_name": "x"},
    }
    for path, data in attempts.items():
        assert client.post(path, data={**data, "csrf_token": token}).status_code == 403, path
    with app.app_context():
        assert db.session.scalars(select(User).where(User.username == "intruder")).first() is None
        assert not user(username).has_role("administrator")
    assert can_log_in(app, "a_handler1", PASSWORD)


def test_anonymous_visitors_are_sent_to_the_login_page(app, people):
    client = app.test_client()
    for path in PEOPLE_PAGES:
        r = client.get(path)
        assert r.status_code == 302 and "/login" in r.headers["Location"], path


def test_people_post_without_csrf_token_is_refused(app, admin):
    r = admin.post("/admin/users/new", data={"username": "nocsrf", "unit": "unit_a", "roles": ["handler"], "password": STRONG})
    assert r.status_code == 400
    uid = user_id(app, "a_handler1")
    assert admin.post(f"/admin/users/{uid}", data={"display_name": "x", "unit": "unit_a", "roles": ["handler"]}).status_code == 400
    with app.app_context():
        assert db.session.scalars(select(User).where(User.username == "nocsrf")).first() is None
        assert user("a_handler1").active


def test_audit_log_filters_by_action_actor_case_and_date(app, frozen, admin):
    post(admin, "/admin/users/new", {"username": "zhao6", "unit": "unit_a", "roles": ["handler"], "password": STRONG})
    index = {(f.name, f.operation()): i for i, f in enumerate(_audit_view(app)._filters)}

    def rows(**filters):
        query = {f"flt{n}_{index[key]}": value for n, (key, value) in enumerate(filters.values())}
        page = admin.get("/admin/audit_log/", query_string=query)
        assert page.status_code == 200
        return page.get_data(as_text=True)

    # The log shows actions in words (webui/audit_labels.py): user.created is 创建用户, user.login 登录系统.
    page = rows(action=(("动作", "等于"), "user.created")).split("</thead>")[1].split("</table>")[0]
    assert "创建用户" in page and "登录系统" not in page
    page = rows(actor=(("操作人", "等于"), "admin")).split("</thead>")[1].split("</table>")[0]
    assert "创建用户" in page
    today = frozen.now().date().isoformat()
    assert "创建用户" in rows(day=(("日期", "介于"), f"{today} to {today}")).split("</thead>")[1].split("</table>")[0]
    tomorrow = (frozen.now().date() + dt.timedelta(days=1)).isoformat()
    assert "创建用户" not in rows(day=(("日期", "自（含）"), tomorrow)).split("</thead>")[1].split("</table>")[0]
    yesterday = (frozen.now().date() - dt.timedelta(days=1)).isoformat()
    assert "创建用户" not in rows(day=(("日期", "至（含）"), yesterday)).split("</thead>")[1].split("</table>")[0]
    assert "创建用户" in rows(day=(("日期", "至（含）"), today)).split("</thead>")[1].split("</table>")[0]
    assert "创建用户" not in rows(case=(("案件", "等于"), "1")).split("</thead>")[1].split("</table>")[0]


def _audit_view(app):
    from webui.admin import AuditLogView

    return next(v for v in app.extensions["admin"][0]._views if isinstance(v, AuditLogView))


def _row(page, marker):
    """The table row of a listing that contains ``marker``."""
    return next(row for row in page.split("<tr") if marker in row)
