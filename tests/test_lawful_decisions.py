"""Lawful decisions: what the simplified and commitment procedures refuse, and the lawful path.

- 简易程序: the decided fine is capped by the party (法 Art. 51: 200 元 citizen, 3,000 元 organization).
- 告知承诺制: 不予行政处罚 is the agency head's decision (法 Art. 57) and needs the approval ticked;
  the officer's rectification deadline lies within the registry's limit and drives the timer; a
  broken commitment is one discretion tier heavier in the ordinary procedure's benchmark.

Each scenario runs by engine command and through the HTTP API (the ``run`` driver).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from engine import clock
from engine.admin.time_limits import set_time_limit
from engine.models import Document, FormNumber, ProcessInstance, Task, db
from tests.conftest import user
from tests.support.commitment import CLOSING, COMMIT, DECLINE, REGISTER, REPORTED, VERIFIED
from tests.support.driver import run  # noqa: F401  (the scenario fixture)
from tests.support.sample_forms import FILE_CASE, INVESTIGATION, LEAD_FILE, report
from tests.support.scenarios import CITIZEN, COMPANY, SH, onspot

ART_51 = "《行政处罚法》第五十一条"


# ------------------------------------------------------------------------------------------ 简易程序
def test_an_onspot_fine_on_a_citizen_above_200_is_refused_naming_article_51(run):  # noqa: F811
    run.start("simplified", CITIZEN, {"violation": "占道经营", "penalty_kind": "fine", "proposed_fine": 200})
    status, body = run.attempt("onspot_decision", "a_handler1", onspot("fine", 2500))
    assert status == 422
    assert body["details"] == [{"field": "decision_fine", "label": "罚款数额（元）", "message": body["details"][0]["message"]}]
    message = body["message"]
    assert "当事人为公民，不得超过 200 元" in message and ART_51 in message and "普通程序" in message
    assert run.attempt("onspot_decision", "a_handler1", onspot("fine", 200.01))[0] == 422
    # Nothing was applied: the task waits, no number was spent, no 决定书 issued.
    assert run.ready() == ["onspot_decision"]
    assert db.session.scalars(select(FormNumber)).all() == [] and db.session.scalars(select(Document)).all() == []
    assert run.attempt("onspot_decision", "a_handler1", onspot("fine", 200))[0] == 200
    assert run.ready() == ["collect_payment", "filing_record"]


def test_an_onspot_fine_on_an_organization_may_reach_3000(run):  # noqa: F811
    run.start("simplified", COMPANY, {"violation": "未明码标价", "penalty_kind": "fine", "proposed_fine": 3000})
    assert run.attempt("onspot_decision", "a_handler1", onspot("fine", 3000.01))[0] == 422  # the form's own maximum
    assert run.attempt("onspot_decision", "a_handler1", onspot("fine", 2500))[0] == 200


# ------------------------------------------------------------------------------------------ 告知承诺制
def committed(run, deadline: str = "2026-03-16") -> None:  # noqa: F811
    run.start("commitment_notice", COMPANY, {"violation": "未公示营业执照"})
    run.complete("register_violation", "a_handler1", REGISTER)
    run.complete("issue_commitment_notice", "a_handler1", {**COMMIT, "rectification_deadline": deadline})


def test_no_penalty_is_decided_by_the_agency_head_not_the_unit_head(run):  # noqa: F811
    committed(run)
    run.complete("await_rectification", "a_handler1", REPORTED)
    run.complete("verify_rectification", "a_handler2", VERIFIED)
    assert run.task("close_without_penalty").role == "agency_head"
    status, body = run.attempt("close_without_penalty", "a_head", CLOSING)
    assert status == 403 and "行政机关负责人" in body["message"]
    assert run.attempt("close_without_penalty", "a_chief", CLOSING)[0] == 200
    assert run.case.status == "closed"


def test_no_penalty_without_the_approval_ticked_is_refused_naming_article_57(run):  # noqa: F811
    committed(run)
    run.complete("await_rectification", "a_handler1", REPORTED)
    run.complete("verify_rectification", "a_handler2", VERIFIED)
    for unticked in ({**CLOSING, "no_penalty_confirmed": False},
                     {k: v for k, v in CLOSING.items() if k != "no_penalty_confirmed"}):
        status, body = run.attempt("close_without_penalty", "a_chief", unticked)
        assert status == 422
        assert body["details"][0]["field"] == "no_penalty_confirmed"
        assert "第五十七条" in body["details"][0]["message"] and "请勾选" in body["details"][0]["message"]
    assert run.case.status == "open" and run.ready() == ["close_without_penalty"]
    assert db.session.scalars(select(Document).where(Document.doc_type == "不予行政处罚决定书")).all() == []
    assert run.attempt("close_without_penalty", "a_chief", CLOSING)[0] == 200


def test_a_rectification_deadline_beyond_the_limit_is_refused_naming_the_limit(run):  # noqa: F811
    run.start("commitment_notice", COMPANY, {"violation": "未公示营业执照"})
    run.complete("register_violation", "a_handler1", REGISTER)
    # 10 working days from the notice on Mon 03-02 end on Mon 03-16.
    status, body = run.attempt("issue_commitment_notice", "a_handler1", {**COMMIT, "rectification_deadline": "2026-03-17"})
    assert status == 422 and body["details"][0]["field"] == "rectification_deadline"
    message = body["message"]
    assert "不得晚于 2026-03-16" in message and "告知承诺整改期限" in message and "10 个工作日" in message
    status, body = run.attempt("issue_commitment_notice", "a_handler1", {**COMMIT, "rectification_deadline": "2026-03-01"})
    assert status == 422 and "不得早于告知日期 2026-03-02" in body["message"]
    assert run.ready() == ["issue_commitment_notice"]
    # The registry's value is the bound: shortened by an administrator, it binds the next notice.
    set_time_limit(user("admin"), "commitment_rectification", 5, "working_days", "本机关调整")
    status, body = run.attempt("issue_commitment_notice", "a_handler1", {**COMMIT, "rectification_deadline": "2026-03-10"})
    assert status == 422 and "不得晚于 2026-03-09" in body["message"] and "5 个工作日" in body["message"]
    assert run.attempt("issue_commitment_notice", "a_handler1", {**COMMIT, "rectification_deadline": "2026-03-09"})[0] == 200


def test_the_deadline_the_officer_set_drives_the_timer(run):  # noqa: F811
    committed(run, deadline="2026-03-06")  # a Friday, well within the limit
    db.session.remove()
    instance = db.session.scalars(select(ProcessInstance).where(ProcessInstance.case_id == run.case_id)).one()
    assert instance.next_timer_at == dt.datetime(2026, 3, 7, tzinfo=SH)  # 24:00 of Fri 03-06, Shanghai
    run.tick(dt.datetime(2026, 3, 6, 23, 59, tzinfo=SH))
    assert run.ready() == ["await_rectification"]
    run.tick(dt.datetime(2026, 3, 7, 0, 0, 1, tzinfo=SH))
    assert run.ready() == ["verify_rectification"]
    # Verification is due within 5 working days of the deadline: Fri 03-13.
    assert run.task("verify_rectification").due_at == dt.datetime(2026, 3, 14, tzinfo=clock.SHANGHAI)


def broken_commitment_to_report(run, fine: float, tier: str = "lenient") -> None:  # noqa: F811
    committed(run)
    run.tick(dt.datetime(2026, 3, 17, 0, 0, 1, tzinfo=SH))
    run.complete("verify_rectification", "a_handler2", {**VERIFIED, "rectified": False, "verification_notes": "未整改"})
    assert run.ready() == ["register_lead"]
    ordinary_to_report(run, fine, tier)


def ordinary_to_report(run, fine: float, tier: str) -> None:  # noqa: F811
    run.complete("register_lead", "a_handler1", LEAD_FILE)
    run.complete("file_case", "a_head", {**FILE_CASE, "assigned_handlers": ["a_handler1", "a_handler2"]})
    run.complete("investigate", "a_handler1", {**INVESTIGATION, "co_investigators": ["a_handler2"]})
    run.complete("investigation_report", "a_handler1",
                 report(fine=fine, violation_code="sample_10k_50k", discretion_tier=tier))


def test_a_broken_commitment_is_benchmarked_one_discretion_tier_heavier(run):  # noqa: F811
    broken_commitment_to_report(run, 15000, tier="lenient")  # 从轻 is 1万–2.2万; one tier heavier, 一般, is 2.2万–3.8万
    assert run.ready() == ["investigation_report"]  # returned: out of the benchmark's range (法 Art. 34)
    data = run.data
    assert (data["benchmark_fine_min"], data["benchmark_fine_max"]) == (22000, 38000)
    assert "告知承诺未履行，已加重一档适用" in data["benchmark_basis"]
    run.complete("investigation_report", "a_handler1",
                 report(fine=30000, violation_code="sample_10k_50k", discretion_tier="lenient"))
    assert run.ready() == ["notify_party"]


def test_without_a_broken_commitment_the_chosen_tier_applies(run):  # noqa: F811
    run.start("ordinary", COMPANY, {"violation": "未明码标价", "penalty_kind": "fine", "proposed_fine": 15000})
    ordinary_to_report(run, 15000, "lenient")
    assert run.ready() == ["notify_party"]
    assert (run.data["benchmark_fine_min"], run.data["benchmark_fine_max"]) == (10000, 22000)


def test_a_declined_commitment_is_not_heavier(run):  # noqa: F811
    run.start("commitment_notice", COMPANY, {"violation": "未公示营业执照"})
    run.complete("register_violation", "a_handler1", REGISTER)
    run.complete("issue_commitment_notice", "a_handler1", DECLINE)  # declining is the party's right
    ordinary_to_report(run, 15000, "lenient")
    assert run.ready() == ["notify_party"]


def test_the_tier_raise_cannot_be_given_as_a_fact_of_a_new_case(api, ctx):
    status, body = api("a_handler1").post("/cases", {"procedure": "ordinary", "party": COMPANY,
                                                      "facts": {"discretion_tier_raise": -1}})
    assert status == 422 and "由系统设定" in body["message"]
    assert db.session.scalars(select(Task)).all() == []
