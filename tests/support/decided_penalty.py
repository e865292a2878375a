"""The food-safety ordinary case worked up to its investigation report, and the notice served on it.

Shared by the decided-penalty tests (tests/test_decided_penalty.py) and the decision-table tests
(tests/test_dmn_hit_policy.py), which decide penalties of every kind on the same case.
"""

from __future__ import annotations

from tests.support.sample_forms import LEAD_FILE, report
from tests.support.scenarios import FILE_CASE, INVESTIGATION


def notice(penalty: str, fine: float, hearing: bool = False) -> dict:
    return {"notified_facts": "违法事实", "notified_basis": "《食品安全法》", "notified_penalty": penalty,
            "notified_fine": fine, "hearing_right_informed": hearing, "notice_service_method": "direct",
            "notice_served_on": "2026-03-23"}


def to_report(run, party: dict, **proposal) -> None:
    run.start("ordinary", party, {"violation": "销售不符合食品安全标准的食品"})
    run.complete("register_lead", "a_handler1", LEAD_FILE)
    run.complete("file_case", "a_head", FILE_CASE)
    run.complete("investigate", "a_handler1", INVESTIGATION)
    run.complete("investigation_report", "a_handler1", report(**proposal))
