"""Two officers, as 法 Art. 42 requires, and separation of duty — each reproduced through the HTTP API.

- co-officers (共同调查人员, 共同执法人员) are someone other than the performer and than each other;
- a filed case's handler steps go to its designated handlers only; the unit head re-designates (audited);
- whoever recommended filing never approves it (立案审批, 不予立案审批);
- the legal reviewer is separated from every investigator (designated handlers and co-investigators);
- a lapsed 执法证 is refused when a task is claimed, reassigned and completed, naming it and its expiry.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from engine import clock
from engine.errors import Forbidden, InvalidInput
from engine.models import AuditEvent, CaseOfficer, Credential, Document, FormNumber, Notification, Task, db
from engine.policy.officers import check_and_record, designate_handlers, designated_handlers
from engine.runtime import complete_task, start_case
from tests.conftest import ROOT, deploy_dir, make_user, user
from tests.support.driver import Driver
from tests.support.hearing import SUBMIT
from tests.support.officers import claim, filed
from tests.support.sample_forms import FILING_RECORD, LEAD_FILE, LEAD_NOT_FILE, report
from tests.support.scenarios import CITIZEN, COMPANY, FILE_CASE, INVESTIGATION, onspot
from tests.support.web import login
from tests.support.web import page_csrf as csrf

ART_42 = "第四十二条"
NOT_FILING = {"not_filing_decision": "approve", "not_filing_opinion": "同意", "not_filing_decided_on": "2026-03-06"}
# The ``drv`` fixture (unit A's officers through the API) is in tests/conftest.py (tests/support/officers.py).


def expire(username: str, on: dt.date) -> None:
    db.session.execute(Credential.__table__.update().where(Credential.user_id == user(username).id)
                       .values(expires_on=on))
    db.session.commit()


# ------------------------------------------------------------------------------------------ co-officers
def test_a_co_investigator_may_not_be_the_investigator_himself(drv):
    filed(drv)
    status, body = drv.attempt("investigate", "a_handler1", {**INVESTIGATION, "co_investigators": ["a_handler1"]})
    assert status == 422 and body["details"][0]["field"] == "co_investigators"
    assert "不能指定本人" in body["message"] and ART_42 in body["message"] and "另一名执法人员" in body["message"]
    assert drv.ready() == ["investigate"]
    assert drv.attempt("investigate", "a_handler1", INVESTIGATION)[0] == 200  # with a_handler2: two officers


def test_an_onspot_co_handler_may_not_be_the_deciding_officer_himself(drv):
    """The issued 决定书 listed "a_handler1、a_handler1": one officer where the law wants two."""
    drv.start("simplified", CITIZEN, {"violation": "占道经营", "penalty_kind": "fine", "proposed_fine": 100})
    status, body = drv.attempt("onspot_decision", "a_handler1", onspot("fine", 100, co_handlers=["a_handler1"]))
    assert status == 422 and body["details"][0]["field"] == "co_handlers" and ART_42 in body["message"]
    assert db.session.scalars(select(Document)).all() == [] and db.session.scalars(select(FormNumber)).all() == []
    assert drv.attempt("onspot_decision", "a_handler1", onspot("fine", 100))[0] == 200
    [decision] = db.session.scalars(select(Document).where(Document.doc_type == "当场行政处罚决定书")).all()
    assert "a_handler1、a_handler2" in decision.content


def test_the_same_co_officer_twice_is_refused_even_where_the_form_allows_it(drv):
    """The engine's own check, for a designer's form without ``uniqueItems``."""
    filed(drv)
    schema = {"properties": {"co": {"type": "array", "x-widget": "officers", "x-role": "handler", "x-co-officers": True}}}
    with pytest.raises(InvalidInput, match="重复") as err:
        check_and_record(drv.task("investigate"), schema, {"co": ["a_handler2", "a_handler2"]}, user("a_handler1"))
    assert ART_42 in err.value.message


# ------------------------------------------------------------------------------------------ designated handlers
def test_investigation_is_limited_to_the_designated_handlers(drv):
    filed(drv)
    status, body = claim(drv, "investigate", "a_head")  # a unit head who also holds the handler role
    assert status == 403 and "不是本案指定的承办人" in body["message"] and ART_42 in body["message"]
    assert "重新指定承办人" in body["message"]
    status, body = drv.api("a_head").post(f"/tasks/{drv.task('investigate').id}/reassign", {"to": "a_handler3"})
    assert status == 422 and "不是本案指定的承办人" in body["message"]
    # Nor may an officer outside the designation investigate as the co-investigator.
    status, body = drv.attempt("investigate", "a_handler1", {**INVESTIGATION, "co_investigators": ["a_handler3"]})
    assert status == 422 and "不是本案指定的承办人" in body["message"]
    status, body = drv.api("a_handler3").get("/tasks", scope="available")
    assert drv.task("investigate").id not in {t["id"] for t in body["items"]}


def test_the_unit_head_redesignates_the_handlers_and_tasks_follow(drv):
    filed(drv)
    assert claim(drv, "investigate", "a_handler2")[0] == 200
    path = f"/cases/{drv.case_id}/handlers"
    status, body = drv.api("a_handler1").post(path, {"handlers": ["a_handler1", "a_handler3"], "reason": "调岗"})
    assert status == 403 and "承办机构负责人" in body["message"]
    with pytest.raises(Forbidden, match="承办机构负责人"):  # the engine's rule, whoever calls it (page or API)
        designate_handlers(user("a_handler1"), drv.case_id, ["a_handler1", "a_handler3"], "调岗")
    status, body = drv.api("a_head").post(path, {"handlers": ["a_handler1"], "reason": "调岗"})
    assert status == 422 and ART_42 in body["message"]
    status, body = drv.api("a_head").post(path, {"handlers": ["a_handler1", "a_handler3"], "reason": ""})
    assert status == 422 and body["details"][0]["field"] == "reason"
    status, body = drv.api("a_head").post(path, {"handlers": ["a_handler1", "a_handler3"], "reason": "a_handler2 调离执法一科"})
    assert status == 200, body
    assert body["designated_handlers"] == ["a_handler1", "a_handler3"]
    task = drv.task("investigate")
    assert task.assignee_id is None, "the task a_handler2 held is back in the pool"
    assert db.session.scalars(select(Notification).where(Notification.user_id == user("a_handler2").id,
                                                         Notification.kind == "released")).first() is not None
    status, body = claim(drv, "investigate", "a_handler2")
    assert status == 403 and "不是本案指定的承办人" in body["message"]
    assert claim(drv, "investigate", "a_handler3")[0] == 200
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "case.handlers_designated")).all()
    assert event.actor == "a_head" and event.data["from"] == ["a_handler1", "a_handler2"]
    assert event.data["to"] == ["a_handler1", "a_handler3"] and event.data["reason"] == "a_handler2 调离执法一科"
    # Who was once designated stays separated from the review (ended, not deleted).
    ended = db.session.scalars(select(CaseOfficer).where(CaseOfficer.user_id == user("a_handler2").id)).one()
    assert ended.ended_at is not None


def test_redesignation_refuses_a_lapsed_credential(drv):
    filed(drv)
    expire("a_handler3", dt.date(2026, 3, 1))
    status, body = drv.api("a_head").post(f"/cases/{drv.case_id}/handlers",
                                          {"handlers": ["a_handler1", "a_handler3"], "reason": "调岗"})
    assert status == 422 and "执法证" in body["message"] and "2026-03-01" in body["message"]


def test_redesignating_from_the_case_page_needs_the_csrf_token(app, people, frozen):
    with app.app_context():  # the page is used outside the test's app context: each request has its own
        deploy_dir(ROOT)
        make_user("a_handler3", "unit_a", ["handler"], ("law_enforcement",))
        case_id = start_case(user("a_handler1"), "ordinary", COMPANY, {"violation": "未明码标价"}).id
        for username, data in (("a_handler1", LEAD_FILE), ("a_head", FILE_CASE)):
            task = db.session.scalars(select(Task).where(Task.case_id == case_id, Task.status == "open")).one()
            complete_task(user(username), task.id, data)
        db.session.remove()
    client = app.test_client()
    login(client, "a_head")
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'id="designate-form"' in page and 'id="designated-handlers"' in page
    form = {"handlers": ["a_handler1", "a_handler3"], "reason": "调岗"}
    assert client.post(f"/cases/{case_id}/handlers", data=form).status_code == 400  # no CSRF token
    assert _designated(app, case_id) == ["a_handler1", "a_handler2"]
    r = client.post(f"/cases/{case_id}/handlers", data={**form, "csrf_token": csrf(page)}, follow_redirects=True)
    assert "已重新指定承办人" in r.get_data(as_text=True)
    assert _designated(app, case_id) == ["a_handler1", "a_handler3"]


def _designated(app, case_id: int) -> list[str]:
    with app.app_context():
        return [u.username for u in designated_handlers(case_id)]


# ------------------------------------------------------------------------------------------ recommend ≠ approve
def test_who_recommended_filing_may_not_approve_it(drv):
    drv.start("ordinary", COMPANY, {"violation": "未明码标价"}, starter="a_head")
    drv.complete("register_lead", "a_head", LEAD_FILE)  # the unit head, also a handler, recommends filing
    status, body = claim(drv, "file_case", "a_head")
    assert status == 403 and "曾办理本案“登记案件线索并核查”" in body["message"] and "须回避“立案审批”" in body["message"]
    assert "请由其他人员办理" in body["message"]
    status, body = drv.api("a_head").get(f"/tasks/{drv.task('file_case').id}")
    assert body["can_complete"] is False and "须回避" in body["not_eligible_reason"]
    drv.complete("file_case", "a_head2", FILE_CASE)
    assert drv.ready() == ["investigate"]


def test_who_recommended_not_filing_may_not_approve_it(drv):
    drv.start("ordinary", COMPANY, {"violation": "未明码标价"}, starter="a_head")
    drv.complete("register_lead", "a_head", LEAD_NOT_FILE)
    status, body = claim(drv, "approve_not_filing", "a_head")
    assert status == 403 and "须回避“不予立案审批”" in body["message"]
    drv.complete("approve_not_filing", "a_head2", NOT_FILING)
    assert drv.case.status == "closed"


# ------------------------------------------------------------------------------------------ reviewer ≠ investigators
def to_review(drv: Driver, co_investigator: str, handlers: list[str]) -> None:
    drv.start("ordinary", CITIZEN, {"violation": "未明码标价", "penalty_kind": "fine", "proposed_fine": 20000})
    drv.complete("register_lead", "a_handler1", LEAD_FILE)
    drv.complete("file_case", "a_head", {**FILE_CASE, "assigned_handlers": handlers})
    drv.complete("investigate", "a_handler1", {**INVESTIGATION, "co_investigators": [co_investigator]})
    drv.complete("investigation_report", "a_handler1", report(fine=20000))
    drv.complete("submit_review", "a_handler1", SUBMIT)


def test_a_co_investigator_may_not_review_the_case(drv):
    to_review(drv, "a_reviewer", ["a_handler1", "a_reviewer"])
    status, body = claim(drv, "review", "a_reviewer")
    assert status == 403 and "须回避“法制审核”" in body["message"]
    assert drv.attempt("review", "a_reviewer2", _approve())[0] == 200


def test_a_co_investigator_recorded_outside_the_designation_may_not_review_either(drv):
    """Cases investigated before co-investigators had to be designated handlers name a co-investigator
    who is not one: the review's ``@co_investigators`` separates them all the same."""
    to_review(drv, "a_handler2", ["a_handler1", "a_handler2"])
    investigate = db.session.scalars(select(Task).where(Task.case_id == drv.case_id, Task.bpmn_id == "investigate")).one()
    db.session.add(CaseOfficer(case_id=drv.case_id, field="co_investigators", user_id=user("a_reviewer").id,
                               task_id=investigate.id, designated_at=clock.now()))
    db.session.commit()
    status, body = claim(drv, "review", "a_reviewer")
    assert status == 403 and "系本案的共同调查人员，须回避“法制审核”" in body["message"]


def _approve() -> dict:
    from tests.support.hearing import APPROVE

    return APPROVE


# ------------------------------------------------------------------------------------------ 执法证 validity
def test_a_lapsed_credential_is_refused_when_the_task_is_claimed(drv):
    filed(drv)
    expire("a_handler2", dt.date(2026, 3, 1))
    status, body = claim(drv, "investigate", "a_handler2")
    message = body["message"]
    assert status == 403 and "执法证（编号 N-a_handler2-law_enforcement）有效期至 2026-03-01，已过期" in message
    assert ART_42 in message and "请向系统管理员登记换发后的执法证" in message


def test_a_lapsed_credential_is_refused_when_the_task_is_reassigned(drv):
    filed(drv)
    expire("a_handler2", dt.date(2026, 3, 1))
    status, body = drv.api("a_head").post(f"/tasks/{drv.task('investigate').id}/reassign", {"to": "a_handler2"})
    assert status == 422 and "有效期至 2026-03-01，已过期" in body["message"]
    assert drv.task("investigate").assignee_id == user("a_handler1").id  # the 主办 designated at 立案 keeps it


def test_a_credential_lapsing_after_the_claim_is_refused_when_the_task_is_completed(drv):
    filed(drv)
    expire("a_handler2", dt.date(2026, 3, 5))
    task_id = drv.task("investigate").id
    client = drv.api("a_handler2")
    assert client.post(f"/tasks/{task_id}/claim")[0] == 200  # valid on Mon 03-02
    drv.frozen.set(dt.datetime(2026, 3, 6, 9, tzinfo=clock.SHANGHAI))
    status, task = client.get(f"/tasks/{task_id}")
    status, body = client.post(f"/tasks/{task_id}/complete",
                               {"data": {**INVESTIGATION, "co_investigators": ["a_handler1"]}, "version": task["version"]})
    assert status == 403 and "有效期至 2026-03-05，已过期" in body["message"]
    assert drv.ready() == ["investigate"]


def test_a_handler_step_without_a_credential_property_still_needs_the_credential(drv):
    """Every 承办人 holds a valid 执法证 (法 Art. 42), whether or not the step names the credential."""
    drv.start("simplified", CITIZEN, {"violation": "占道经营", "penalty_kind": "warning", "proposed_fine": 0})
    drv.complete("onspot_decision", "a_handler1", onspot("warning", 0))
    task = drv.task("filing_record")
    assert task.requires_credential is None and task.role == "handler"
    expire("a_handler2", dt.date(2026, 3, 1))
    status, body = claim(drv, "filing_record", "a_handler2")
    assert status == 403 and "执法证" in body["message"] and "已过期" in body["message"]
    assert drv.attempt("filing_record", "a_handler1", FILING_RECORD)[0] == 200
