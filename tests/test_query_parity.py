"""The inbox page and ``GET /api/v1/tasks`` read one query layer (engine/queries/inbox.py): for the same
user and scope they list the same tasks, and 可认领 is filtered before paging, so its pages are full
and its total counts only what the officer may take."""

from __future__ import annotations

import re

from sqlalchemy import select

from engine.models import Task, db
from engine.policy.access import eligibility
from engine.queries.inbox import task_page
from engine.runtime import claim_task, complete_task, start_case
from tests.conftest import PASSWORD, user

PARTY = {"party_type": "citizen", "party_name": "张三"}
TASK_ROW = re.compile(r'data-task-id="([0-9a-f-]{36})"')


def sign_in(client, username: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token}).status_code == 302


def _cases(app) -> None:
    """Six cases registered by a_reviewer (who may then not review them: separation of duty), six by
    a_handler1 (a_reviewer reviews those), three still waiting for their register step."""
    with app.app_context():
        for i in range(15):
            case = start_case(user("a_handler1"), "mini", PARTY, {"proposed_fine": 20000})
            if i < 12:
                who = user("a_reviewer" if i % 2 == 0 else "a_handler1")
                register = db.session.scalars(select(Task).where(Task.case_id == case.id, Task.status == "open")).one()
                claim_task(who, register.id)
                complete_task(who, register.id, {"facts": "违法事实", "proposed_fine": 20000})
        db.session.remove()


def test_available_pages_are_full_and_total_counts_only_what_may_be_taken(app, people, mini, frozen, api):
    _cases(app)
    reviewer = api("a_reviewer")
    seen = []
    for page in (1, 2):
        status, body = reviewer.get("/tasks", scope="available", per_page=5, page=page)
        assert status == 200
        seen += body["items"]
        assert body["total"] == 9  # 6 reviews of a_handler1's cases + 3 register steps; never his own 6 cases' reviews
        assert len(body["items"]) == (5 if page == 1 else 4)  # full pages (were: refused rows dropped after paging)
        assert body["has_next"] is (page == 1)
    assert sorted(t["bpmn_id"] for t in seen) == ["register"] * 3 + ["review"] * 6
    with app.app_context():
        tasks = [db.session.get(Task, t["id"]) for t in seen]
        reasons = eligibility(tasks, [user("a_reviewer")])
        assert all(reason is None for reason in reasons.values())
        # The SQL narrowing agrees with the rules themselves over every candidate.
        candidates = list(db.session.scalars(select(Task).where(Task.status == "open", Task.assignee_id.is_(None))))
        me = user("a_reviewer")
        mine = eligibility(candidates, [me])
        assert {t.id for t in candidates if mine[(t.id, me.id)] is None} == {t["id"] for t in seen}
    # An officer without a 执法证 may take none of these steps: nothing offered, and the total says so.
    status, body = api("a_nocred").get("/tasks", scope="available")
    assert status == 200 and body["total"] == 0 and body["items"] == []


def test_inbox_page_and_api_list_the_same_tasks_for_each_scope(app, people, mini, frozen, api):
    _cases(app)
    with app.app_context():
        open_review = db.session.scalars(select(Task).where(Task.bpmn_id == "review", Task.status == "open")
                                         .order_by(Task.created_at)).first()
        assert open_review is not None
        claim_task(user("a_head"), db.session.scalars(select(Task).where(Task.bpmn_id == "register",
                                                                         Task.status == "open")).first().id)
        db.session.remove()
    for username, scopes in (("a_reviewer", ("available", "mine", "done")), ("a_handler1", ("available", "done")),
                             ("a_head", ("available", "mine", "unit")), ("a_nocred", ("available",))):
        client = app.test_client()
        sign_in(client, username)
        for scope in scopes:
            html = client.get(f"/?scope={scope}").get_data(as_text=True)
            on_page = list(dict.fromkeys(TASK_ROW.findall(html)))  # a row may be drawn twice (table and phone card)
            status, body = api(username).get("/tasks", scope=scope, per_page=25)
            assert status == 200
            assert on_page == [t["id"] for t in body["items"]], (username, scope)
        with app.app_context():
            listing = task_page(user(username), "available", per_page=25)
            assert listing.total == len(listing.items)  # a single page here: the count is the rows offered


def test_a_filed_cases_handler_steps_are_offered_to_its_designated_handlers_only(app, people, frozen, api):
    from tests.conftest import ROOT, deploy_dir
    from tests.support.generic_client import GenericClient

    with app.app_context():
        deploy_dir(ROOT)
        db.session.remove()
    head, handler = api("a_head"), api("a_handler1")
    status, case = handler.post("/cases", {"procedure": "ordinary", "party": PARTY})
    assert status == 201, case
    filler = GenericClient(frozen.now().date())
    for client, bpmn_id, extra in ((handler, "register_lead", {}),
                                   (head, "file_case", {"assigned_handlers": ["a_handler2", "a_reviewer"]})):
        task_id = next(t["id"] for t in client.get(f"/cases/{case['id']}")[1]["tasks"]
                       if t["bpmn_id"] == bpmn_id and t["status"] == "open")
        assert client.post(f"/tasks/{task_id}/claim")[0] == 200
        task = client.get(f"/tasks/{task_id}")[1]
        data = {**filler.fill(task["form_schema"], task["data"]), **extra}
        status, body = client.post(f"/tasks/{task_id}/complete", {"data": data, "version": task["version"]})
        assert status == 200, body
    investigate = next(t for t in body["next_tasks"] if t["bpmn_id"] == "investigate")
    if investigate["assignee"]:  # handed straight to a designated handler: back to the pool to test the pool
        assert api(investigate["assignee"]).post(f"/tasks/{investigate['id']}/unclaim")[0] == 200
    for username, offered in (("a_handler2", True), ("a_reviewer", True), ("a_handler1", False), ("a_head", False)):
        status, listing = api(username).get("/tasks", scope="available")
        assert (investigate["id"] in [t["id"] for t in listing["items"]]) is offered, username
        assert listing["total"] == len(listing["items"]), username
