"""Steps for the designated handlers go straight to their 我的待办 (issue 17), never to the pool.

The 主办 (the first officer the unit head named at 立案) gets each handler step; the co-handler is
told and may take it over (接手); everyone else who may take a pool step is told it is waiting.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from engine.errors import Forbidden
from engine.models import AuditEvent, Credential, Notification, Task, db
from engine.queries.inbox import task_query
from engine.runtime import claim_task, complete_task, start_case
from engine.runtime.assignment import offer_pending_tasks
from tests.conftest import ROOT, deploy_dir, make_user, user
from tests.support.sample_forms import LEAD_FILE
from tests.support.scenarios import COMPANY, FILE_CASE, INVESTIGATION


@pytest.fixture
def case_id(ctx, people, frozen) -> int:
    deploy_dir(ROOT)
    make_user("a_handler3", "unit_a", ["handler"], ("law_enforcement",))
    case = start_case(user("a_handler1"), "ordinary", COMPANY, {"violation": "未明码标价", "penalty_kind": "fine",
                                                                 "proposed_fine": 20000})
    return case.id


def open_task(case_id: int, bpmn_id: str) -> Task:
    db.session.remove()
    return db.session.scalars(select(Task).where(Task.case_id == case_id, Task.bpmn_id == bpmn_id, Task.status == "open")).one()


def notes(username: str, kind: str) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user(username).id, Notification.kind == kind)))


def file(case_id: int, handlers: list[str]) -> None:
    task = open_task(case_id, "register_lead")
    claim_task(user("a_handler1"), task.id)
    complete_task(user("a_handler1"), task.id, LEAD_FILE)
    task = open_task(case_id, "file_case")
    complete_task(user("a_head"), task.id, {**FILE_CASE, "assigned_handlers": handlers})


def test_a_pool_step_is_offered_and_everyone_who_may_take_it_is_told(case_id):
    lead = open_task(case_id, "register_lead")
    assert lead.assignee_id is None  # before 立案 there are no designated handlers: the pool
    assert offer_pending_tasks() == 1  # told after the commit (the next page view, the scheduler, the digest)
    told = {n.user_id for n in db.session.scalars(select(Notification).where(Notification.task_id == lead.id,
                                                                             Notification.kind == "offered"))}
    assert told == {user(n).id for n in ("a_handler1", "a_handler2", "a_handler3", "a_head", "a_reviewer")}
    assert user("a_nocred").id not in told  # no 执法证: may not take a handler step, so not told
    message = notes("a_handler2", "offered")[0].message
    assert "可认领的新任务" in message and "登记案件线索并核查" in message


def test_handler_steps_go_to_the_first_designated_handler(case_id):
    file(case_id, ["a_handler2", "a_handler1"])  # a_handler2 named first: the 主办
    investigate = open_task(case_id, "investigate")
    assert investigate.assignee_id == user("a_handler2").id
    mine = db.session.scalars(task_query(user("a_handler2"), "mine")).all()
    assert investigate.id in {t.id for t in mine}
    available = db.session.scalars(task_query(user("a_handler3"), "available")).all()
    assert investigate.id not in {t.id for t in available}  # never in the pool
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "task.assigned")).all()
    assert event.data == {"task": "调查取证", "to": "a_handler2", "why": "designated_handler"}
    assert "主办承办人" in notes("a_handler2", "assigned")[0].message
    assert "协办承办人" in notes("a_handler1", "co_handler")[0].message
    offer_pending_tasks()
    assert investigate.id not in {n.task_id for n in notes("a_handler3", "offered")}  # not told of a step they may not take


def test_the_co_handler_may_take_over_but_nobody_else(case_id):
    file(case_id, ["a_handler1", "a_handler2"])
    task = open_task(case_id, "investigate")
    with pytest.raises(Forbidden, match="不是本案指定的承办人"):
        claim_task(user("a_handler3"), task.id)
    claim_task(user("a_handler2"), task.id)  # 接手
    assert open_task(case_id, "investigate").assignee_id == user("a_handler2").id
    assert "接手" in notes("a_handler1", "taken_over")[0].message
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "task.claimed")
                               .order_by(AuditEvent.id.desc())).first()
    assert event.data["from"] == "a_handler1"
    complete_task(user("a_handler2"), task.id, {**INVESTIGATION, "co_investigators": ["a_handler1"]})
    report = open_task(case_id, "investigation_report")
    assert report.assignee_id == user("a_handler1").id  # the next step goes to the 主办 again


def test_a_lead_who_may_not_take_the_step_passes_it_to_the_next_designated(case_id):
    file(case_id, ["a_handler1", "a_handler2", "a_handler3"])
    task = open_task(case_id, "investigate")
    db.session.execute(Credential.__table__.update().where(Credential.user_id == user("a_handler1").id)
                       .values(expires_on=dt.date(2026, 3, 1)))  # the 主办's 执法证 lapsed (today is 03-02)
    db.session.commit()
    claim_task(user("a_handler2"), task.id)
    complete_task(user("a_handler2"), task.id, {**INVESTIGATION, "co_investigators": ["a_handler3"]})
    assert open_task(case_id, "investigation_report").assignee_id == user("a_handler2").id


def test_an_officer_outside_the_designation_cannot_take_a_held_step(case_id):
    file(case_id, ["a_handler1", "a_handler2"])
    task = open_task(case_id, "investigate")
    with pytest.raises(Forbidden):
        claim_task(user("a_head"), task.id)  # a unit head who also holds the handler role, not designated
    assert open_task(case_id, "investigate").assignee_id == user("a_handler1").id


def test_a_pool_step_taken_before_the_offer_is_sent_is_not_offered(case_id):
    lead = open_task(case_id, "register_lead")
    claim_task(user("a_handler1"), lead.id)
    assert offer_pending_tasks() == 0  # already taken: nobody is told it is waiting
    assert not notes("a_handler2", "offered")


def test_the_pending_offer_is_a_mark_on_the_step_cleared_once_told(case_id):
    """The start marks the pool step in its own row (no extra statement); telling clears the mark,
    so a second pass tells nobody twice."""
    lead = open_task(case_id, "register_lead")
    assert lead.offer_pending is True
    assert offer_pending_tasks() == 1
    assert open_task(case_id, "register_lead").offer_pending is False
    assert offer_pending_tasks() == 0
    assert len(notes("a_handler2", "offered")) == 1
