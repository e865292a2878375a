"""The administration pages: only administrators, every change with a reason, errors beside the form."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from engine import clock
from engine.models import AuditEvent, TimeLimit, db
from engine.runtime import start_case
from tests.conftest import user
from tests.support.web import client_csrf as csrf
from tests.support.web import logged_in


def test_only_administrators_reach_the_admin_pages(app, people):
    assert app.test_client().get("/admin/time_limits/").status_code == 302  # anonymous -> login
    officer = logged_in(app, "a_head")
    for path in ("/admin/", "/admin/time_limits/", "/admin/calendar/", "/admin/audit_log/", "/admin/incidents/"):
        assert officer.get(path).status_code == 403, path
    admin = logged_in(app, "admin")
    for path in ("/admin/", "/admin/time_limits/", "/admin/calendar/", "/admin/audit_log/", "/admin/incidents/",
                 "/admin/deployments/"):
        assert admin.get(path).status_code == 200, path


def test_limit_outside_its_bound_is_refused_beside_the_form_and_nothing_changes(app, people):
    admin = logged_in(app, "admin")
    token = csrf(admin, "/admin/time_limits/statement_period")
    r = admin.post("/admin/time_limits/statement_period",
                   data={"amount": "3", "unit": "working_days", "warn_before": "1", "reason": "缩短", "csrf_token": token})
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "5–5 工作日" in page and "行政处罚法" in page and 'value="3"' in page
    with app.app_context():
        assert db.session.get(TimeLimit, "statement_period").amount == 5


def test_limit_change_without_reason_is_refused_and_with_reason_goes_to_the_preview(app, people, mini, frozen):
    with app.app_context():
        start_case(user("a_handler1"), "mini", {"party_type": "citizen", "party_name": "孙八"}, {"proposed_fine": 1})
    admin = logged_in(app, "admin")
    token = csrf(admin, "/admin/time_limits/internal_approval")
    r = admin.post("/admin/time_limits/internal_approval",
                   data={"amount": "5", "unit": "working_days", "warn_before": "1", "reason": "", "csrf_token": token})
    assert "理由" in r.get_data(as_text=True)
    r = admin.post("/admin/time_limits/internal_approval",
                   data={"amount": "5", "unit": "working_days", "warn_before": "1", "reason": "机关决定", "csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/time_limits/internal_approval/preview")
    preview = admin.get("/admin/time_limits/internal_approval/preview").get_data(as_text=True)
    assert "X市监案〔2026〕1号" in preview and "登记" in preview
    r = admin.post("/admin/time_limits/internal_approval/preview", data={"reason": "同步", "csrf_token": token})
    assert r.status_code == 302
    with app.app_context():
        actions = [e.action for e in db.session.scalars(select(AuditEvent))]
        assert {"time_limit.changed", "deadline.reapplied", "time_limit.reapplied"} <= set(actions)


def test_missing_next_year_calendar_is_flagged_and_can_be_entered(app, people, frozen):
    frozen.set(dt.datetime(2026, 11, 22, 9, tzinfo=clock.SHANGHAI))
    admin = logged_in(app, "admin")
    home = admin.get("/admin/").get_data(as_text=True)
    assert "2027 年的节假日安排尚未录入" in home
    token = csrf(admin, "/admin/calendar/2027")
    page = admin.get("/admin/calendar/2027").get_data(as_text=True)
    assert 'name="day-0-date"' in page and "<textarea id=\"days\"" not in page  # one row per day, not a text area
    rows = {"day-0-date": "2027-01-01", "day-0-kind": "holiday", "day-0-name": "元旦",
            "day-1-date": "2027-01-04", "day-1-kind": "workday", "day-1-name": "错误"}
    r = admin.post("/admin/calendar/2027", data={**rows, "reason": "录入", "csrf_token": token})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "第 2 行" in body and "周末" in body  # the bad row is named
    assert 'value="元旦"' in body and 'value="错误"' in body  # what was typed is kept
    del rows["day-1-date"], rows["day-1-kind"], rows["day-1-name"]
    r = admin.post("/admin/calendar/2027", data={**rows, "reason": "国务院办公厅通知", "csrf_token": token})
    assert r.status_code == 302
    assert "2027 年的节假日安排尚未录入" not in admin.get("/admin/").get_data(as_text=True)


def test_admin_post_without_csrf_token_is_refused(app, people):
    admin = logged_in(app, "admin")
    r = admin.post("/admin/time_limits/legal_review", data={"amount": "7", "unit": "working_days", "reason": "x"})
    assert r.status_code == 400


def test_time_limit_api_put_enforces_bounds_and_roles(api, frozen):
    status, body = api("admin").get("/time-limits/legal_review")
    assert status == 200 and body["amount"] == 10 and body["min"] == 5
    status, body = api("admin").put("/time-limits/legal_review", {"amount": 11, "unit": "working_days", "reason": "x"})
    assert status == 422 and body["details"][0]["field"] == "amount"
    assert api("a_head").put("/time-limits/legal_review", {"amount": 7, "unit": "working_days", "reason": "x"})[0] == 403
    status, body = api("admin").put("/time-limits/legal_review", {"amount": 7, "unit": "working_days", "reason": "省级规定"})
    assert status == 200 and body["amount"] == 7
    # The contract's body {amount, unit} still works; the audit says no reason was given.
    status, body = api("admin").put("/time-limits/legal_review", {"amount": 8, "unit": "working_days"})
    assert status == 200 and body["amount"] == 8


def test_calendar_api_reads_and_replaces_a_year(api):
    status, body = api("a_handler1").get("/calendar/2026")
    assert status == 200 and body["entered"] and {"date": "2026-02-14", "kind": "workday", "name": "春节调休上班"} in body["days"]
    status, body = api("admin").put("/calendar/2027", {"days": [{"date": "2027-01-01", "kind": "holiday", "name": "元旦"}],
                                                      "reason": "国务院办公厅通知"})
    assert status == 200 and body["entered"]
    status, body = api("a_handler1").get("/calendar/deadline", start="2026-12-31", amount=1, unit="working_days")
    assert status == 200 and body["last_day"] == "2027-01-04"


@pytest.mark.parametrize("username, warned", [("a_head", True), ("admin", True), ("a_handler1", False)])
def test_unit_heads_and_administrators_are_warned_of_next_years_calendar_from_november(app, people, frozen, username, warned):
    frozen.set(dt.datetime(2026, 10, 31, 9, tzinfo=clock.SHANGHAI))
    client = logged_in(app, username)
    assert "zf-calendar-missing" not in client.get("/notifications").get_data(as_text=True)  # before 1 November
    frozen.set(dt.datetime(2026, 11, 1, 9, tzinfo=clock.SHANGHAI))
    page = client.get("/notifications").get_data(as_text=True)
    assert ("2027 年的节假日安排尚未录入" in page) is warned
    if warned:
        assert "暂定" in page
