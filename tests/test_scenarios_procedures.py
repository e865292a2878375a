"""Every shipped procedure worked to its end on the database, by real officers, twice over:
through the engine commands and through the HTTP API (submitting only fields of the form schema the
API returned). Runs on SQLite, and on PostgreSQL with ZHIFA_TEST_DATABASE_URL.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from engine.errors import Forbidden
from engine.models import ProcessInstance, Task, db
from engine.runtime import claim_task, complete_task, start_case
from engine.runtime.case_clock import extend_case_clock
from tests.conftest import ROOT, deploy_dir, make_user, user
from tests.support import driver as support
from tests.support.commitment import CLOSING, COMMIT, DECLINE, REGISTER, REPORTED, VERIFIED
from tests.support.driver import Driver
from tests.support.hearing import (
    APPROVE,
    CONDUCT,
    HEARING_REPORT,
    HEARING_REQUEST,
    RECORD,
    RETURN,
    SUBMIT,
    SUPPLEMENT,
    hearing_notice,
)
from tests.support.sample_forms import (
    CLOSE,
    FILING_RECORD,
    LEAD_FILE,
    LEAD_NOT_FILE,
    PAID,
    SERVE,
    SIMPLIFIED_CLOSING,
    STATEMENT,
    decision,
    notice,
    report,
)
from tests.support.scenarios import CITIZEN, COMPANY, FILE_CASE, INVESTIGATION, ISSUE, SH, at, onspot, to_report

STAFF = {"hearing_host": ["a_host"], "hearing_clerk": ["a_clerk"], "recusal_requested": False, "designated_on": "2026-03-26"}


run = support.run  # the scenario fixture (tests/support/driver.py)


# ------------------------------------------------------------------------------------------ simplified
def test_simplified_warning(run):
    run.start("simplified", CITIZEN, {"violation": "占道经营", "penalty_kind": "warning", "proposed_fine": 0})
    run.complete("onspot_decision", "a_handler1", onspot("warning", 0))
    assert run.ready() == ["filing_record"]
    run.complete("filing_record", "a_handler1", FILING_RECORD)
    run.complete("close_case", "a_handler1", SIMPLIFIED_CLOSING)
    assert run.case.status == "closed"


def test_simplified_fine_paid_at_the_bank(run):
    run.start("simplified", COMPANY, {"violation": "未明码标价", "penalty_kind": "fine", "proposed_fine": 2000})
    run.complete("onspot_decision", "a_handler1", onspot("fine", 2000))
    run.complete("filing_record", "a_handler1", FILING_RECORD)
    run.complete("collect_payment", "a_handler1",
                 {"payment_method": "bank", "payment_status": "paid", "paid_amount": 2000, "paid_on": "2026-03-10"})
    run.complete("close_case", "a_handler1", SIMPLIFIED_CLOSING)
    assert run.case.status == "closed"


def test_simplified_party_refuses_to_sign(run):
    run.start("simplified", CITIZEN, {"violation": "占道经营", "penalty_kind": "warning", "proposed_fine": 0})
    refused = onspot("warning", 0, party_signature="refused", refusal_note="当事人拒绝签收，已在决定书上注明")
    run.complete("onspot_decision", "a_handler1", refused)
    run.complete("filing_record", "a_handler1", FILING_RECORD)
    run.complete("close_case", "a_handler1", SIMPLIFIED_CLOSING)
    assert run.case.status == "closed"
    assert run.data["party_signature"] == "refused"


def test_simplified_refuses_a_fine_over_its_threshold(run):
    run.start("simplified", CITIZEN, {"violation": "销售过期食品", "penalty_kind": "fine", "proposed_fine": 201})
    assert run.ready() == [] and run.case.status == "closed"
    assert run.data["simplified_refused"] is True


# ------------------------------------------------------------------------------------------ ordinary
def finish_penalty(run: Driver, fine: float) -> None:
    run.complete("issue_penalty_decision", "a_handler1", ISSUE)
    run.complete("serve_decision", "a_handler2", SERVE)
    run.frozen.set(at("2026-04-16"))  # paid within 15 days of service on 04-02 (法 Art. 67): no surcharge
    run.complete("record_payment", "a_handler1", PAID(fine, "2026-04-16"))
    run.complete("close_case", "a_head", CLOSE)
    assert run.case.status == "closed"


def test_ordinary_not_filed(run):
    run.start("ordinary", CITIZEN, {"violation": "未明码标价"})
    run.complete("register_lead", "a_handler1", LEAD_NOT_FILE)
    run.complete("approve_not_filing", "a_head",
                 {"not_filing_decision": "approve", "not_filing_opinion": "同意", "not_filing_decided_on": "2026-03-06"})
    assert run.case.status == "closed" and run.case.clock_state is None


def test_ordinary_no_response_then_decision_service_payment_closing(run):
    to_report(run, 5000)
    assert run.case.clock_state == "running"
    run.complete("notify_party", "a_handler1", notice(5000, served_on="2026-03-23"))
    assert run.ready() == ["record_statement"]
    run.tick(at("2026-03-30", 23))  # the fifth working day after Mon 03-23 has not ended
    assert run.ready() == ["record_statement"]
    run.tick(dt.datetime(2026, 3, 31, 0, 0, 1, tzinfo=SH))
    assert run.ready() == ["decide"]  # silence is waiver (法 Art. 62)
    run.complete("decide", "a_chief", decision(fine=5000))
    assert run.case.clock_state == "stopped"
    finish_penalty(run, 5000)


def test_ordinary_defence_accepted_and_penalty_lowered(run):
    to_report(run, 5000)
    run.complete("notify_party", "a_handler1", notice(5000))
    run.complete("record_statement", "a_handler1", {**STATEMENT, "statement_adopted": "adopted"})
    run.complete("decide", "a_chief", decision(fine=6000))  # 法 Art. 45: never heavier than notified
    assert run.ready() == ["notify_party"]  # back to the notice with the heavier penalty (tests/test_decided_penalty.py)
    run.complete("notify_party", "a_handler1", notice(6000))
    run.complete("record_statement", "a_handler1", {**STATEMENT, "statement_adopted": "adopted"})
    run.complete("decide", "a_chief", decision(fine=3000))
    assert run.data["decided_fine"] == 3000
    finish_penalty(run, 3000)


def test_ordinary_hearing_review_returned_collective_discussion_decision(run):
    to_report(run, 150000, complex_case=True)
    run.complete("submit_review", "a_handler1", SUBMIT)
    run.complete("review", "a_reviewer", APPROVE)
    run.complete("notify_party", "a_handler1", {**notice(150000, served_on="2026-03-23"), "hearing_right_informed": True})
    run.complete("record_hearing_request", "a_handler1", HEARING_REQUEST)
    assert run.case.clock_state == "paused"
    run.complete("designate_hearing_staff", "a_chief", STAFF)
    run.complete("serve_hearing_notice", "a_clerk", hearing_notice("2026-04-01"))
    assert run.ready() == ["serve_hearing_notice"]  # fewer than 7 working days' notice
    run.complete("serve_hearing_notice", "a_clerk", hearing_notice("2026-04-08"))
    run.complete("conduct_hearing", "a_host", CONDUCT)
    run.complete("record_hearing", "a_clerk", RECORD)
    run.complete("hearing_report", "a_host", HEARING_REPORT)
    case = run.case
    assert case.clock_state == "running" and case.paused_days == 16  # 03-25 → 04-10 not counted
    assert case.clock_deadline == dt.datetime(2026, 3, 3, tzinfo=SH) + dt.timedelta(days=90 + 16 + 1)
    run.complete("submit_review", "a_handler1", SUBMIT)
    run.complete("review", "a_reviewer", RETURN)
    run.complete("supplement_materials", "a_handler1", SUPPLEMENT)
    run.complete("review", "a_reviewer", APPROVE)
    assert run.ready() == ["collective_discussion"]
    run.complete("collective_discussion", "a_chief", {
        "discussion_at": "2026-04-16T15:00:00+08:00", "discussion_summary": "同意", "discussion_conclusion": "penalty",
        "discussion_participants": [{"name": n, "position": "局领导"} for n in ("甲", "乙", "丙")]})
    run.complete("decide", "a_chief", decision(fine=110000))
    finish_penalty(run, 110000)


def test_ordinary_transfer_to_the_judiciary(run):
    to_report(run, 0, outcome="transfer", kind="other")
    assert run.ready() == ["decide"]
    run.complete("decide", "a_chief", decision("transfer"))
    run.complete("transfer_case", "a_handler1",
                 {"receiving_authority": "某市公安局", "transferred_on": "2026-04-02", "transfer_materials": "全部案卷"})
    run.complete("close_case", "a_head", {**CLOSE, "closing_reason": "transferred"})
    assert run.case.status == "closed"


def test_ordinary_no_penalty_under_article_33(run):
    to_report(run, 0, outcome="no_penalty_minor", kind="warning", discretion_tier="no_penalty")
    run.complete("decide", "a_chief", decision("no_penalty_minor"))
    run.complete("issue_no_penalty_decision", "a_handler1", {"decision_issued_on": "2026-04-01", "education_given": True})
    run.complete("serve_decision", "a_handler1", SERVE)
    run.complete("close_case", "a_head", {**CLOSE, "closing_reason": "no_penalty"})
    assert run.case.status == "closed"


# ------------------------------------------------------------------------------------------ commitment
def test_commitment_rectified_closes_without_penalty(run):
    run.start("commitment_notice", COMPANY, {"violation": "未公示营业执照"})
    run.complete("register_violation", "a_handler1", REGISTER)
    run.complete("issue_commitment_notice", "a_handler1", COMMIT)
    run.complete("await_rectification", "a_handler1", REPORTED)
    run.complete("verify_rectification", "a_handler2", VERIFIED)
    run.complete("close_without_penalty", "a_chief", CLOSING)  # 不予处罚 is the agency head's decision (法 Art. 57)
    assert run.case.status == "closed" and run.case.clock_state is None


def test_commitment_declined_continues_as_ordinary(run):
    run.start("commitment_notice", COMPANY, {"violation": "未公示营业执照"})
    run.complete("register_violation", "a_handler1", REGISTER)
    run.complete("issue_commitment_notice", "a_handler1", DECLINE)
    assert run.ready() == ["register_lead"]
    assert run.data["continued_as"] == "ordinary"
    run.complete("register_lead", "a_handler1", LEAD_FILE)
    run.complete("file_case", "a_head", FILE_CASE)
    assert run.case.clock_state == "running" and run.case.procedure == "commitment_notice"


def test_commitment_not_rectified_by_the_deadline_continues_with_history(run):
    run.start("commitment_notice", COMPANY, {"violation": "未公示营业执照"})
    run.complete("register_violation", "a_handler1", REGISTER)
    run.complete("issue_commitment_notice", "a_handler1", COMMIT)
    run.tick(dt.datetime(2026, 3, 17, 0, 0, 1, tzinfo=SH))  # 10 working days after Mon 03-02 have ended
    assert run.ready() == ["verify_rectification"]
    run.complete("verify_rectification", "a_handler2", {**VERIFIED, "rectified": False, "verification_notes": "未整改"})
    assert run.ready() == ["register_lead"]
    data = run.data
    assert data["commitment_outcome"] == "not_rectified" and data["violation_description"] == REGISTER["violation_description"]
    history = {t.bpmn_id: t.status for t in db.session.scalars(select(Task).where(Task.case_id == run.case_id))}
    assert history == {"register_violation": "completed", "issue_commitment_notice": "completed",
                       "await_rectification": "cancelled", "verify_rectification": "completed", "register_lead": "open"}
    assert db.session.scalars(select(ProcessInstance).where(ProcessInstance.case_id == run.case_id)).one()  # one case, one record


# ------------------------------------------------------------------------------------------ hard rules
def test_hearing_host_cannot_be_a_handler_of_the_case(ctx, people, frozen):
    """法 Art. 64(4): an officer designated as handler may not host the hearing, even holding the role."""
    deploy_dir(ROOT)
    make_user("a_both", "unit_a", ["handler", "hearing_host"], ("law_enforcement",))
    make_user("a_host", "unit_a", ["hearing_host"], ("law_enforcement",))
    make_user("a_clerk", "unit_a", ["hearing_clerk"], ())
    make_user("a_both_reviewer", "unit_a", ["legal_reviewer", "handler"], ("law_enforcement", "legal_qualification"))
    drv = Driver("engine", None, frozen)
    drv.start("ordinary", COMPANY, {"violation": "未明码标价", "penalty_kind": "fine", "proposed_fine": 150000})
    drv.complete("register_lead", "a_handler1", LEAD_FILE)
    drv.complete("file_case", "a_head", {**FILE_CASE, "assigned_handlers": ["a_handler1", "a_both", "a_both_reviewer"]})
    drv.complete("investigate", "a_both_reviewer", {**INVESTIGATION, "co_investigators": ["a_handler1"]})
    drv.complete("investigation_report", "a_handler1", report(fine=150000))
    drv.complete("submit_review", "a_handler1", SUBMIT)
    drv.complete("review", "a_reviewer", APPROVE)
    drv.complete("notify_party", "a_handler1", notice(150000, served_on="2026-03-23"))
    drv.complete("record_hearing_request", "a_handler1", HEARING_REQUEST)
    designation = drv.task("designate_hearing_staff")
    from engine.errors import InvalidInput

    with pytest.raises(InvalidInput, match="回避"):  # refused when chosen, not only when the host acts
        complete_task(user("a_chief"), designation.id, {**STAFF, "hearing_host": ["a_both"]})
    drv.complete("designate_hearing_staff", "a_chief", {**STAFF, "hearing_host": ["a_host"]})
    drv.complete("serve_hearing_notice", "a_clerk", hearing_notice("2026-04-08"))
    hearing = drv.task("conduct_hearing")
    with pytest.raises(Forbidden, match="回避"):
        claim_task(user("a_both"), hearing.id)
    with pytest.raises(Forbidden, match="回避"):
        complete_task(user("a_both"), hearing.id, CONDUCT)
    claim_task(user("a_host"), hearing.id)
    complete_task(user("a_host"), hearing.id, CONDUCT)
    drv.complete("record_hearing", "a_clerk", RECORD)
    drv.complete("hearing_report", "a_host", HEARING_REPORT)
    review = drv.task("submit_review")
    complete_task(user("a_handler1"), review.id, SUBMIT)
    review = drv.task("review")
    # The legal reviewer after the hearing is under the same rule: who investigated may not review.
    with pytest.raises(Forbidden, match="回避"):
        claim_task(user("a_both_reviewer"), review.id)
    claim_task(user("a_reviewer"), review.id)


def test_investigation_needs_two_credentialed_handlers(run):
    run.start("ordinary", CITIZEN, {"violation": "未明码标价"})
    run.complete("register_lead", "a_handler1", LEAD_FILE)
    task = run.task("file_case")
    from engine.errors import InvalidInput

    with pytest.raises(InvalidInput):
        complete_task(user("a_head"), task.id, {**FILE_CASE, "assigned_handlers": ["a_handler1", "a_nocred"]})
    with pytest.raises(InvalidInput):
        complete_task(user("a_head"), task.id, {**FILE_CASE, "assigned_handlers": ["a_handler1"]})


def test_ordinary_is_startable_though_called_but_hearing_and_review_are_not(ctx, people, frozen):
    """告知承诺制 calls the ordinary procedure; the marker in ordinary.bpmn keeps it startable on its own."""
    from engine.errors import InvalidInput

    deploy_dir(ROOT)
    assert start_case(user("a_handler1"), "ordinary", CITIZEN, {}).procedure == "ordinary"
    for procedure in ("hearing", "legal_review"):
        with pytest.raises(InvalidInput, match="只能由其他程序调用"):
            start_case(user("a_handler1"), procedure, CITIZEN, {})


# ------------------------------------------------------------------------------------------ year end
def test_ordinary_filed_in_december_runs_to_decision_on_a_provisional_2027_calendar(run):
    """立案 on 2026-12-04 with no 2027 notice entered: nothing is refused, 2027 deadlines are 暂定,
    and entering the 2027 notice moves the one it touches and clears the mark (DOMAIN.md 期间)."""
    run.frozen.set(at("2026-12-04", 9))
    for name in ("a_head", "admin"):
        run.api(name)  # tokens held before the case starts (a request in the test's context keeps its snapshot)
    run.start("ordinary", COMPANY, {"violation": "未明码标价", "penalty_kind": "fine", "proposed_fine": 5000})
    run.complete("register_lead", "a_handler1", {**LEAD_FILE, "lead_received_on": "2026-12-03"})
    run.complete("file_case", "a_head", {**FILE_CASE, "filed_on": "2026-12-04"})
    # 90 natural days from 12-04: Thu 2027-03-04, counted on weekends alone.
    status, body = run.api("a_head").get(f"/cases/{run.case_id}")
    assert status == 200
    assert body["clock"]["deadline"] == "2027-03-05T00:00:00+08:00" and body["clock"]["provisional"] is True
    status, body = run.api("admin").put("/calendar/2027", {
        "days": [{"date": "2027-01-01", "kind": "holiday", "name": "元旦"},
                 {"date": "2027-03-04", "kind": "holiday", "name": "测试假日"}],
        "reason": "国务院办公厅关于 2027 年部分节假日安排的通知（测试）"})
    assert status == 200, body
    assert {c["kind"] for c in body["recomputed"]} >= {"clock"}
    status, body = run.api("a_head").get(f"/cases/{run.case_id}")
    # The last day is now a holiday: the period ends on the next working day, Fri 03-05.
    assert body["clock"]["deadline"] == "2027-03-06T00:00:00+08:00" and body["clock"]["provisional"] is False
    assert not any(t["provisional"] for t in body["tasks"])
    run.complete("investigate", "a_handler1", INVESTIGATION)
    run.complete("investigation_report", "a_handler1", report(fine=5000))
    run.complete("notify_party", "a_handler1", notice(5000, served_on="2026-12-28"))
    run.tick(dt.datetime(2027, 1, 6, 0, 0, 1, tzinfo=SH))  # 12-29, 30, 31, (01-01), 01-04, 01-05
    assert run.ready() == ["decide"]
    run.complete("decide", "a_chief", decision(fine=5000))
    assert run.case.clock_state == "stopped"


def test_a_task_due_in_a_year_without_a_notice_is_marked_provisional_in_the_api(run):
    run.frozen.set(at("2026-12-28", 9))
    run.start("ordinary", COMPANY, {"violation": "未明码标价", "penalty_kind": "fine", "proposed_fine": 5000})
    [task] = [t for t in run.api("a_handler1").get(f"/cases/{run.case_id}")[1]["tasks"] if t["status"] == "open"]
    assert task["due_at"] > "2027" and task["provisional"] is True
    status, listed = run.api("a_handler1").get("/tasks", scope="available")
    assert status == 200 and any(t["id"] == task["id"] and t["provisional"] for t in listed["items"])


# ------------------------------------------------------------------------------------------ legal start points
def due(run: Driver, bpmn_id: str) -> dt.datetime:
    return run.task(bpmn_id).due_at.astimezone(SH)


def midnight(day: str) -> dt.datetime:
    """The exclusive end of a period whose last day is the day before ``day`` (24:00)."""
    return dt.datetime.fromisoformat(day).replace(tzinfo=SH)


def test_each_step_counts_from_the_date_the_law_names_not_from_its_creation(run):
    """The clock stands at 2026-03-02 throughout: every due date below comes from a recorded date."""
    run.start("ordinary", COMPANY, {"violation": "未明码标价", "penalty_kind": "fine", "proposed_fine": 150000,
                                    "lead_received_on": "2026-02-26"})
    # 立案 within 15 working days of the lead (SAMR Art. 18): 02-27, Sat 02-28 (调休上班), … last day Wed 03-18.
    assert due(run, "register_lead") == midnight("2026-03-19")
    run.complete("register_lead", "a_handler1", {**LEAD_FILE, "lead_received_on": "2026-02-26",
                                                 "verification_extension_approved": True,
                                                 "verification_extension_reason": "情况复杂，经负责人批准延长"})
    # With the approved extension: 30 working days, 清明 04-04..06 skipped, last day Thu 04-09.
    assert due(run, "file_case") == midnight("2026-04-10")
    assert run.task("file_case").counts_from == "lead_received_on"
    run.complete("file_case", "a_head", FILE_CASE)
    run.complete("investigate", "a_handler1", INVESTIGATION)
    run.complete("investigation_report", "a_handler1", report(fine=150000, complex_case=True))
    run.complete("submit_review", "a_handler1", SUBMIT)
    run.complete("review", "a_reviewer", APPROVE)
    run.complete("notify_party", "a_handler1", {**notice(150000, served_on="2026-03-23"), "hearing_right_informed": True})
    # The hearing request within 5 working days of service (法 Art. 64(1)): 03-24 … last day Mon 03-30.
    assert due(run, "record_hearing_request") == midnight("2026-03-31")
    run.complete("record_hearing_request", "a_handler1", HEARING_REQUEST)
    run.complete("designate_hearing_staff", "a_chief", STAFF)
    run.complete("serve_hearing_notice", "a_clerk", hearing_notice("2026-04-08"))
    run.complete("conduct_hearing", "a_host", CONDUCT)  # held 2026-04-08
    run.complete("record_hearing", "a_clerk", RECORD)
    # The hearing report within 5 working days after the hearing date: 04-09 … last day Wed 04-15.
    assert due(run, "hearing_report") == midnight("2026-04-16")
    run.complete("hearing_report", "a_host", HEARING_REPORT)
    run.complete("submit_review", "a_handler1", SUBMIT)
    run.complete("review", "a_reviewer", APPROVE)
    run.complete("collective_discussion", "a_chief", {
        "discussion_at": "2026-04-16T15:00:00+08:00", "discussion_summary": "同意", "discussion_conclusion": "penalty",
        "discussion_participants": [{"name": n, "position": "局领导"} for n in ("甲", "乙", "丙")]})
    # The decision is due when the case clock runs out (法 Art. 60), and moves with it.
    assert due(run, "decide") == run.case.clock_deadline.astimezone(SH)
    assert run.task("decide").counts_from == "case_clock"
    before = run.case.clock_deadline
    extend_case_clock(user("a_chief"), run.case_id, 10, "案情复杂，经负责人批准延长")
    # 10 more days from Wed 06-17 end on Sat 06-27: the period ends on Mon 06-29 instead.
    assert run.case.clock_deadline > before and due(run, "decide") == midnight("2026-06-30") == run.case.clock_deadline
    run.complete("decide", "a_chief", decision(fine=110000))  # decided_on 2026-04-01
    # 送达 within 7 working days of the decision date (法 Art. 61): 04-02, 04-03, 04-07 … last day Mon 04-13.
    assert due(run, "issue_penalty_decision") == midnight("2026-04-14")
    run.complete("issue_penalty_decision", "a_handler1", ISSUE)
    assert due(run, "serve_decision") == midnight("2026-04-14")
    assert run.task("serve_decision").starts_on == dt.date(2026, 4, 1)


def test_preservation_is_handled_within_seven_working_days_of_its_approval(run):
    run.start("ordinary", COMPANY, {"violation": "未明码标价", "penalty_kind": "fine", "proposed_fine": 5000})
    run.complete("register_lead", "a_handler1", LEAD_FILE)
    run.complete("file_case", "a_head", FILE_CASE)
    run.complete("investigate", "a_handler1", {**INVESTIGATION, "evidence_preservation_needed": True,
                                               "preservation_reason": "证据可能灭失"})
    run.complete("approve_preservation", "a_chief", {"preservation_decision": "approve", "preservation_opinion": "同意",
                                                    "preservation_approved_on": "2026-03-05"})
    # 法 Art. 56: 03-06, 03-09 … last day Mon 03-16 (the task was created on 03-02).
    assert due(run, "handle_preservation") == midnight("2026-03-17")


def test_a_task_says_which_date_it_counts_from(run):
    run.api("a_handler1")
    run.start("ordinary", COMPANY, {"violation": "未明码标价", "lead_received_on": "2026-02-26"})
    status, task = run.api("a_handler1").get(f"/tasks/{run.task('register_lead').id}")
    assert status == 200
    assert task["counts_from"] == {"field": "lead_received_on", "label": "发现线索或者收到材料日期", "date": "2026-02-26",
                                   "amount": 15, "unit": "working_days", "extended_by": None}
