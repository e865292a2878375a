"""Scenario data and steps for working the shipped procedures on the database with the ``run`` driver.

The parties, the 立案/调查/决定书 answers given by unit A's officers (a_handler1, a_handler2, …), the
on-the-spot decision, the ordinary procedure worked up to its investigation report, and a time of day
in Shanghai. Shared by the procedure scenarios (tests/test_scenarios_procedures.py) and the tests
that start from the same cases (decisions, numbering, execution, officers, returns …).
"""

from __future__ import annotations

import datetime as dt

from engine import clock
from tests.support.driver import Driver
from tests.support.sample_forms import LEAD_FILE, SIMPLIFIED_DECISION, report

SH = clock.SHANGHAI
FILE_CASE = {"filing_decision": "file", "case_cause": "违法经营案", "filed_on": "2026-03-03",
             "assigned_handlers": ["a_handler1", "a_handler2"], "filing_opinion": "同意立案"}
INVESTIGATION = {"co_investigators": ["a_handler2"], "investigation_summary": "查明事实", "evidence_preservation_needed": False,
                 "evidence_items": [{"name": "现场照片", "kind": "audiovisual", "source": "现场拍摄", "collected_on": "2026-03-06"}]}
ISSUE = {"decision_issued_on": "2026-04-17", "payment_instructions": "银行", "reconsideration_body": "某市人民政府",
         "court": "某区人民法院"}

CITIZEN = {"party_type": "citizen", "party_name": "张三"}
COMPANY = {"party_type": "organization", "party_name": "某某商贸有限公司"}


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=SH)


def onspot(kind: str, fine: float, **extra) -> dict:
    return {**SIMPLIFIED_DECISION, "co_handlers": ["a_handler2"], "decision_penalty_kind": kind, "decision_fine": fine, **extra}


def to_report(run: Driver, fine: float, party=COMPANY, **flags) -> None:
    run.start("ordinary", party, {"violation": "未明码标价", "penalty_kind": "fine", "proposed_fine": fine})
    run.complete("register_lead", "a_handler1", LEAD_FILE)
    run.complete("file_case", "a_head", FILE_CASE)
    run.complete("investigate", "a_handler1", INVESTIGATION)
    run.complete("investigation_report", "a_handler1", report(fine=fine, **flags))
