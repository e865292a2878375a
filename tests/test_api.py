"""The /api/v1 contract: cases and tasks end to end, scoping, errors, CSRF, tokens."""

from __future__ import annotations

import datetime as dt

from engine import clock

PARTY = {"type": "organization", "name": "某某食品有限公司", "id_number": "91110000123456789X"}


def start(api, user="a_handler1", fine=20000):
    status, body = api(user).post("/cases", {"procedure": "mini", "party": PARTY,
                                             "facts": {"violation": "标签不合格", "proposed_fine": fine}})
    assert status == 201, body
    return body


def test_start_case_returns_number_first_task_and_masked_party(api, mini, frozen):
    body = start(api)
    assert body["case_number"] == "X市监案〔2026〕1号"
    assert body["party"]["id_number"] == "9111**********789X"
    [task] = [t for t in body["tasks"] if t["status"] == "open"]
    assert task["name"] == "登记" and task["deadline_state"] == "normal"
    assert task["due_at"] == "2026-03-06T00:00:00+08:00"
    assert [h["action"] for h in body["history"]] == ["case.started", "task.created"]


def test_case_is_worked_to_its_end_through_the_api_using_returned_form_schemas(api, mini, frozen):
    case = start(api)
    handler, reviewer, chief = api("a_handler1"), api("a_reviewer"), api("a_chief")
    samples = {"mini_register": {"facts": "经营场所未公示", "proposed_fine": 20000},
               "mini_review": {"opinion": "approve"}, "mini_serve": {"served_on": "2026-03-03"},
               "mini_decide": {"decision": "罚款两万元"}}
    for client in (handler, reviewer, handler):
        [item] = client.get("/tasks", scope="available")[1]["items"]
        status, task = client.get(f"/tasks/{item['id']}")
        assert status == 200 and set(task["form_schema"]["required"]) <= set(samples[task["form"]])
        assert client.post(f"/tasks/{item['id']}/claim")[0] == 200
        status, done = client.post(f"/tasks/{item['id']}/complete", {"data": samples[task["form"]], "version": task["version"]})
        assert status == 200, done
    frozen.set(dt.datetime(2026, 3, 11, 0, 1, tzinfo=clock.SHANGHAI))
    assert api("admin").post("/tick", {"now": "2026-03-11T00:01:00+08:00"})[1]["fired"]
    [item] = chief.get("/tasks", scope="available")[1]["items"]
    task = chief.get(f"/tasks/{item['id']}")[1]
    status, done = chief.post(f"/tasks/{item['id']}/complete", {"data": samples["mini_decide"], "version": task["version"]})
    assert status == 200 and done["case"]["status"] == "closed"
    assert done["case"]["id"] == case["id"]


def test_complete_with_stale_version_is_409_and_changes_nothing(api, mini, frozen):
    case = start(api)
    client = api("a_handler1")
    task_id = [t for t in case["tasks"] if t["status"] == "open"][0]["id"]
    version = client.get(f"/tasks/{task_id}")[1]["version"]
    status, body = client.post(f"/tasks/{task_id}/complete",
                               {"data": {"facts": "事实清楚", "proposed_fine": 1}, "version": version - 1})
    assert status == 409 and body["error"] == "conflict" and "已被他人处理" in body["message"]
    assert client.get(f"/tasks/{task_id}")[1]["status"] == "open"


def test_invalid_form_data_is_422_with_field_errors(api, mini, frozen):
    case = start(api)
    client = api("a_handler1")
    task_id = [t for t in case["tasks"] if t["status"] == "open"][0]["id"]
    status, body = client.post(f"/tasks/{task_id}/complete", {"data": {"facts": "", "proposed_fine": "abc"}})
    assert status == 422 and body["error"] == "invalid_input"
    assert {d["field"] for d in body["details"]} == {"facts", "proposed_fine"}


def test_other_unit_gets_404_for_case_and_task(api, mini, frozen):
    case = start(api)
    outsider = api("b_handler1")
    task_id = [t for t in case["tasks"] if t["status"] == "open"][0]["id"]
    assert outsider.get(f"/cases/{case['id']}")[0] == 404
    assert outsider.get(f"/tasks/{task_id}")[0] == 404
    assert outsider.post(f"/tasks/{task_id}/claim")[0] == 404
    assert outsider.get("/cases")[1]["total"] == 0


def test_task_scopes_mine_available_done(api, mini, frozen):
    case = start(api)
    h1, h2 = api("a_handler1"), api("a_handler2")
    task_id = [t for t in case["tasks"] if t["status"] == "open"][0]["id"]
    assert [t["id"] for t in h2.get("/tasks", scope="available")[1]["items"]] == [task_id]
    h1.post(f"/tasks/{task_id}/claim")
    assert h2.get("/tasks", scope="available")[1]["items"] == []
    assert [t["id"] for t in h1.get("/tasks", scope="mine")[1]["items"]] == [task_id]
    assert h2.post(f"/tasks/{task_id}/claim")[0] == 409
    h1.post(f"/tasks/{task_id}/complete", {"data": {"facts": "事实清楚", "proposed_fine": 1}})
    assert [t["id"] for t in h1.get("/tasks", scope="done")[1]["items"]] == [task_id]


def test_unit_head_reassigns_only_to_eligible_officers(api, mini, frozen):
    case = start(api)
    task_id = [t for t in case["tasks"] if t["status"] == "open"][0]["id"]
    head = api("a_head")
    status, body = head.post(f"/tasks/{task_id}/reassign", {"to": "a_nocred"})
    assert status == 422 and "执法证" in body["message"]
    status, body = head.post(f"/tasks/{task_id}/reassign", {"to": "a_handler2"})
    assert status == 200 and body["assignee"] == "a_handler2"
    assert api("a_handler1").post(f"/tasks/{task_id}/reassign", {"to": "a_handler1"})[0] == 403


def test_api_requires_authentication_and_a_valid_token(app, mini):
    client = app.test_client()
    r = client.get("/api/v1/tasks")
    assert r.status_code == 401 and r.get_json()["error"] == "unauthenticated"
    r = client.get("/api/v1/tasks", headers={"Authorization": "Bearer zf_not-a-token"})
    assert r.status_code == 401


def test_openapi_lists_the_contract(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    for path in ("/cases", "/cases/{case_id}", "/tasks", "/tasks/{task_id}", "/tasks/{task_id}/claim",
                 "/tasks/{task_id}/unclaim", "/tasks/{task_id}/complete", "/deployments", "/processes/{process_id}/xml",
                 "/time-limits", "/calendar/deadline", "/tick"):
        assert path in spec["paths"], path


def test_session_post_without_csrf_token_is_refused(app, people, mini, frozen):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert 'name="csrf_token"' in page
    r = client.post("/login", data={"username": "a_handler1", "password": "test-pass-2026"})
    assert r.status_code == 400 and "CSRF" in r.get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post("/login", data={"username": "a_handler1", "password": "test-pass-2026", "csrf_token": token})
    assert r.status_code == 302
    # The session is renewed at login (no fixation): the page now carries a new token.
    home = client.get("/").get_data(as_text=True)
    new_token = home.split('name="csrf_token" value="')[1].split('"')[0]
    assert new_token != token
    # A logged-in session calling the API with POST still needs the token (sent as a header).
    r = client.post("/api/v1/cases", json={"procedure": "mini", "party": PARTY})
    assert r.status_code == 400 and r.get_json()["error"] == "csrf"
    r = client.post("/api/v1/cases", json={"procedure": "mini", "party": PARTY}, headers={"X-CSRFToken": new_token})
    assert r.status_code == 201


def test_failed_logins_are_throttled(app, people):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    for _ in range(5):
        r = client.post("/login", data={"username": "a_head", "password": "wrong-pass-1", "csrf_token": token})
        assert r.status_code == 401
    r = client.post("/login", data={"username": "a_head", "password": "test-pass-2026", "csrf_token": token})
    assert r.status_code == 429


def test_deadline_endpoint_counts_working_days_over_spring_festival(api):
    status, body = api("a_handler1").get("/calendar/deadline", start="2026-02-13", amount=5, unit="working_days")
    # Feb 14 (Sat, make-up) counts; Feb 15-23 holiday; then Feb 24, 25, 26, 27 -> ends Feb 27
    assert status == 200 and body["last_day"] == "2026-02-27"
    assert body["deadline"] == "2026-02-28T00:00:00+08:00"


def test_throttle_counts_per_account_so_colleagues_behind_one_address_can_still_log_in(app, people):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    for _ in range(5):
        client.post("/login", data={"username": "a_head", "password": "wrong-pass-1", "csrf_token": token})
    r = client.post("/login", data={"username": "a_handler1", "password": "test-pass-2026", "csrf_token": token})
    assert r.status_code == 302


def test_reassign_refuses_when_the_task_changed_hands_meanwhile(app, api, mini, frozen):
    """The unit head's view says a_handler1 holds the task; the row says someone else by now (on
    PostgreSQL another request can commit in between). The conditional write refuses, nothing changes."""
    import pytest
    from sqlalchemy import update

    from engine.errors import Conflict
    from engine.models import Task, db
    from engine.runtime import claim_task, reassign_task
    from tests.conftest import user

    case = start(api)
    task_id = [t for t in case["tasks"] if t["status"] == "open"][0]["id"]
    with app.app_context():
        view = claim_task(user("a_handler1"), task_id)  # kept: the session's (soon stale) view of the row
        db.session.execute(update(Task).where(Task.id == task_id).values(assignee_id=user("a_handler2").id)
                           .execution_options(synchronize_session=False))
        db.session.commit()
        assert view.assignee_id == user("a_handler1").id
        with pytest.raises(Conflict, match="改派"):
            reassign_task(user("a_head"), task_id, "a_reviewer")
        assert db.session.get(Task, task_id, populate_existing=True).assignee.username == "a_handler2"
