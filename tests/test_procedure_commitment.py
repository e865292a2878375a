"""告知承诺制 on bare SpiffWorkflow: rectified, declined, not rectified by the deadline (straight and round trip)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support.commitment import CLOSING, COMMIT, DECLINE, REGISTER, REPORTED, VERIFIED
from tests.support.library import Run, case, validate_form

# Shared fixtures (``specs``, ``roundtrip``, ``frozen_timer_clock``, ``clock_calls``) are in tests/conftest.py.


@pytest.fixture(autouse=True)
def _early_march(frozen_timer_clock):
    frozen_timer_clock.at = dt.datetime(2026, 3, 3, 1, 0, tzinfo=dt.UTC)  # the commitment was signed the day before


def start(specs, roundtrip) -> Run:
    run = Run(specs, "commitment_notice", case(penalty_kind="warning"), roundtrip)
    assert run.ready() == ["register_violation"]
    run.complete("register_violation", REGISTER)
    return run


def test_commitment_forms_accept_the_sample_data():
    for form, data in (("commitment_registration", REGISTER), ("commitment_notice", COMMIT), ("commitment_notice", DECLINE),
                       ("rectification_report", REPORTED), ("rectification_verification", VERIFIED), ("commitment_closing", CLOSING)):
        validate_form(form, data)


def test_rectified_case_closes_without_penalty(specs, roundtrip, clock_calls):
    run = start(specs, roundtrip)
    run.complete("issue_commitment_notice", COMMIT)
    assert run.ready() == ["await_rectification"]
    run.complete("await_rectification", REPORTED)
    run.complete("verify_rectification", VERIFIED)
    assert run.ready() == ["close_without_penalty"]
    run.complete("close_without_penalty", CLOSING)
    assert run.wf.is_completed()
    assert run.data["continued_as"] is None and clock_calls == []  # no 立案, no case clock


def test_declined_commitment_continues_as_ordinary_procedure(specs, roundtrip, clock_calls):
    run = start(specs, roundtrip)
    run.complete("issue_commitment_notice", DECLINE)
    assert run.ready() == ["register_lead"]  # the same instance, now in the ordinary procedure
    data = run.data
    assert data["continued_as"] == "ordinary" and data["commitment_outcome"] == "declined"
    assert data["violation_description"] == REGISTER["violation_description"]  # history carried over
    assert data["notice_served_on"] is None and data["hearing_held"] is False  # the ordinary procedure starts cleanly
    assert data["discretion_tier_raise"] == 0  # declining is the party's right, not a broken commitment


def test_not_rectified_by_the_deadline_goes_to_verification_then_ordinary(specs, roundtrip, clock_calls, frozen_timer_clock):
    run = start(specs, roundtrip)
    run.complete("issue_commitment_notice", COMMIT)
    # the deadline the officer set (Mon 03-16, the last of 10 working days after Mon 03-02), ending 24:00 Shanghai
    assert run.wf.waiting_events()[0].value == "2026-03-17T00:00:00+08:00"
    frozen_timer_clock.at = dt.datetime(2026, 3, 16, 15, 59, tzinfo=dt.UTC)
    run.fire_timers()
    assert run.ready() == ["await_rectification"]
    frozen_timer_clock.at = dt.datetime(2026, 3, 16, 16, 0, 1, tzinfo=dt.UTC)
    run.fire_timers()
    assert run.ready() == ["verify_rectification"]
    run.complete("verify_rectification", {**VERIFIED, "rectified": False, "verification_notes": "仍未公示"})
    assert run.ready() == ["register_lead"]
    data = run.data
    assert data["commitment_outcome"] == "not_rectified" and data["continued_as"] == "ordinary"
    assert data["commitment_history"] == {"outcome": "not_rectified", "registered_on": "2026-03-02", "discretion_tier_raise": 1}
    assert data["discretion_tier_raise"] == 1  # a broken commitment: one discretion tier heavier


def test_ineligible_violation_goes_straight_to_ordinary(specs, roundtrip):
    run = Run(specs, "commitment_notice", case(), roundtrip)
    run.complete("register_violation", {**REGISTER, "first_offence": False})
    assert run.ready() == ["register_lead"]
    assert run.data["commitment_outcome"] == "not_eligible"


def test_the_timer_follows_the_deadline_the_officer_set(specs, roundtrip):
    run = start(specs, roundtrip)
    run.complete("issue_commitment_notice", {**COMMIT, "rectification_deadline": "2026-03-05"})
    assert run.wf.waiting_events()[0].value == "2026-03-06T00:00:00+08:00"  # 24:00 of Thu 03-05, Shanghai
