"""Every route × every role: who gets in, who is told 403, who is sent to log in — and nobody gets a 500.

``ACCESS`` is the decision for each endpoint of ``app.url_map`` (static files aside). A new route
without a decision fails ``test_every_route_has_an_access_decision``: adding a route means deciding
who may use it, here. Values:

- ``PUBLIC``: anyone, anonymous included;
- ``LOGGED_IN``: any logged-in user; what they then see depends on the object (their unit's case,
  their task), so 403/404/409/422 are fine answers, 401 and 500 are not;
- a tuple of roles: those roles get in; every other role gets 403.

Anonymous callers are sent to the login page (HTML) or get 401 (API). Each route is called with GET
and, where it accepts POST (or PUT), with a valid CSRF token and an empty body. Another unit's
officer gets 404 for the case and task ids of unit A on every route that takes them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import clock
from engine.models import Credential, Deployment, ProcessInstance, TimeLimit, db
from engine.policy.roles import ALL_ROLES, LANE_ROLES
from tests.conftest import PASSWORD, make_user, user
from tests.support.routes import requests
from tests.support.web import form_inputs, start

PUBLIC = "public"
LOGGED_IN = "logged in"
ADMIN = ("administrator",)
DESIGNERS = ("process_designer", "administrator")
SUPERVISORS = ("supervisor", "agency_head", "administrator")
STARTERS = ("handler", "unit_head")

ACCESS: dict[str, str | tuple[str, ...]] = {
    # pages
    "auth.login": PUBLIC, "auth.logout": PUBLIC, "i18n.switch_language": PUBLIC,
    "inbox.index": LOGGED_IN, "inbox.claim": LOGGED_IN, "inbox.unclaim": LOGGED_IN, "inbox.reassign": LOGGED_IN,
    "tasks.show": LOGGED_IN, "notifications.index": LOGGED_IN, "notifications.mark_read": LOGGED_IN,
    # issue 17: the case list (scoped per role by the query), drafts and comments (the engine scopes them to the
    # user's unit and task), the officer's own digest address, the administrators' delivery settings
    "case_list.index": LOGGED_IN, "workspace.save": LOGGED_IN, "workspace.comment_on_task": LOGGED_IN,
    "workspace.comment_on_case": LOGGED_IN, "notifications.preferences": LOGGED_IN, "notifications.delivery": ADMIN,
    "cases.show": LOGGED_IN, "cases.diagram": LOGGED_IN, "cases.record": LOGGED_IN, "cases.new": STARTERS,
    "cases.withdraw_publication": LOGGED_IN,
    "party.edit": LOGGED_IN,  # 更正当事人信息: the engine refuses other roles and ended cases (the page says why)
    # 中止/恢复/终止调查, 延长办案期限 (agency head) and excluded periods (officers): the engine refuses the
    # others, and the page shows its message (a flash, not a 403 page)
    **{f"cases.{name}": LOGGED_IN for name in ("suspend", "resume", "terminate", "extend_clock", "start_excluded",
                                                "end_excluded")},
    # 回避 and re-designating handlers: the engine refuses the wrong role, the page shows why (a flash)
    **{f"cases.{name}": LOGGED_IN for name in ("request_recusal", "decide_recusal", "designate")},
    "public.penalties": PUBLIC, "public.feed": PUBLIC,  # 行政处罚决定公示
    "verify.verify": PUBLIC,  # 文书核验 (QR code): organ, type, number, date and status only; rate-limited
    "documents.show": LOGGED_IN, "documents.pdf": LOGGED_IN,
    "supervision.dashboard": SUPERVISORS, "supervision.data": SUPERVISORS, "supervision.export": SUPERVISORS,
    **{f"designer.{name}": DESIGNERS for name in ("index", "deploy", "discard", "draft", "edit", "migrate", "create", "options",
                                                   "preview", "rollback_to", "raw_source", "upload", "validate", "versions")},
    # /admin (Flask-Admin): administrators only
    **{endpoint: ADMIN for endpoint in (
        "admin.index", "calendar.index", "calendar.edit", "credentials.index", "credentials.edit", "credentials.delete",
        "credentials.create", "document_types.index", "document_types.edit", "document_types.text", "incidents.index", "incidents.retry",
        "record_verify.index", "roles.index", "time_limits.index", "time_limits.edit", "time_limits.preview", "units.index",
        "units.edit", "units.create", "users.index", "users.edit", "users.password", "users.tokens", "users.create",
        "form_numbers.index", "form_numbers.detail", "form_numbers.withdraw",
        "agencies.index", "agencies.create", "agencies.edit", "agencies.units", "agencies.seal",
        *(f"{view}.{action}" for view in ("audit_log", "deployments")
          for action in ("index_view", "action_view", "ajax_lookup", "ajax_update", "delete_view", "details_view", "edit_view",
                         "export", "create_view")))},
    "admin.static": PUBLIC,
    # /api/v1
    "api.openapi": PUBLIC,
    "api.update_case_party": LOGGED_IN,
    "api.list_cases": LOGGED_IN, "api.create_case": LOGGED_IN, "api.read_case": LOGGED_IN, "api.extend_clock": LOGGED_IN,
    "api.case_document": LOGGED_IN, "api.case_document_pdf": LOGGED_IN, "api.withdraw_publication": LOGGED_IN,
    "api.read_start_form": LOGGED_IN,  # may_start says whether the user may start one
    "api.list_tasks": LOGGED_IN, "api.read_task": LOGGED_IN, "api.claim": LOGGED_IN, "api.unclaim": LOGGED_IN,
    "api.reassign": LOGGED_IN, "api.complete": LOGGED_IN,
    "api.list_deployments": LOGGED_IN, "api.read_deployment": LOGGED_IN, "api.download_deployment_file": LOGGED_IN,
    "api.deployment_diff": LOGGED_IN, "api.process_xml": LOGGED_IN,
    "api.create_deployment": DESIGNERS, "api.validate_deployment": DESIGNERS, "api.rollback_deployment": DESIGNERS,
    "api.migrate": DESIGNERS,
    # four-eyes deployment (issue 18): designers submit, legal reviewers and administrators decide (never their own:
    # the engine refuses that, and the page shows why); administrators set whether review is required
    "api.read_review_setting": DESIGNERS + ("legal_reviewer",), "api.update_review_setting": ADMIN,
    "api.list_submissions": DESIGNERS + ("legal_reviewer",), "api.read_submission": DESIGNERS + ("legal_reviewer",),
    "api.approve_submission": ("legal_reviewer", "administrator"), "api.reject_submission": ("legal_reviewer", "administrator"),
    "api.withdraw_submission": DESIGNERS,
    **{f"review.{name}": DESIGNERS + ("legal_reviewer",) for name in ("index", "show", "approve_submission", "reject_submission",
                                                                       "withdraw_submission", "settings")},
    "api.list_time_limits": LOGGED_IN, "api.read_time_limit": LOGGED_IN, "api.update_time_limit": ADMIN,
    "api.create_time_limit": DESIGNERS, "time_limit_keys.new": DESIGNERS,  # 新建时限 (issue 18): designers and administrators
    "api.delete_time_limit": DESIGNERS, "time_limit_keys.delete": DESIGNERS,  # a created key nothing uses
    "api.preview_time_limit": ADMIN, "api.apply_time_limit": ADMIN, "api.read_calendar": LOGGED_IN, "api.update_calendar": ADMIN,
    "api.suspend": ("agency_head",), "api.resume": ("agency_head",), "api.terminate": ("agency_head",),
    "api.create_recusal": tuple(LANE_ROLES), "api.decide_recusal": ("agency_head",), "api.designate_handlers": ("unit_head",),
    "api.start_excluded": ("handler", "unit_head", "agency_head"), "api.end_excluded": ("handler", "unit_head", "agency_head"),
    # evidence (issue 16): who may add or withdraw is the engine's decision per case (officers of its unit, not
    # recused, case not closed); reading follows the case's scope
    **{f"api.{name}": LOGGED_IN for name in ("upload_evidence", "case_evidence", "start_evidence_upload", "put_upload_chunk",
                                             "read_upload", "complete_evidence_upload", "read_evidence", "withdraw",
                                             "evidence_content", "evidence_thumbnail")},
    # the evidence pages (webui/evidence.py): the item is looked up under the case, in the case's scope
    **{f"evidence.{name}": LOGGED_IN for name in ("show", "content", "thumb", "withdraw")},
    "api.compute_deadline": LOGGED_IN, "api.tick": ADMIN, "api.list_incidents": ADMIN, "api.retry_incident": ADMIN,
}
PRINCIPALS = [None, *sorted(ALL_ROLES)]  # None: anonymous
PLAUSIBLE_BODY: dict[str, Any] = {"data": {"facts": "经营场所未公示", "proposed_fine": 100}, "version": 1, "to": "b_handler1",
                                  "days": 10, "reason": "需要补充调查", "collective_discussion": True}


def test_every_route_has_an_access_decision(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    assert not endpoints - ACCESS.keys(), f"routes without an access decision in ACCESS: {sorted(endpoints - ACCESS.keys())}"
    assert not ACCESS.keys() - endpoints, f"decisions for routes that no longer exist: {sorted(ACCESS.keys() - endpoints)}"


@pytest.mark.parametrize("role", PRINCIPALS, ids=lambda r: r or "anonymous")
def test_each_route_answers_each_role_as_decided_and_never_500(app: Flask, world: dict[str, Any], role: str | None) -> None:
    client = app.test_client()
    if role is not None:
        login(client, f"r_{role}")
    problems = []
    for endpoint, method, url in requests(app, world):
        token = csrf_token(client)
        r = client.open(url, method=method, data={"csrf_token": token} if method != "GET" else None,
                        headers={"Accept": "application/json"} if url.startswith("/api/") else {})
        problem = judge(ACCESS[endpoint], role, url, r.status_code, r.headers.get("Location", ""))
        if problem:
            problems.append(f"{method} {url} as {role or 'anonymous'}: {r.status_code} — {problem}")
        if endpoint == "auth.logout" and role is not None:
            login(client, f"r_{role}")  # the matrix goes on as the same user
    assert not problems, "\n".join(problems)


def test_officer_of_another_unit_gets_404_on_every_route_taking_a_unit_a_case_or_task(app: Flask, world: dict[str, Any]) -> None:
    """Unit B's officer holds every lane role, so no role check answers before the unit check does."""
    with app.app_context():
        make_user("b_all_lanes", "unit_b", sorted(LANE_ROLES), ("law_enforcement", "legal_qualification"))
        db.session.remove()
    client = app.test_client()
    login(client, "b_all_lanes")
    problems = []
    for _endpoint, method, url in requests(app, world):
        if not re.search(rf"/(cases|tasks)/({world['case_id']}|{world['task_id']})(/|\.|$)", url):
            continue
        if method == "GET":
            r = client.get(url)
        elif url.startswith("/api/"):  # a well-formed body, so that only the unit check can refuse it
            r = client.open(url, method=method, json=PLAUSIBLE_BODY, headers={"X-CSRFToken": csrf_token(client)})
        else:
            r = client.open(url, method=method, data={"csrf_token": csrf_token(client), **PLAUSIBLE_BODY})
        if r.status_code != 404:
            problems.append(f"{method} {url}: {r.status_code}")
    assert not problems, "another unit's officer reached unit A's case or task:\n" + "\n".join(problems)


# --- helpers -------------------------------------------------------------------------------------

@pytest.fixture
def world(app: Flask, people: dict[str, int], mini: int, frozen: clock.FrozenClock) -> Iterator[dict[str, Any]]:
    """One user per role in unit A, a case with an open task, and real ids for every kind of path argument."""
    with app.app_context():
        for role in ALL_ROLES:
            make_user(f"r_{role}", "unit_a", [role], ("law_enforcement", "legal_qualification"))
        db.session.remove()
    case_id, task_id = start(app)
    with app.app_context():
        found = {
            "case_id": case_id, "task_id": task_id, "document_id": 1, "n": 1, "range_id": 1, "year": 2026, "table": "open_cases",
            "evidence_id": 1, "upload_id": "no-such-upload", "code": "AAAAAAAAAA", "submission_id": 1,
            "agency_id": 1,
            "key": db.session.query(TimeLimit.key).order_by(TimeLimit.key).first()[0],
            "deployment_id": db.session.query(Deployment.id).scalar(), "from_id": mini, "to_id": mini,
            "instance_id": db.session.query(ProcessInstance.id).filter_by(case_id=case_id).scalar(),
            "user_id": user("a_handler1").id, "unit_id": user("a_handler1").unit_id,
            "credential_id": db.session.query(Credential.id).first()[0], "type_name": "penalty_decision",
            "path": "processes/mini.bpmn", "process_id": "mini", "export_type": "csv", "filename": "x.css",
        }
        db.session.remove()
    yield found


def judge(access: str | tuple[str, ...], role: str | None, url: str, status: int, location: str) -> str | None:
    if status >= 500:
        return "server error"
    if access == PUBLIC:
        return None
    if role is None:
        if url.startswith("/api/"):
            return None if status == 401 else "anonymous API call not refused with 401"
        return None if status in (302, 303) and "/login" in location else "anonymous not sent to the login page"
    if status == 401 or (status in (302, 303) and "/login" in location):
        return "a logged-in user was treated as anonymous"
    if access == LOGGED_IN:
        return None  # 403/404 here are object-level decisions (not your unit's case, not your lane's task)
    if role in access:
        return "refused a role that has access" if status == 403 else None
    return None if status == 403 else "a role without access was not refused with 403"


def login(client: FlaskClient, username: str) -> None:
    token = form_inputs(client.get("/login").get_data(as_text=True))["csrf_token"]
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302, f"login as {username}: {r.status_code}"


def csrf_token(client: FlaskClient) -> str:
    """The session's CSRF token (the login page renders it for anyone)."""
    return form_inputs(client.get("/login").get_data(as_text=True))["csrf_token"]
