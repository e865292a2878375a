"""Time limits administrators adjust, the holiday calendar, re-applying to open cases, the case clock
and the scheduler's incidents — all driven by the injected clock, never by sleeping."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from engine import clock
from engine.admin.time_limits import set_calendar_year, set_time_limit
from engine.casefile.verify import verify_record
from engine.errors import Forbidden, InvalidInput
from engine.models import AuditEvent, Case, Notification, ProcessInstance, Task, TimeLimit, db
from engine.runtime import complete_task, fire_due_timers, resume_case, retry_instance, start_case, suspend_case
from engine.runtime.case_clock import extend_case_clock
from engine.runtime.reapply import apply_limit_change, preview_limit_change
from tests.conftest import user

SH = clock.SHANGHAI
PARTY = {"party_type": "citizen", "party_name": "钱七"}


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


def open_tasks(case_id: int) -> list[Task]:
    return list(db.session.scalars(select(Task).where(Task.case_id == case_id, Task.status == "open")))


def instance_of(case_id: int) -> ProcessInstance:
    return db.session.scalars(
        select(ProcessInstance).where(ProcessInstance.case_id == case_id).execution_options(populate_existing=True)
    ).one()


def serve(case_id: int, served_on: str) -> None:
    [register] = open_tasks(case_id)
    complete_task(user("a_handler1"), register.id, {"facts": "事实清楚", "proposed_fine": 100})
    [serve_task] = open_tasks(case_id)
    complete_task(user("a_handler1"), serve_task.id, {"served_on": served_on})


def test_statement_period_expiring_over_the_spring_festival(ctx, people, mini, frozen):
    frozen.set(at(2026, 2, 12, 10))
    case = start_case(user("a_handler1"), "mini", PARTY, {"proposed_fine": 100})
    serve(case.id, "2026-02-13")
    # Fri 02-13 served; Sat 02-14 is a make-up working day (1); 02-15..02-23 Spring Festival;
    # 02-24, 25, 26, 27 (2..5): the period ends at 24:00 on Fri 2026-02-27.
    assert instance_of(case.id).next_timer_at == at(2026, 2, 28)
    frozen.set(at(2026, 2, 23, 12))
    assert fire_due_timers().fired == []
    frozen.set(at(2026, 2, 27, 23, 59))
    assert fire_due_timers().fired == []
    assert open_tasks(case.id) == []
    frozen.set(at(2026, 2, 28, 0, 0, 1))
    assert len(fire_due_timers().fired) == 1
    assert [t.bpmn_id for t in open_tasks(case.id)] == ["decide"]
    assert [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id))].count("timer.fired") == 1


def test_changed_limit_applies_to_a_new_case_and_reaches_an_open_one_only_when_applied(ctx, people, mini, frozen):
    old_case = start_case(user("a_handler1"), "mini", PARTY, {"proposed_fine": 1})
    [old_task] = open_tasks(old_case.id)
    assert old_task.due_at == at(2026, 3, 6)  # internal_approval: 3 working days from Mon 03-02
    set_time_limit(user("admin"), "internal_approval", 5, "working_days", "本机关内部审批时限调整为 5 个工作日")
    new_case = start_case(user("a_handler1"), "mini", PARTY, {"proposed_fine": 1})
    [new_task] = open_tasks(new_case.id)
    assert new_task.due_at == at(2026, 3, 10)  # 5 working days from Mon 03-02
    db.session.refresh(old_task)
    assert old_task.due_at == at(2026, 3, 6)  # unchanged until applied
    [change] = preview_limit_change("internal_approval")
    assert (change.kind, change.case_number, change.task_id) == ("task", old_case.case_number, old_task.id)
    assert change.old_due == at(2026, 3, 6).isoformat() and change.new_due == at(2026, 3, 10).isoformat()
    with pytest.raises(Forbidden):
        apply_limit_change(user("a_head"), "internal_approval", "越权")
    apply_limit_change(user("admin"), "internal_approval", "在办案件同步适用新时限")
    db.session.refresh(old_task)
    assert old_task.due_at == at(2026, 3, 10)
    assert preview_limit_change("internal_approval") == []
    assert verify_record() == []


def test_changed_timer_limit_rearms_from_the_recorded_date_not_from_now(ctx, people, mini, frozen):
    case = start_case(user("a_handler1"), "mini_timer", PARTY, {"notice_on": "2026-03-02", "start_clock": True})
    assert instance_of(case.id).next_timer_at == at(2026, 3, 12)  # 7 working days after Mon 03-02
    frozen.set(at(2026, 3, 5, 15))  # the administrator acts days later
    set_time_limit(user("admin"), "hearing_notice", 10, "working_days", "本机关规定听证通知提前 10 个工作日")
    assert instance_of(case.id).next_timer_at == at(2026, 3, 12)
    [change] = preview_limit_change("hearing_notice")
    assert change.kind == "timer" and change.new_due == at(2026, 3, 17).isoformat()
    apply_limit_change(user("admin"), "hearing_notice", "同步适用")
    assert instance_of(case.id).next_timer_at == at(2026, 3, 17)  # 10 working days after 03-02, not after 03-05
    frozen.set(at(2026, 3, 16, 23, 59))
    assert fire_due_timers().fired == []
    frozen.set(at(2026, 3, 17, 0, 1))
    assert len(fire_due_timers().fired) == 1


def test_value_outside_the_statutory_bound_is_refused_with_bound_and_article(ctx, people, mini, frozen):
    with pytest.raises(InvalidInput) as err:
        set_time_limit(user("admin"), "statement_period", 3, "working_days", "想缩短陈述申辩期")
    assert "5–5 工作日" in err.value.message and "行政处罚法" in err.value.message
    with pytest.raises(InvalidInput, match="90"):
        set_time_limit(user("admin"), "case_decision", 120, "natural_days", "想延长")
    with pytest.raises(InvalidInput, match="工作日"):
        set_time_limit(user("admin"), "statement_period", 5, "natural_days", "改成自然日")
    with pytest.raises(InvalidInput, match="理由"):
        set_time_limit(user("admin"), "legal_review", 7, "working_days", " ")
    with pytest.raises(Forbidden):
        set_time_limit(user("a_head"), "legal_review", 7, "working_days", "非管理员")
    db.session.expire_all()
    assert db.session.get(TimeLimit, "statement_period").amount == 5
    assert db.session.get(TimeLimit, "case_decision").amount == 90
    assert not db.session.scalars(select(AuditEvent).where(AuditEvent.action == "time_limit.changed")).first()


def test_every_limit_change_is_audited_old_to_new_with_reason(ctx, people, mini, frozen):
    set_time_limit(user("admin"), "legal_review", 7, "working_days", "依本省规定 7 个工作日")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "time_limit.changed")).one()
    assert event.actor == "admin" and event.data["key"] == "legal_review"
    assert event.data["old"]["amount"] == 10 and event.data["new"]["amount"] == 7
    assert event.data["reason"] == "依本省规定 7 个工作日"


def test_an_agency_setting_may_switch_to_natural_days(ctx, people, mini, frozen):
    set_time_limit(user("admin"), "internal_approval", 7, "natural_days", "按自然日计算")
    case = start_case(user("a_handler1"), "mini", PARTY, {"proposed_fine": 1})
    [task] = open_tasks(case.id)
    assert task.due_at == at(2026, 3, 10)  # Mon 03-02 + 7 natural days = Mon 03-09, ends 24:00


def test_a_deadline_in_a_year_without_calendar_is_provisional_until_the_year_is_entered(ctx, people, mini, frozen):
    frozen.set(at(2026, 12, 21, 9))
    case = start_case(user("a_handler1"), "mini", PARTY, {"proposed_fine": 1})
    [register] = open_tasks(case.id)
    complete_task(user("a_handler1"), register.id, {"facts": "事实清楚", "proposed_fine": 1})
    [serve_task] = open_tasks(case.id)
    complete_task(user("a_handler1"), serve_task.id, {"served_on": "2026-12-28"})  # never refused
    # Weekends only: 12-29, 30, 31, Fri 01-01, Mon 01-04 -> 暂定 end 24:00 Mon 2027-01-04
    assert instance_of(case.id).next_timer_at == at(2027, 1, 5)
    assert instance_of(case.id).timers_provisional
    result = set_calendar_year(user("admin"), 2027, [
        {"date": "2027-01-01", "kind": "holiday", "name": "元旦"},
    ], "国务院办公厅 2027 年节假日安排（测试）")
    # 12-29, 30, 31, (01-01 holiday), 01-04, 01-05 -> ends 24:00 Tue 2027-01-05
    db.session.remove()
    assert instance_of(case.id).next_timer_at == at(2027, 1, 6)
    assert not instance_of(case.id).timers_provisional
    [moved] = [c for c in result["recomputed"] if c["kind"] == "timer"]
    assert moved["case_id"] == case.id and moved["new_due"].startswith("2027-01-06")
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "deadline.recomputed")).all()
    assert [e.case_id for e in events] == [case.id]


def test_calendar_entries_are_validated_and_changes_audited(ctx, people, mini, frozen):
    with pytest.raises(InvalidInput, match="周末"):
        set_calendar_year(user("admin"), 2027, [{"date": "2027-01-04", "kind": "workday", "name": "x"}], "测试")
    with pytest.raises(InvalidInput, match="不属于"):
        set_calendar_year(user("admin"), 2027, [{"date": "2026-01-01", "kind": "holiday", "name": "x"}], "测试")
    set_calendar_year(user("admin"), 2026, [{"date": "2026-01-01", "kind": "holiday", "name": "元旦"}], "更正")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "calendar.changed")).one()
    assert len(event.data["old"]) == 39 and event.data["new"] == [{"date": "2026-01-01", "kind": "holiday", "name": "元旦"}]


def test_failing_instance_becomes_an_incident_and_does_not_stop_the_sweep(ctx, people, mini, frozen):
    frozen.set(at(2026, 12, 14, 9))
    broken = start_case(user("a_handler1"), "mini", PARTY, {"proposed_fine": 1})
    serve(broken.id, "2026-12-22")  # statement period ends 24:00 Tue 12-29
    # Due a day later; its next task is limited in hours, which needs no calendar.
    healthy = start_case(user("a_handler1"), "mini_timer", PARTY, {"notice_on": "2026-12-21", "start_clock": False})
    # The broken case's stored state cannot be read (e.g. damaged by hand): its timer cannot fire.
    good_state = instance_of(broken.id).state
    db.session.execute(update(ProcessInstance).where(ProcessInstance.id == instance_of(broken.id).id)
                       .values(state='{"damaged": '))
    db.session.commit()
    frozen.set(at(2026, 12, 31, 0, 0, 1))
    result = fire_due_timers()
    assert list(result.failed) == [instance_of(broken.id).id]
    assert result.fired == [instance_of(healthy.id).id]
    assert [t.bpmn_id for t in open_tasks(healthy.id)] == ["after_notice"]
    assert instance_of(broken.id).error and fire_due_timers().failed == {}  # not retried blindly
    db.session.execute(update(ProcessInstance).where(ProcessInstance.id == instance_of(broken.id).id).values(state=good_state))
    db.session.commit()
    retry_instance("admin", instance_of(broken.id).id)
    assert fire_due_timers().fired == [instance_of(broken.id).id]
    assert [t.bpmn_id for t in open_tasks(broken.id)] == ["decide"]
    assert verify_record() == []


def test_near_due_and_overdue_tasks_notify_assignee_and_unit_head_once(ctx, people, mini, frozen):
    case = start_case(user("a_handler1"), "mini", PARTY, {"proposed_fine": 1})
    [task] = open_tasks(case.id)  # due 24:00 Thu 03-05, warned from 00:00 Thu
    frozen.set(at(2026, 3, 5, 8))
    assert fire_due_timers().near_due == 1
    assert fire_due_timers().near_due == 0
    frozen.set(at(2026, 3, 6, 8))
    assert fire_due_timers().overdue == 1
    # Pool offers ("offered", tests/test_notifications_delivery.py) are another kind; deadlines notify once each.
    deadline_notes = select(Notification).where(Notification.task_id == task.id, Notification.kind != "offered")
    notes = {(n.user_id, n.kind) for n in db.session.scalars(deadline_notes)}
    head = user("a_head").id
    assert notes == {(head, "near"), (head, "overdue")}


def test_case_clock_runs_ninety_days_pauses_and_takes_approved_extensions(ctx, people, mini, frozen):
    case = start_case(user("a_handler1"), "mini_timer", PARTY, {"notice_on": "2026-03-02", "start_clock": True})
    # 90 natural days after Mon 03-02 is Sun 05-31 -> next working day Mon 06-01, ends 24:00.
    assert case.clock_state == "running" and case.clock_deadline == at(2026, 6, 2)
    frozen.set(at(2026, 3, 10, 9))
    suspend_case(user("a_chief"), case.id, "等待检验结果", ground="other")
    frozen.set(at(2026, 3, 20, 9))
    resume_case(user("a_chief"), case.id, "检验结果已出")
    db.session.refresh(case)
    assert case.paused_days == 10 and case.clock_deadline == at(2026, 6, 11)  # 100 days -> Wed 06-10
    with pytest.raises(Forbidden):
        extend_case_clock(user("a_head"), case.id, 30, "案情复杂")
    extend_case_clock(user("a_chief"), case.id, 30, "案情复杂，经负责人批准延长 30 日")
    db.session.refresh(case)
    assert case.clock_deadline == at(2026, 7, 11)  # 130 days -> Fri 07-10
    with pytest.raises(Forbidden, match="集体讨论"):
        extend_case_clock(user("a_chief"), case.id, 10, "再次延长")
    extend_case_clock(user("a_chief"), case.id, 10, "经集体讨论决定再次延长", collective_discussion=True,
                      discussion_on="2026-03-20", discussion_number="集讨〔2026〕3号")
    db.session.refresh(case)
    assert case.extensions == 2 and case.clock_deadline == at(2026, 7, 21)  # 140 days -> Mon 07-20
    frozen.set(at(2026, 7, 21, 0, 0, 1))
    assert fire_due_timers().clocks_overdue == 1
    assert db.session.get(Case, case.id).clock_state == "overdue"
    actions = [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id))]
    assert {"case.clock_start", "case.clock_pause", "case.clock_resume", "case.clock_extended", "case.clock_overdue"} <= set(actions)


def test_shipped_ordinary_procedure_starts_the_case_clock_at_filing(ctx, people, frozen):
    from tests.conftest import ROOT, deploy_dir

    deploy_dir(ROOT)
    case = start_case(user("a_handler1"), "ordinary", {"party_type": "organization", "party_name": "某某公司"},
                      {"violation": "未公示", "penalty_kind": "fine", "proposed_fine": 20000})
    [lead] = open_tasks(case.id)
    complete_task(user("a_handler1"), lead.id, {
        "lead_source": "inspection", "lead_received_on": "2026-03-02", "lead_summary": "检查发现",
        "verification_findings": "属实", "filing_recommendation": "file", "recommendation_reason": "应予立案"})
    assert db.session.get(Case, case.id).clock_state is None  # not filed yet: no case clock
    [filing] = open_tasks(case.id)
    complete_task(user("a_head"), filing.id, {
        "filing_decision": "file", "case_cause": "未按规定公示", "filed_on": "2026-03-03",
        "assigned_handlers": ["a_handler1", "a_handler2"], "filing_opinion": "同意立案"})
    case = db.session.get(Case, case.id)
    # 90 natural days after Tue 03-03 is Mon 06-01 (a working day), ending at 24:00.
    assert case.clock_state == "running" and case.clock_started_on == dt.date(2026, 3, 3)
    assert case.clock_deadline == at(2026, 6, 2)


def test_open_case_clock_keeps_its_limit_until_the_change_is_applied(ctx, people, mini, frozen):
    case = start_case(user("a_handler1"), "mini_timer", PARTY, {"notice_on": "2026-03-02", "start_clock": True})
    assert case.clock_deadline == at(2026, 6, 2)
    set_time_limit(user("admin"), "case_decision", 60, "natural_days", "测试：缩短办案期限")
    suspend_case(user("a_chief"), case.id, "中止", ground="force_majeure")
    frozen.set(at(2026, 3, 3, 9))
    resume_case(user("a_chief"), case.id, "恢复")
    case = db.session.get(Case, case.id)
    # 91 days on the limit it started with: Mon 06-01, ends 24:00 (the 60-day limit is not used yet)
    assert case.paused_days == 1 and case.clock_deadline == at(2026, 6, 2)
    [change] = [c for c in preview_limit_change("case_decision") if c.kind == "clock"]
    # 61 days: Sat 05-02, inside the Labour Day holiday (05-01..05-05) -> Wed 05-06, ends 24:00
    assert change.case_id == case.id and change.new_due == at(2026, 5, 7).isoformat()
    apply_limit_change(user("admin"), "case_decision", "同步适用")
    assert db.session.get(Case, case.id).clock_deadline == at(2026, 5, 7)


def test_terminated_case_stops_its_clock_and_is_not_recorded_as_closed(ctx, people, mini, frozen):
    case = start_case(user("a_handler1"), "mini_timer", PARTY, {"notice_on": "2026-03-02", "start_clock": True})
    from engine.runtime import terminate_case

    terminate_case(user("a_chief"), case.id, "依法终止调查", ground="time_barred")
    case = db.session.get(Case, case.id)
    assert case.status == "terminated" and case.clock_state == "stopped"
    actions = [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id))]
    assert "case.closed" not in actions and actions[-1] == "case.terminated"
    frozen.set(at(2026, 7, 1, 9))
    assert fire_due_timers().clocks_overdue == 0
