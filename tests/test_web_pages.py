"""The officer workspace through the HTML pages (server side): start a case, work tasks, read the case."""

from __future__ import annotations

import re

import pytest

from engine.models import Notification, Task, db
from tests.conftest import ROOT, deploy_dir
from tests.support.web import LEAD, login
from tests.support.web import page_csrf as csrf


@pytest.fixture
def shipped(app, people):
    with app.app_context():
        deploy_dir(ROOT)
        db.session.remove()


@pytest.fixture
def officer(app, shipped, frozen):
    def client_for(username: str):
        client = app.test_client()
        login(client, username)
        return client

    return client_for


def start_ordinary(client, party_name: str = "某某超市有限公司") -> int:
    token = csrf(client.get("/cases/new").get_data(as_text=True))
    r = client.post("/cases/new", data={
        "csrf_token": token, "party_type": "organization", "party_name": party_name, "party_credit_code": "91310000MA1FL1234Q",
        "party_address": "X市Y区幸福路1号", "party_legal_rep": "李四", "violation": "未明码标价",
        "penalty_kind": "fine", "proposed_fine": "5000.50", "procedure": "ordinary", "action": "start",
    })
    assert r.status_code == 302, r.get_data(as_text=True)
    return int(r.headers["Location"].rsplit("/", 1)[1])


def open_task(app, case_id: int, bpmn_id: str) -> Task:
    with app.app_context():
        task = db.session.query(Task).filter_by(case_id=case_id, bpmn_id=bpmn_id, status="open").one()
        db.session.expunge(task)
        return task


def test_start_form_suggests_the_procedure_from_the_eligibility_table(officer):
    client = officer("a_handler1")
    token = csrf(client.get("/cases/new").get_data(as_text=True))
    page = client.post("/cases/new", data={"csrf_token": token, "party_type": "citizen", "party_name": "张三",
                                           "violation": "占道经营", "penalty_kind": "fine", "proposed_fine": "150",
                                           "action": "suggest"}).get_data(as_text=True)
    assert 'id="suggestion"' in page and '<option value="simplified" selected>' in page
    page = client.post("/cases/new", data={"csrf_token": token, "party_type": "citizen", "party_name": "张三",
                                           "violation": "占道经营", "penalty_kind": "fine", "proposed_fine": "5000",
                                           "action": "suggest"}).get_data(as_text=True)
    assert '<option value="ordinary" selected>' in page
    assert 'value="张三"' in page  # what the officer typed stays


def test_start_form_refuses_missing_party_and_keeps_input(officer):
    client = officer("a_handler1")
    token = csrf(client.get("/cases/new").get_data(as_text=True))
    r = client.post("/cases/new", data={"csrf_token": token, "party_type": "citizen", "party_name": "",
                                        "violation": "无照经营", "procedure": "ordinary", "action": "start"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and 'data-field="party_name"' in page and "无照经营" in page


def test_officer_claims_fixes_an_error_and_completes_a_task(app, officer):
    client = officer("a_handler1")
    case_id = start_ordinary(client)
    task = open_task(app, case_id, "register_lead")
    page = client.get("/?scope=available").get_data(as_text=True)
    assert f'data-task-id="{task.id}"' in page
    r = client.post(f"/tasks/{task.id}/claim", data={"csrf_token": csrf(page)})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/tasks/{task.id}")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'id="task-form"' in page and "案件线索登记与核查" in page
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    bad = {**LEAD, "lead_summary": "", "verification_findings": "我写的核查情况", "csrf_token": csrf(page), "version": version}
    r = client.post(f"/tasks/{task.id}", data=bad)
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert 'data-field="lead_summary"' in page and "is-invalid" in page and "我写的核查情况" in page
    r = client.post(f"/tasks/{task.id}", data={**bad, "lead_summary": "举报未明码标价"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/cases/{case_id}")
    case_page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "办结任务" in case_page and "立案审批" in case_page  # the timeline and the next deadline
    second = officer("a_handler2")
    assert f'data-task-id="{task.id}"' not in second.get("/?scope=available").get_data(as_text=True)


def test_stale_version_says_someone_else_handled_the_task(app, officer):
    first, second = officer("a_handler1"), officer("a_handler2")
    case_id = start_ordinary(first)
    task = open_task(app, case_id, "register_lead")
    page_a = first.get(f"/tasks/{task.id}").get_data(as_text=True)
    page_b = second.get(f"/tasks/{task.id}").get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', page_a).group(1)
    assert second.post(f"/tasks/{task.id}", data={**LEAD, "csrf_token": csrf(page_b), "version": version}).status_code == 302
    r = first.post(f"/tasks/{task.id}", data={**LEAD, "csrf_token": csrf(page_a), "version": version})
    assert r.status_code == 409 and 'id="conflict"' in r.get_data(as_text=True)


def test_unit_head_sees_who_may_not_take_a_task_and_reassigns_it(app, officer):
    client = officer("a_handler1")
    case_id = start_ordinary(client)
    task = open_task(app, case_id, "register_lead")
    head = officer("a_head")
    page = head.get("/?scope=unit").get_data(as_text=True)
    assert f'data-task-id="{task.id}"' in page and 'class="reassign' in page
    assert "a_nocred" in page and "执法证" in page  # not offered, with the reason
    r = head.post(f"/tasks/{task.id}/reassign", data={"csrf_token": csrf(page), "to": "a_handler2"})
    assert r.status_code == 302
    with app.app_context():
        assert db.session.get(Task, task.id).assignee.username == "a_handler2"
        assert db.session.query(Notification).filter_by(task_id=task.id, kind="assigned").count() == 1
    handler2 = officer("a_handler2")
    page = handler2.get("/").get_data(as_text=True)
    assert f'data-task-id="{task.id}"' in page
    # Two unread: the step offered to the pool when it was created (issue 17), then assigned to a_handler2.
    assert re.search(r'id="bell"[^>]*>.*?<span class="count[^"]*">2</span>', page, re.S)


def test_officers_field_offers_only_eligible_officers(app, officer):
    client = officer("a_handler1")
    case_id = start_ordinary(client)
    task = open_task(app, case_id, "register_lead")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    client.post(f"/tasks/{task.id}", data={**LEAD, "csrf_token": csrf(page), "version": version})
    filing = open_task(app, case_id, "file_case")
    page = officer("a_head").get(f"/tasks/{filing.id}").get_data(as_text=True)
    select = page.split('<select class="form-select" id="f-assigned_handlers"')[1].split("</select>")[0]
    assert 'value="a_handler1"' in select and 'value="a_handler2"' in select
    assert 'value="a_nocred"' not in select and 'value="b_handler1"' not in select


def test_case_diagram_marks_the_current_task(app, officer):
    client = officer("a_handler1")
    case_id = start_ordinary(client)
    payload = client.get(f"/cases/{case_id}/diagram").get_json()
    assert 'id="ordinary"' in payload["xml"]
    assert payload["states"]["register_lead"] == "active"
    assert payload["states"].get("init_case") == "completed"


def test_english_is_the_second_locale(officer):
    client = officer("a_handler1")
    page = client.get("/").get_data(as_text=True)
    assert "我的待办" in page
    client.post("/lang", data={"csrf_token": csrf(page), "lang": "en"})
    page = client.get("/").get_data(as_text=True)
    assert "My tasks" in page and "我的待办" not in page


def test_notifications_can_be_marked_read(app, officer):
    client = officer("a_handler1")
    with app.app_context():
        from engine import clock
        from tests.conftest import user

        db.session.add(Notification(user_id=user("a_handler1").id, kind="overdue", message="任务已超期：测试",
                                    created_at=clock.now()))
        db.session.commit()
    page = client.get("/notifications").get_data(as_text=True)
    assert "任务已超期：测试" in page
    client.post("/notifications/read", data={"csrf_token": csrf(page)})
    with app.app_context():
        assert db.session.query(Notification).filter(Notification.read_at.is_(None)).count() == 0


def test_claiming_a_task_someone_else_took_says_so_on_the_inbox(app, officer):
    first, second = officer("a_handler1"), officer("a_handler2")
    case_id = start_ordinary(first)
    task = open_task(app, case_id, "register_lead")
    page = second.get("/?scope=available").get_data(as_text=True)
    first.post(f"/tasks/{task.id}/claim", data={"csrf_token": csrf(first.get("/").get_data(as_text=True))})
    r = second.post(f"/tasks/{task.id}/claim", data={"csrf_token": csrf(page)}, follow_redirects=True)
    assert r.status_code == 200 and "已被他人认领" in r.get_data(as_text=True)
