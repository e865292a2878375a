"""法 Art. 42 and separation of duty through designated officers (the shipped ordinary procedure)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from engine.errors import Forbidden, InvalidInput
from engine.models import Case, CaseOfficer, Credential, Task, db
from engine.policy.access import why_not_eligible
from engine.runtime import claim_task, complete_task, start_case
from tests.conftest import ROOT, deploy_dir, make_user, user

LEAD = {"lead_source": "inspection", "lead_received_on": "2026-03-02", "lead_summary": "检查发现",
        "verification_findings": "属实", "filing_recommendation": "file", "recommendation_reason": "应予立案"}


def filing(handlers: list[str]) -> dict:
    return {"filing_decision": "file", "case_cause": "未按规定公示", "filed_on": "2026-03-03",
            "assigned_handlers": handlers, "filing_opinion": "同意立案"}


def open_task(case_id: int) -> Task:
    return db.session.scalars(select(Task).where(Task.case_id == case_id, Task.status == "open")).one()


@pytest.fixture
def filed_case(ctx, people, frozen):
    deploy_dir(ROOT)
    case = start_case(user("a_handler1"), "ordinary", {"party_type": "organization", "party_name": "某某公司"},
                      {"violation": "未公示", "penalty_kind": "fine", "proposed_fine": 20000})
    complete_task(user("a_handler1"), open_task(case.id).id, LEAD)
    return case


def test_filing_needs_two_distinct_credentialed_handlers_of_the_unit(filed_case):
    task = open_task(filed_case.id)
    head = user("a_head")
    with pytest.raises(InvalidInput) as err:
        complete_task(head, task.id, filing(["a_handler1"]))
    assert err.value.details[0]["field"] == "assigned_handlers"  # fewer than two (JSON Schema minItems)
    with pytest.raises(InvalidInput, match="执法证"):
        complete_task(head, task.id, filing(["a_handler1", "a_nocred"]))
    with pytest.raises(InvalidInput, match="不属于本案承办单位"):
        complete_task(head, task.id, filing(["a_handler1", "b_handler1"]))
    with pytest.raises(InvalidInput, match="角色"):
        complete_task(head, task.id, filing(["a_handler1", "a_chief"]))
    with pytest.raises(InvalidInput):
        complete_task(head, task.id, filing(["a_handler1", "a_handler1"]))
    assert open_task(filed_case.id).id == task.id and not db.session.scalars(select(CaseOfficer)).first()
    complete_task(head, task.id, filing(["a_handler1", "a_handler2"]))
    designated = {o.user_id for o in db.session.scalars(select(CaseOfficer).where(CaseOfficer.case_id == filed_case.id))}
    assert designated == {user("a_handler1").id, user("a_handler2").id}
    assert db.session.get(Case, filed_case.id).clock_state == "running"


def test_an_expired_credential_does_not_count(filed_case, frozen):
    expired = make_user("a_expired", "unit_a", ["handler"], ())
    db.session.add(Credential(user_id=expired.id, kind="law_enforcement", number="OLD-1", expires_on=dt.date(2026, 1, 31)))
    db.session.commit()
    with pytest.raises(InvalidInput, match="执法证"):
        complete_task(user("a_head"), open_task(filed_case.id).id, filing(["a_handler1", "a_expired"]))


def test_a_designated_handler_may_never_review_the_same_case(ctx, people, frozen):
    """a_reviewer holds both roles. Designated as a handler at filing, they may not take the legal review
    of the same case even though they completed no task of it; another reviewer may."""
    from tests.support.sample_forms import INVESTIGATION, report

    deploy_dir(ROOT)
    case = start_case(user("a_handler1"), "ordinary", {"party_type": "citizen", "party_name": "张三"},
                      {"violation": "未明码标价", "penalty_kind": "fine", "proposed_fine": 20000})
    complete_task(user("a_handler1"), open_task(case.id).id, LEAD)
    complete_task(user("a_head"), open_task(case.id).id, filing(["a_handler1", "a_reviewer"]))
    complete_task(user("a_handler1"), open_task(case.id).id, {**INVESTIGATION, "co_investigators": ["a_reviewer"]})
    complete_task(user("a_handler1"), open_task(case.id).id, report(fine=20000))
    submit = open_task(case.id)
    assert submit.bpmn_id == "submit_review"
    complete_task(user("a_handler1"), submit.id, {"submitted_materials": ["report", "evidence"], "materials_complete": True,
                                                  "submitted_at": "2026-03-20T09:00:00+08:00"})
    review = open_task(case.id)
    assert review.bpmn_id == "review" and "@assigned_handlers" in review.separate_from
    reason = why_not_eligible(user("a_reviewer"), review)
    assert reason is not None and "回避" in reason
    with pytest.raises(Forbidden, match="回避"):
        claim_task(user("a_reviewer"), review.id)
    other = make_user("a_reviewer2", "unit_a", ["legal_reviewer"], ("law_enforcement", "legal_qualification"))
    assert why_not_eligible(other, review) is None
    claim_task(other, review.id)
