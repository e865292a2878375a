"""Sample form data of the simplified and ordinary procedures, as the forms in forms/ would submit it.

One set of answers for every step, shared by the bare-SpiffWorkflow library tests and the scenarios
worked on the database; the builders (``report``, ``notice``, ``decision``) check their data against
the form they fill.
"""

from __future__ import annotations

from tests.support.library import validate_form

# --- simplified procedure
SIMPLIFIED_DECISION = {
    "co_handlers": ["officer2"],
    "credentials_shown": True,
    "decision_number": "当场〔2026〕0001",
    "decided_at": "2026-03-02T10:00:00+08:00",
    "decided_place": "某市某路1号",
    "facts_and_reasons": "未明码标价",
    "legal_basis": "《价格法》第十三条",
    "party_statement": "无",
    "party_signature": "signed",
}
FILING_RECORD = {"filed_with": "法制科", "filed_on": "2026-03-03", "filing_materials": ["decision_stub"]}
SIMPLIFIED_CLOSING = {"closing_summary": "执行完毕", "closed_on": "2026-03-20"}


# --- ordinary procedure
LEAD_FILE = {
    "lead_source": "complaint",
    "lead_received_on": "2026-03-02",
    "lead_summary": "举报未明码标价",
    "verification_findings": "情况属实",
    "filing_recommendation": "file",
    "recommendation_reason": "涉嫌违法",
}
LEAD_NOT_FILE = {**LEAD_FILE, "filing_recommendation": "not_file", "not_file_reason": "minor_corrected"}
FILE_CASE = {
    "filing_decision": "file",
    "case_cause": "未明码标价案",
    "filed_on": "2026-03-05",
    "assigned_handlers": ["officer1", "officer2"],
    "filing_opinion": "同意立案",
}
INVESTIGATION = {
    "co_investigators": ["officer2"],
    "evidence_items": [{"name": "现场照片", "kind": "audiovisual", "source": "现场拍摄", "collected_on": "2026-03-06"}],
    "investigation_summary": "查明事实",
    "evidence_preservation_needed": False,
}


def report(outcome="penalty", kind="fine", fine=2000, **flags):
    data = {
        "facts_found": "未明码标价",
        "evidence_summary": "照片",
        "legal_basis": "《价格法》第十三条",
        "violation_code": "other",
        "discretion_tier": "general",
        "proposed_outcome": outcome,
        "penalty_kind": kind,
        "proposed_fine": fine,
        "proposed_penalty": f"罚款{fine}元",
        "mitigated_below_minimum": False,
        "complex_case": False,
        "major_public_interest": False,
        "report_date": "2026-03-20",
        **flags,
    }
    validate_form("investigation_report", data)
    return data


def notice(fine, served_on="2026-03-23"):
    return {
        "notified_facts": "未明码标价",
        "notified_basis": "《价格法》",
        "notified_penalty": f"罚款{fine}元",
        "notified_fine": fine,
        "hearing_right_informed": False,
        "notice_service_method": "direct",
        "notice_served_on": served_on,
    }


STATEMENT = {
    "statement_waived": False,
    "statement_received_on": "2026-03-25",
    "statement_form": "written",
    "statement_content": "初次违法",
    "statement_recheck": "部分属实",
    "statement_adopted": "partly",
}


def decision(outcome="penalty", fine=None):
    data = {"decision_outcome": outcome, "decision_reasoning": "事实清楚", "decided_on": "2026-04-01"}
    if outcome == "penalty":
        data.update({"decided_penalty_kind": "fine", "decided_fine": fine, "decided_penalty": f"罚款{fine}元"})
    validate_form("penalty_decision", data)
    return data


SERVE = {"service_method": "direct", "served_on": "2026-04-02", "service_recipient": "张三"}
CLOSE = {"closing_reason": "executed", "closing_summary": "执行完毕", "closed_on": "2026-04-30"}


def PAID(amount: float, paid_on: str) -> dict:  # noqa: N802 - reads as the constant it replaces
    """The payment step's data for one payment in full (forms/payment_record.json)."""
    return {"execution_action": "record", "payments": [{"paid_on": paid_on, "amount": amount, "method": "bank"}]}
