"""The decision is checked as decided, not as proposed (issue 13, items 1–3).

After the agency head decides a penalty, the ordinary procedure asks the hearing, legal-review and
collective-discussion tables again with the *decided* kind and amount, and compares the decision with
the notice in kind and amount (法 Art. 9's order of kinds; assess_decision in processes/ordinary.bpmn).
A decision that cannot stand never reaches 制作行政处罚决定书: the case goes back, on a lawful path,
with ``returned_because`` naming the rule and article and what to do, and the 行政处罚决定审批表 it
produced is voided. The case clock stops only at a decision that stands.

Each scenario runs by engine command and through the HTTP API (the ``run`` driver).
"""

from __future__ import annotations

from sqlalchemy import select

from engine.models import AuditEvent, db
from tests.support.decided_penalty import notice, to_report
from tests.support.driver import run  # noqa: F401  (the scenario fixture)
from tests.support.hearing import APPROVE, SUBMIT
from tests.support.sample_forms import STATEMENT, report
from tests.support.scenarios import CITIZEN, COMPANY, ISSUE

APPROVAL = "行政处罚决定审批表"
NOT_REQUESTED = {"hearing_requested": False}
DISCUSSION = {"discussion_at": "2026-04-16T15:00:00+08:00", "discussion_summary": "同意", "discussion_conclusion": "penalty",
              "discussion_participants": [{"name": n, "position": "局领导"} for n in ("甲", "乙", "丙")]}


def decided(kind: str, fine: float, penalty: str) -> dict:
    return {"decision_outcome": "penalty", "decided_penalty_kind": kind, "decided_fine": fine, "decided_penalty": penalty,
            "decision_reasoning": "事实清楚，证据确凿", "decided_on": "2026-04-01"}


def clock_stops(run) -> int:  # noqa: F811
    db.session.remove()
    return len(db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == run.case_id,
                                                           AuditEvent.action == "case.clock_stop")).all())


def assert_refused(run, lands_on: str, *phrases: str) -> str:  # noqa: F811
    """The refused decision: back on ``lands_on`` with the reason, its 审批表 void, the clock still running."""
    assert run.ready() == [lands_on]
    reason = run.returned_because(lands_on)
    assert reason and all(p in reason for p in phrases), reason
    approvals = run.documents(APPROVAL)
    assert approvals[-1]["voided"] and approvals[-1]["void_reason"] == reason
    assert run.case.clock_state == "running" and clock_stops(run) == 0  # 法 Art. 60: no decision stands yet
    return reason


# ------------------------------------------------------------------------------ item 1: the decided penalty
def test_no_penalty_proposed_then_a_large_fine_decided_offers_a_hearing_and_needs_review(run):  # noqa: F811
    """Proposing 不予处罚 and deciding ¥50,000 on a citizen: not without notice (法 Art. 44, 62), with the
    hearing right (Art. 63: ≥10,000 元), a legal review (Art. 58) and a collective discussion (本机关标准)."""
    to_report(run, CITIZEN, outcome="no_penalty_minor", kind="warning", fine=0, discretion_tier="no_penalty")
    assert run.ready() == ["decide"]  # nothing proposed: no notice, no review, no hearing
    run.complete("decide", "a_chief", decided("fine", 50000, "罚款50000元"))
    reason = assert_refused(run, "notify_party", "罚款 50000.00 元", "第四十四条", "第六十二条", "要求听证", "已退回事先告知")
    assert "issue_penalty_decision" not in run.done
    data = run.data
    assert (data["proposed_outcome"], data["penalty_kind"], data["proposed_fine"]) == ("penalty", "fine", 50000)
    assert "returned_because" not in data  # taken by the step it landed on, not inherited by later steps
    run.complete("notify_party", "a_handler1", notice("罚款50000元", 50000, hearing=True))
    assert run.ready() == ["record_hearing_request"]  # the hearing right is offered (法 Art. 63, 64)
    assert run.returned_because("record_hearing_request") is None
    run.complete("record_hearing_request", "a_handler1", NOT_REQUESTED)
    run.complete("record_statement", "a_handler1", {"statement_waived": True})
    assert run.ready() == ["submit_review"]  # the legal review before the decision (法 Art. 58)
    run.complete("submit_review", "a_handler1", SUBMIT)
    run.complete("review", "a_reviewer", APPROVE)
    assert run.ready() == ["collective_discussion"]  # ≥ 50,000 元 on a citizen (本机关标准, 法 Art. 57)
    run.complete("collective_discussion", "a_chief", DISCUSSION)
    run.complete("decide", "a_chief", decided("fine", 50000, "罚款50000元"))
    assert run.ready() == ["issue_penalty_decision"]
    assert run.case.clock_state == "stopped" and clock_stops(run) == 1
    assert [d["voided"] for d in run.documents(APPROVAL)] == [True, False]
    assert run.returned_because("issue_penalty_decision") is None and reason


def test_a_decision_needing_a_hearing_the_notice_did_not_offer_goes_back_to_the_notice(run):  # noqa: F811
    """Proposal 5,000 元 (no hearing); the notice named 20,000 元; 15,000 元 decided is within the notice
    but needs the hearing right (法 Art. 63), which was never offered."""
    to_report(run, CITIZEN, fine=5000)
    run.complete("notify_party", "a_handler1", notice("罚款20000元", 20000))
    assert run.ready() == ["record_statement"]  # no hearing right on the notice: 5,000 元 was proposed
    run.complete("record_statement", "a_handler1", STATEMENT)
    run.complete("decide", "a_chief", decided("fine", 15000, "罚款15000元"))
    assert_refused(run, "notify_party", "罚款 15000.00 元", "对公民处以一万元以上罚款", "第六十三条", "有权要求听证")
    run.complete("notify_party", "a_handler1", notice("罚款15000元", 15000, hearing=True))
    assert run.ready() == ["record_hearing_request"]


def test_a_decision_needing_a_legal_review_goes_back_to_review_then_to_the_agency_head(run):  # noqa: F811
    """限制从业 proposed (hearing, no review); the notice added a 20,000 元 fine; 限制从业 with 15,000 元
    decided is within the notice but needs a legal review (法 Art. 58: ≥10,000 元 on a citizen)."""
    to_report(run, CITIZEN, kind="employment_restriction", fine=0, proposed_penalty="限制从业三年")
    assert run.ready() == ["notify_party"]
    run.complete("notify_party", "a_handler1", notice("限制从业三年，并处罚款20000元", 20000, hearing=True))
    run.complete("record_hearing_request", "a_handler1", NOT_REQUESTED)
    run.complete("record_statement", "a_handler1", STATEMENT)
    run.complete("decide", "a_chief", decided("employment_restriction", 15000, "限制从业三年，并处罚款15000元"))
    assert run.ready() == ["submit_review"]  # back to the legal review (法 Art. 58)
    assert run.case.clock_state == "running" and clock_stops(run) == 0
    run.complete("submit_review", "a_handler1", SUBMIT)
    run.complete("review", "a_reviewer", APPROVE)
    # The agency head decides again; the step says why it came back (the review ran in between).
    assert run.ready() == ["decide"]
    reason = run.returned_because("decide")
    assert "限制从业，并处罚款 15000.00 元" in reason and "第五十八条" in reason and "审核通过后" in reason
    assert run.documents(APPROVAL)[-1]["voided"]
    run.complete("decide", "a_chief", decided("employment_restriction", 15000, "限制从业三年，并处罚款15000元"))
    assert run.ready() == ["issue_penalty_decision"] and clock_stops(run) == 1


def test_a_decision_needing_a_collective_discussion_goes_back_to_it(run):  # noqa: F811
    """30,000 元 proposed and reviewed; the notice named 60,000 元; 55,000 元 decided is within the notice
    but is a 重大违法行为 by the agency's standard (≥50,000 元 on a citizen): 法 Art. 57(2)."""
    to_report(run, CITIZEN, fine=30000)
    run.complete("submit_review", "a_handler1", SUBMIT)
    run.complete("review", "a_reviewer", APPROVE)
    run.complete("notify_party", "a_handler1", notice("罚款60000元", 60000, hearing=True))
    run.complete("record_hearing_request", "a_handler1", NOT_REQUESTED)
    run.complete("record_statement", "a_handler1", STATEMENT)
    assert run.ready() == ["decide"]  # 30,000 元 proposed: no collective discussion on the way
    run.complete("decide", "a_chief", decided("fine", 55000, "罚款55000元"))
    assert_refused(run, "collective_discussion", "罚款 55000.00 元", "集体讨论", "第五十七条第二款")
    run.complete("collective_discussion", "a_chief", DISCUSSION)
    run.complete("decide", "a_chief", decided("fine", 55000, "罚款55000元"))
    assert run.ready() == ["issue_penalty_decision"]


# ------------------------------------------------------------------------------ item 2: heavier in kind
def test_a_fine_notified_then_licence_revocation_decided_goes_back_to_the_notice(run):  # noqa: F811
    to_report(run, COMPANY, fine=5000)
    run.complete("notify_party", "a_handler1", notice("罚款5000元", 5000))
    run.complete("record_statement", "a_handler1", STATEMENT)
    run.complete("decide", "a_chief", decided("licence_revocation", 0, "吊销食品经营许可证"))
    assert_refused(run, "notify_party", "决定的处罚（吊销许可证件）重于事先告知的处罚（罚款 5000.00 元）",
                   "第四十五条", "请按决定的处罚重新告知当事人", "有权要求听证")
    data = run.data
    assert (data["penalty_kind"], data["proposed_fine"], data["proposed_penalty"]) == ("licence_revocation", 0, "吊销食品经营许可证")
    run.complete("notify_party", "a_handler1", notice("吊销食品经营许可证", 0, hearing=True))
    assert run.ready() == ["record_hearing_request"]  # 吊销许可证件: a new hearing right (法 Art. 63)
    run.complete("record_hearing_request", "a_handler1", NOT_REQUESTED)
    run.complete("record_statement", "a_handler1", STATEMENT)
    assert run.ready() == ["submit_review"]  # the review of the fine does not cover a revocation (法 Art. 58)
    run.complete("submit_review", "a_handler1", SUBMIT)
    run.complete("review", "a_reviewer", APPROVE)
    run.complete("collective_discussion", "a_chief", DISCUSSION)
    run.complete("decide", "a_chief", decided("licence_revocation", 0, "吊销食品经营许可证"))
    assert run.ready() == ["issue_penalty_decision"]
    run.complete("issue_penalty_decision", "a_handler1", ISSUE)
    assert run.case.clock_state == "stopped"


def test_the_review_of_the_notified_fine_does_not_cover_a_heavier_decision(run):  # noqa: F811
    """20,000 元 proposed, reviewed and notified; 25,000 元 decided: a new notice, then a new review of
    25,000 元 before the agency head may decide again (法 Art. 58)."""
    to_report(run, CITIZEN, fine=20000)
    run.complete("submit_review", "a_handler1", SUBMIT)
    run.complete("review", "a_reviewer", APPROVE)
    run.complete("notify_party", "a_handler1", notice("罚款20000元", 20000, hearing=True))
    run.complete("record_hearing_request", "a_handler1", NOT_REQUESTED)
    run.complete("record_statement", "a_handler1", STATEMENT)
    run.complete("decide", "a_chief", decided("fine", 25000, "罚款25000元"))
    assert_refused(run, "notify_party", "（罚款 25000.00 元）重于事先告知的处罚（罚款 20000.00 元）")
    run.complete("notify_party", "a_handler1", notice("罚款25000元", 25000, hearing=True))
    run.complete("record_hearing_request", "a_handler1", NOT_REQUESTED)
    run.complete("record_statement", "a_handler1", STATEMENT)
    assert run.ready() == ["submit_review"]
    run.complete("submit_review", "a_handler1", SUBMIT)
    run.complete("review", "a_reviewer", APPROVE)
    run.complete("decide", "a_chief", decided("fine", 25000, "罚款25000元"))
    assert run.ready() == ["issue_penalty_decision"]


def test_adding_a_kind_to_the_notified_fine_is_heavier(run):  # noqa: F811
    """警告 and 罚款 5,000 元 decided after 罚款 5,000 元 notified: a combination that adds a kind."""
    to_report(run, COMPANY, fine=5000)
    run.complete("notify_party", "a_handler1", notice("罚款5000元", 5000))
    run.complete("record_statement", "a_handler1", STATEMENT)
    run.complete("decide", "a_chief", decided("warning", 5000, "警告，并处罚款5000元"))
    assert_refused(run, "notify_party", "（警告，并处罚款 5000.00 元）重于事先告知的处罚（罚款 5000.00 元）", "第四十五条")


def confiscation_notified(run) -> None:  # noqa: F811
    to_report(run, COMPANY, kind="confiscation", fine=0, confiscation_amount=5000, proposed_penalty="没收违法所得5000元")
    run.complete("notify_party", "a_handler1", notice("没收违法所得5000元", 0))
    run.complete("record_statement", "a_handler1", STATEMENT)


def test_a_lighter_kind_instead_of_the_notified_one_stands(run):  # noqa: F811
    """没收 notified (法 Art. 9(2)); 警告 (Art. 9(1)) decided instead: lighter, the decision stands."""
    confiscation_notified(run)
    run.complete("decide", "a_chief", decided("warning", 0, "警告"))
    assert run.ready() == ["issue_penalty_decision"] and clock_stops(run) == 1
    assert run.documents(APPROVAL)[-1]["voided"] is False


def test_another_kind_of_the_same_weight_needs_a_new_notice(run):  # noqa: F811
    """限制从业 notified; 责令停产停业 decided instead: the same tier of 法 Art. 9(4), but a penalty the
    party was never told of."""
    to_report(run, CITIZEN, kind="employment_restriction", fine=0, proposed_penalty="限制从业三年")
    run.complete("notify_party", "a_handler1", notice("限制从业三年", 0, hearing=True))
    run.complete("record_hearing_request", "a_handler1", NOT_REQUESTED)
    run.complete("record_statement", "a_handler1", STATEMENT)
    run.complete("decide", "a_chief", decided("suspension", 0, "责令停产停业六个月"))
    assert_refused(run, "notify_party", "决定的处罚（责令停产停业）重于事先告知的处罚（限制从业）", "第四十五条")


def test_a_fine_instead_of_a_notified_confiscation_needs_a_new_notice(run):  # noqa: F811
    confiscation_notified(run)
    run.complete("decide", "a_chief", decided("fine", 3000, "罚款3000元"))
    assert_refused(run, "notify_party", "（罚款 3000.00 元）重于事先告知的处罚（没收违法所得、没收非法财物）", "第四十五条")


def test_a_fine_above_the_notified_amount_goes_back_to_the_notice(run):  # noqa: F811
    to_report(run, COMPANY, fine=5000)
    run.complete("notify_party", "a_handler1", notice("罚款5000元", 5000))
    run.complete("record_statement", "a_handler1", STATEMENT)
    run.complete("decide", "a_chief", decided("fine", 5000.01, "罚款5000.01元"))
    assert_refused(run, "notify_party", "（罚款 5000.01 元）重于事先告知的处罚（罚款 5000.00 元）",
                   "不得因当事人陈述、申辩而给予更重的处罚")


# ------------------------------------------------------------------------------ item 3: existing returns say why
def test_a_report_outside_the_discretion_benchmark_is_returned_with_its_range(run):  # noqa: F811
    to_report(run, COMPANY, fine=5000, violation_code="sample_10k_50k", discretion_tier="general")
    assert run.ready() == ["investigation_report"]
    reason = run.returned_because("investigation_report")
    assert "拟罚款 5000.00 元超出裁量基准的罚款幅度（22000.00 元至 38000.00 元" in reason and "第三十四条" in reason
    [document] = run.documents("调查终结报告")
    assert document["voided"] and document["void_reason"] == reason
    run.complete("investigation_report", "a_handler1", report(fine=30000, violation_code="sample_10k_50k",
                                                              discretion_tier="general"))
    assert run.ready() == ["notify_party"]  # within 22,000–38,000 元
    assert [d["voided"] for d in run.documents("调查终结报告")] == [True, False]
