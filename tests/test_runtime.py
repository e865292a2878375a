"""Engine commands end to end on the mini procedure: projection, timers, versions, rules."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from engine import clock
from engine.casefile.verify import verify_record
from engine.errors import Conflict, Forbidden, InvalidInput, InvalidState, NotFound
from engine.models import ProcessInstance, Task, db
from engine.runtime import (
    claim_task,
    complete_task,
    fire_due_timers,
    resume_case,
    send_message,
    start_case,
    suspend_case,
    terminate_case,
)
from tests.conftest import user

PARTY = {"party_type": "organization", "party_name": "某某餐饮有限公司"}


def open_tasks(case_id: int) -> list[Task]:
    return list(db.session.scalars(select(Task).where(Task.case_id == case_id, Task.status == "open")))


def start(frozen, fine: float = 20000) -> int:
    case = start_case(user("a_handler1"), "mini", PARTY, {"violation": "未按规定公示", "proposed_fine": fine})
    return case.id


def test_start_creates_first_task_with_due_date_from_its_time_limit(ctx, people, mini, frozen):
    case_id = start(frozen)
    [task] = open_tasks(case_id)
    assert task.bpmn_id == "register" and task.role == "handler" and task.name == "登记"
    # internal_approval = 3 working days from Mon 2026-03-02: ends 24:00 Thu 2026-03-05 (Shanghai)
    assert task.due_at == dt.datetime(2026, 3, 6, 0, 0, tzinfo=clock.SHANGHAI)
    assert task.case.case_number == "X市监案〔2026〕1号"
    assert verify_record(case_id) == []


def test_case_runs_to_its_end_through_review_timer_and_decision(ctx, people, mini, frozen):
    case_id = start(frozen)
    [register] = open_tasks(case_id)
    claim_task(user("a_handler1"), register.id)
    complete_task(user("a_handler1"), register.id, {"facts": "经营场所未公示营业执照", "proposed_fine": 20000})
    [review] = open_tasks(case_id)
    assert review.bpmn_id == "review"  # DMN: fine >= 10000 needs review
    complete_task(user("a_reviewer"), review.id, {"opinion": "approve"})
    [serve] = open_tasks(case_id)
    complete_task(user("a_handler2"), serve.id, {"served_on": "2026-03-03"})
    instance = db.session.scalars(select(ProcessInstance).where(ProcessInstance.case_id == case_id)).one()
    # statement period: 5 working days after Tue 03-03 -> Tue 03-10, ends 24:00 Shanghai
    assert instance.next_timer_at == dt.datetime(2026, 3, 11, 0, 0, tzinfo=clock.SHANGHAI)
    assert open_tasks(case_id) == []

    frozen.set(dt.datetime(2026, 3, 10, 23, 59, tzinfo=clock.SHANGHAI))
    assert fire_due_timers().fired == []
    frozen.set(dt.datetime(2026, 3, 11, 0, 0, 1, tzinfo=clock.SHANGHAI))
    assert len(fire_due_timers().fired) == 1
    [decide] = open_tasks(case_id)
    assert decide.bpmn_id == "decide"
    complete_task(user("a_chief"), decide.id, {"decision": "罚款 20000 元"})
    db.session.expire_all()
    instance = db.session.get(ProcessInstance, instance.id)
    assert instance.status == "completed" and instance.case.status == "closed"
    assert verify_record(case_id) == []


def test_small_fine_skips_review(ctx, people, mini, frozen):
    case_id = start(frozen, fine=500)
    [register] = open_tasks(case_id)
    complete_task(user("a_handler1"), register.id, {"facts": "轻微违法", "proposed_fine": 500})
    assert [t.bpmn_id for t in open_tasks(case_id)] == ["serve"]


def test_reviewer_who_registered_the_case_may_not_review_it(ctx, people, mini, frozen):
    case_id = start(frozen)
    [register] = open_tasks(case_id)
    complete_task(user("a_reviewer"), register.id, {"facts": "审核人自己登记", "proposed_fine": 20000})
    [review] = open_tasks(case_id)
    with pytest.raises(Forbidden, match="回避"):
        complete_task(user("a_reviewer"), review.id, {"opinion": "approve"})
    assert open_tasks(case_id)[0].id == review.id


def test_handler_without_credential_cannot_take_a_credentialed_task(ctx, people, mini, frozen):
    case_id = start(frozen)
    [register] = open_tasks(case_id)
    with pytest.raises(Forbidden, match="执法证"):
        claim_task(user("a_nocred"), register.id)


def test_invalid_form_data_is_refused_and_changes_nothing(ctx, people, mini, frozen):
    case_id = start(frozen)
    [register] = open_tasks(case_id)
    with pytest.raises(InvalidInput) as err:
        complete_task(user("a_handler1"), register.id, {"facts": "x", "proposed_fine": -5})
    fields = {d["field"] for d in err.value.details}
    assert fields == {"facts", "proposed_fine"}
    assert open_tasks(case_id)[0].id == register.id
    assert verify_record(case_id) == []


def test_stale_version_is_a_conflict(ctx, people, mini, frozen):
    case_id = start(frozen)
    [register] = open_tasks(case_id)
    version = db.session.get(ProcessInstance, register.instance_id).version
    with pytest.raises(Conflict):
        complete_task(user("a_handler1"), register.id, {"facts": "事实清楚", "proposed_fine": 1}, version=version + 1)
    complete_task(user("a_handler1"), register.id, {"facts": "事实清楚", "proposed_fine": 1}, version=version)


def test_completing_twice_says_already_handled(ctx, people, mini, frozen):
    case_id = start(frozen)
    [register] = open_tasks(case_id)
    complete_task(user("a_handler1"), register.id, {"facts": "事实清楚", "proposed_fine": 1})
    with pytest.raises(Conflict, match="已被他人处理"):
        complete_task(user("a_handler2"), register.id, {"facts": "事实清楚", "proposed_fine": 1})


def test_other_unit_cannot_see_or_touch_the_task(ctx, people, mini, frozen):
    case_id = start(frozen)
    [register] = open_tasks(case_id)
    with pytest.raises(NotFound):
        claim_task(user("b_handler1"), register.id)


def test_suspended_case_cannot_be_worked_and_resumes(ctx, people, mini, frozen):
    case_id = start(frozen)
    [register] = open_tasks(case_id)
    suspend_case(user("a_chief"), case_id, "等待检测结果", ground="legal_interpretation")
    with pytest.raises(Exception, match="中止"):
        complete_task(user("a_handler1"), register.id, {"facts": "事实清楚", "proposed_fine": 1})
    resume_case(user("a_chief"), case_id, "检测完成")
    complete_task(user("a_handler1"), register.id, {"facts": "事实清楚", "proposed_fine": 1})
    assert verify_record(case_id) == []


def test_message_moves_a_waiting_case_and_an_unexpected_one_is_refused(ctx, people, mini, frozen):
    case = start_case(user("a_handler1"), "mini_message", PARTY, {})
    assert open_tasks(case.id) == []
    with pytest.raises(InvalidState, match="不在等待"):
        send_message(user("a_handler1"), case.id, "something_else", {})
    send_message(user("a_handler1"), case.id, "party_reply", {"reply": "已整改"})
    assert [t.bpmn_id for t in open_tasks(case.id)] == ["review_reply"]
    with pytest.raises(NotFound):
        send_message(user("b_handler1"), case.id, "party_reply", {})
    assert verify_record(case.id) == []


def test_terminated_case_withdraws_its_open_tasks(ctx, people, mini, frozen):
    case_id = start(frozen)
    [register] = open_tasks(case_id)
    with pytest.raises(Forbidden):
        terminate_case(user("a_handler1"), case_id, "撤案", ground="other")
    terminate_case(user("a_chief"), case_id, "当事人已注销，依法终止", ground="no_successor")
    db.session.expire_all()
    assert db.session.get(Task, register.id).status == "cancelled"
    instance = db.session.scalars(select(ProcessInstance).where(ProcessInstance.case_id == case_id)).one()
    assert instance.status == "terminated" and instance.case.status == "terminated" and instance.next_timer_at is None
    with pytest.raises(Conflict):
        complete_task(user("a_handler1"), register.id, {"facts": "事实清楚", "proposed_fine": 1})
    assert verify_record(case_id) == []


def test_a_call_activity_task_is_projected_and_completes_the_parent(ctx, people, mini, frozen):
    case = start_case(user("a_handler1"), "mini_parent", PARTY, {})
    [child] = open_tasks(case.id)
    assert child.bpmn_id == "child_task" and child.process_id == "mini_child"
    complete_task(user("a_handler1"), child.id, {"decision": "完成"})
    db.session.expire_all()
    assert db.session.get(type(case), case.id).status == "closed"


def test_a_call_activity_only_process_cannot_be_started(ctx, people, mini, frozen):
    with pytest.raises(InvalidInput, match="只能由其他程序调用"):
        start_case(user("a_handler1"), "mini_child", PARTY, {})


def test_form_data_may_not_carry_fields_the_form_does_not_declare(ctx, people, mini, frozen):
    case_id = start(frozen, fine=50000)
    [register] = open_tasks(case_id)
    # An undeclared key would overwrite what gateways and decision tables read (here: skip the review).
    with pytest.raises(InvalidInput, match="party_type"):
        complete_task(user("a_handler1"), register.id, {"facts": "事实清楚", "proposed_fine": 50000, "party_type": "organization"})
    with pytest.raises(InvalidInput, match="review_required"):
        complete_task(user("a_handler1"), register.id, {"facts": "事实清楚", "proposed_fine": 50000, "review_required": False})
    complete_task(user("a_handler1"), register.id, {"facts": "事实清楚", "proposed_fine": 50000})
    assert [t.bpmn_id for t in open_tasks(case_id)] == ["review"]


def test_facts_may_not_override_what_the_engine_sets(ctx, people, mini, frozen):
    for key in ("party_type", "case_number", "deadline", "len"):
        with pytest.raises(InvalidInput, match=key):
            start_case(user("a_handler1"), "mini", PARTY, {key: "x", "proposed_fine": 1})
