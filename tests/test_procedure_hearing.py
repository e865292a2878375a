"""听证程序 and the new decision tables on bare SpiffWorkflow (straight and with a round trip per step).

Deadlines come from the real calendar (seeded holidays and time limits), so the 7-working-day
hearing notice period is checked across 清明 2026 the way a case would meet it.
"""

from __future__ import annotations

import datetime as dt

import pytest

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
from tests.support.library import Run, case, validate_form
from tests.support.sample_forms import CLOSE, INVESTIGATION, LEAD_FILE, PAID, SERVE, decision, notice, report

# The library's fixtures (``specs``, ``roundtrip``, ``frozen_timer_clock``, ``clock_calls``) are in tests/conftest.py.

FILE_CASE = {"filing_decision": "file", "case_cause": "销售不符合标准的商品", "filed_on": "2026-03-03",
             "assigned_handlers": ["officer1", "officer2"], "filing_opinion": "同意立案"}
STAFF = {"hearing_host": ["host1"], "hearing_clerk": ["clerk1"], "recusal_requested": False, "designated_on": "2026-03-26"}


def to_notice(run: Run, fine: float, **flags):
    run.complete("register_lead", LEAD_FILE)
    run.complete("file_case", FILE_CASE)
    run.complete("investigate", INVESTIGATION)
    run.complete("investigation_report", report(fine=fine, **flags))


def test_hearing_forms_accept_the_sample_data():
    for form, data in (("hearing_request", HEARING_REQUEST), ("hearing_staff_designation", STAFF),
                       ("hearing_notice", hearing_notice("2026-04-08")), ("hearing_conduct", CONDUCT), ("hearing_record", RECORD),
                       ("hearing_report", HEARING_REPORT), ("legal_review_opinion", RETURN), ("legal_review_supplement", SUPPLEMENT)):
        validate_form(form, data)


def test_hearing_then_review_returned_then_collective_discussion_then_decision(specs, roundtrip, clock_calls):
    run = Run(specs, "ordinary", case("organization", proposed_fine=150000), roundtrip)
    to_notice(run, 150000, complex_case=True)
    run.complete("submit_review", SUBMIT)  # 对单位罚款十万元以上：告知前法制审核
    run.complete("review", APPROVE)
    run.complete("notify_party", {**notice(150000, served_on="2026-03-23"), "hearing_right_informed": True})
    assert run.ready() == ["record_hearing_request"]
    assert run.data["hearing_eligible"] is True
    run.complete("record_hearing_request", HEARING_REQUEST)
    assert run.ready() == ["designate_hearing_staff"]
    run.complete("designate_hearing_staff", STAFF)
    # Served Thu 03-26: seven working days run to Tue 04-07 (清明 Apr 4–6), so 04-01 is too early.
    run.complete("serve_hearing_notice", hearing_notice("2026-04-01"))
    assert run.ready() == ["serve_hearing_notice"]
    run.complete("serve_hearing_notice", hearing_notice("2026-04-08"))
    assert run.ready() == ["conduct_hearing"]
    run.complete("conduct_hearing", CONDUCT)
    run.complete("record_hearing", RECORD)
    run.complete("hearing_report", HEARING_REPORT)
    # 法 Art. 58(2): the hearing procedure ends with a legal review of the hearing's proposal.
    assert run.ready() == ["submit_review"]
    assert run.wf.get_next_task(spec_name="legal_review_after_hearing") is not None
    run.complete("submit_review", SUBMIT)
    run.complete("review", RETURN)
    assert run.ready() == ["supplement_materials"]
    run.complete("supplement_materials", SUPPLEMENT)
    run.complete("review", APPROVE)
    assert run.ready() == ["collective_discussion"]  # 情节复杂 → 集体讨论 (DMN collective_discussion_required)
    data = run.data
    assert data["hearing_held"] is True and data["legal_review_passed"] is True
    assert data["proposed_fine"] == 110000 and data["collective_discussion_required"] is True
    assert "hearing_host" not in data and "check_discretion" not in data  # the hearing's working data stays inside
    assert [(e.action, e.on) for e in clock_calls if e.action in ("pause", "resume")] == [
        ("pause", dt.date(2026, 3, 25)), ("resume", dt.date(2026, 4, 10))]
    run.complete("collective_discussion", {"discussion_at": "2026-04-16T15:00:00+08:00", "discussion_summary": "同意",
                                           "discussion_conclusion": "penalty"})
    run.complete("decide", decision(fine=110000))
    assert run.ready() == ["issue_penalty_decision"]
    run.complete("issue_penalty_decision", {"decision_issued_on": "2026-04-17", "payment_instructions": "银行",
                                            "reconsideration_body": "某市人民政府", "court": "某区人民法院"})
    run.complete("serve_decision", SERVE)
    run.complete("record_payment", PAID(110000, "2026-04-16"))  # within 15 days of service on 04-02
    run.complete("close_case", CLOSE)
    assert run.wf.is_completed()


def to_hearing(run: Run) -> None:
    """Hearing requested, staff designated, notice served Thu 03-26 for Wed 04-08 (7 working days across 清明)."""
    to_notice(run, 15000)
    run.complete("submit_review", SUBMIT)
    run.complete("review", APPROVE)
    run.complete("notify_party", notice(15000))
    run.complete("record_hearing_request", HEARING_REQUEST)
    run.complete("designate_hearing_staff", STAFF)
    run.complete("serve_hearing_notice", hearing_notice("2026-04-08"))
    assert run.ready() == ["conduct_hearing"]


def absent(attendance: str, note: str) -> dict:
    data = {"hearing_held_on": "2026-04-08", "attendance": attendance, "absence_note": note}
    validate_form("hearing_conduct", data)
    return data


def test_unjustified_absence_waives_the_hearing_and_the_clock_resumes(specs, roundtrip, clock_calls):
    run = Run(specs, "ordinary", case(proposed_fine=15000), roundtrip)
    to_hearing(run)
    run.complete("conduct_hearing", absent("unjustified_absence", "经合法通知，无正当理由未到"))
    assert run.ready() == ["decide"]
    data = run.data
    assert data["hearing_waived"] is True and data["hearing_held"] is False
    assert [e.action for e in clock_calls if e.action in ("pause", "resume")] == ["pause", "resume"]


@pytest.mark.parametrize("attendance", ["justified_absence", "postponement_requested"])
def test_justified_absence_or_postponement_reschedules_the_hearing_with_a_new_notice(specs, roundtrip, clock_calls, attendance):
    run = Run(specs, "ordinary", case(proposed_fine=15000), roundtrip)
    to_hearing(run)
    reason = "当事人住院治疗，提交了医院证明" if attendance == "justified_absence" else "当事人申请延期，理由正当"
    run.complete("conduct_hearing", absent(attendance, reason))
    # 法 Art. 64: not a waiver; the hearing is held later, on a new notice served 7 working days before.
    assert run.ready() == ["serve_hearing_notice"]
    assert "hearing_waived" not in run.data or run.data["hearing_waived"] is False
    assert run.data["hearing_missed_on"] == "2026-04-08" and run.data["hearing_reschedule_reason"] == reason
    # Served Thu 04-09: seven working days run to Mon 04-20, so the new hearing can be on Tue 04-21 at the earliest.
    run.complete("serve_hearing_notice", hearing_notice("2026-04-20", served_on="2026-04-09"))
    assert run.ready() == ["serve_hearing_notice"]
    run.complete("serve_hearing_notice", hearing_notice("2026-04-21", served_on="2026-04-09"))
    assert run.ready() == ["conduct_hearing"]
    run.complete("conduct_hearing", {**CONDUCT, "hearing_held_on": "2026-04-21"})
    assert run.ready() == ["record_hearing"]
    run.complete("record_hearing", RECORD)
    run.complete("hearing_report", {**HEARING_REPORT, "hearing_recommended_fine": 15000, "hearing_report_on": "2026-04-23"})
    assert run.ready() == ["submit_review"]  # the review after the hearing (法 Art. 58(2))
    data = run.wf.get_next_task(spec_name="legal_review_after_hearing").data
    assert data["hearing_held"] is True and data["hearing_waived"] is False
    assert data["hearing_reschedules"] == [{"missed_on": "2026-04-08", "attendance": attendance, "reason": reason}]
    # The case clock paused once at the request and resumed once at the report: the wait for the new
    # date is hearing time too (法 Art. 60).
    assert [(e.action, e.on) for e in clock_calls if e.action in ("pause", "resume")] == [
        ("pause", dt.date(2026, 3, 25)), ("resume", dt.date(2026, 4, 23))]
    assert [e.kind for e in clock_calls if e.action == "pause"] == ["hearing"]


def test_a_rescheduled_hearing_must_fall_after_the_missed_date(specs, clock_calls):
    run = Run(specs, "ordinary", case(proposed_fine=15000), roundtrip=False)
    to_hearing(run)
    run.complete("conduct_hearing", absent("postponement_requested", "当事人申请延期"))
    # Seven working days' notice would be kept (served 03-20, held 04-01), but 04-01 is before the missed 04-08.
    run.complete("serve_hearing_notice", hearing_notice("2026-04-01", served_on="2026-03-20"))
    assert run.ready() == ["serve_hearing_notice"]


def test_absence_needs_its_reason_recorded():
    import jsonschema

    for attendance in ("justified_absence", "postponement_requested", "unjustified_absence"):
        with pytest.raises(jsonschema.ValidationError, match="absence_note"):
            validate_form("hearing_conduct", {"hearing_held_on": "2026-04-08", "attendance": attendance})
    with pytest.raises(jsonschema.ValidationError):
        validate_form("hearing_conduct", {"hearing_held_on": "2026-04-08", "attendance": "absent"})


def test_hearing_request_period_expiry_counts_as_waiver(specs, roundtrip, clock_calls, frozen_timer_clock):
    run = Run(specs, "ordinary", case(proposed_fine=15000), roundtrip)
    to_notice(run, 15000)
    run.complete("submit_review", SUBMIT)
    run.complete("review", APPROVE)
    run.complete("notify_party", notice(15000, served_on="2026-03-23"))
    assert run.ready() == ["record_hearing_request"]
    assert run.wf.waiting_events()[0].value == "2026-03-31T00:00:00+08:00"  # 5 working days after Mon 03-23
    frozen_timer_clock.at = dt.datetime(2026, 3, 30, 16, 0, 1, tzinfo=dt.UTC)
    run.fire_timers()
    # The statement period (the same five working days) is over too: both count as waived.
    assert run.ready() == ["decide"]
    assert run.data["hearing_requested"] is False and run.data["statement_waived"] is True


@pytest.mark.parametrize(
    ("party_type", "kind", "fine", "confiscation", "eligible"),
    [
        ("citizen", "fine", 9999.99, 0, False),
        ("citizen", "fine", 10000, 0, True),
        ("organization", "fine", 99999, 0, False),
        ("organization", "fine", 100000, 0, True),
        ("citizen", "confiscation", 0, 10000, True),
        ("organization", "confiscation", 0, 50000, False),
        ("organization", "licence_revocation", 0, 0, True),
        ("citizen", "qualification_lowering", 0, 0, True),
        ("organization", "suspension", 0, 0, True),
        ("organization", "closure", 0, 0, True),
        ("citizen", "employment_restriction", 0, 0, True),
        ("citizen", "warning", 0, 0, False),
    ],
)
def test_hearing_eligibility_follows_article_63(specs, party_type, kind, fine, confiscation, eligible):
    run = Run(specs, "ordinary", case(party_type, kind, fine), roundtrip=False)
    to_notice(run, fine, penalty_kind=kind, confiscation_amount=confiscation)
    if run.ready() == ["submit_review"]:
        run.complete("submit_review", SUBMIT)
        run.complete("review", APPROVE)
    assert run.data["hearing_eligible"] is eligible
    run.complete("notify_party", notice(fine))
    assert run.ready() == (["record_hearing_request"] if eligible else ["record_statement"])


@pytest.mark.parametrize(
    ("code", "tier", "amount", "fine", "accepted"),
    [
        ("sample_10k_50k", "lenient", 0, 10000, True),
        ("sample_10k_50k", "lenient", 0, 22000, True),
        ("sample_10k_50k", "lenient", 0, 22000.01, False),
        ("sample_10k_50k", "general", 0, 30000, True),
        ("sample_10k_50k", "general", 0, 39000, False),
        ("sample_10k_50k", "heavy", 0, 50000, True),
        ("sample_10k_50k", "heavy", 0, 50001, False),
        ("food_safety_goods", "general", 5000, 70000, True),
        ("food_safety_goods", "general", 20000, 300000, True),
        ("food_safety_goods", "heavy", 20000, 300000, False),
        ("other", "heavy", 0, 999999, True),
    ],
)
def test_discretion_benchmark_bounds_the_proposed_fine(specs, code, tier, amount, fine, accepted):
    run = Run(specs, "ordinary", case("organization", proposed_fine=fine), roundtrip=False)
    run.complete("register_lead", LEAD_FILE)
    run.complete("file_case", FILE_CASE)
    run.complete("investigate", INVESTIGATION)
    run.complete("investigation_report", report(fine=fine, violation_code=code, discretion_tier=tier, amount_involved=amount))
    if accepted:
        assert "investigation_report" not in run.ready()
    else:  # 法 Art. 34: outside the benchmark range the report comes back to the handler
        assert run.ready() == ["investigation_report"]
        assert run.data["benchmark_fine_max"] is not None


@pytest.mark.parametrize(
    ("party_type", "kind", "fine", "flags", "required"),
    [
        ("citizen", "fine", 2000, {}, False),
        ("citizen", "fine", 2000, {"complex_case": True}, True),
        ("citizen", "fine", 2000, {"major_public_interest": True}, True),
        ("organization", "licence_revocation", 0, {}, True),
        ("citizen", "fine", 50000, {}, True),
        ("organization", "fine", 499999, {}, False),
    ],
)
def test_collective_discussion_follows_article_57(specs, party_type, kind, fine, flags, required):
    run = Run(specs, "ordinary", case(party_type, kind, fine), roundtrip=False)
    to_notice(run, fine, penalty_kind=kind, **flags)
    if run.ready() == ["submit_review"]:
        run.complete("submit_review", SUBMIT)
        run.complete("review", APPROVE)
    run.complete("notify_party", notice(fine))
    if run.ready() == ["record_hearing_request"]:
        run.complete("record_hearing_request", {"hearing_requested": False})
    run.complete("record_statement", {"statement_waived": True})
    assert run.ready() == (["collective_discussion"] if required else ["decide"])
