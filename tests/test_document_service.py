"""Documents made when they are needed (issue 15): in the ordinary procedure the 行政处罚告知书 and its 送达回证 are
issued when the notice step completes, printable before service; recording service afterwards attaches the facts
to that same notice (no new document); the decision's 送达回证 is made with the decision, not at service."""

from __future__ import annotations

from sqlalchemy import select

from engine.casefile.verify import verify_record
from engine.documents.service import services_of
from engine.models import AuditEvent, Document, db
from tests.support.driver import run  # noqa: F401 - the scenario fixture (engine commands and HTTP API)

COMPANY = {"party_type": "organization", "party_name": "某某商贸有限公司"}
LEAD = {"lead_source": "complaint", "lead_received_on": "2026-03-02", "lead_summary": "举报未明码标价",
        "verification_findings": "情况属实", "filing_recommendation": "file", "recommendation_reason": "涉嫌违法"}
FILE_CASE = {"filing_decision": "file", "case_cause": "违法经营案", "filed_on": "2026-03-03",
             "assigned_handlers": ["a_handler1", "a_handler2"], "filing_opinion": "同意立案"}
INVESTIGATION = {"co_investigators": ["a_handler2"], "investigation_summary": "查明事实", "evidence_preservation_needed": False,
                 "evidence_items": [{"name": "现场照片", "kind": "audiovisual", "source": "现场拍摄", "collected_on": "2026-03-06"}]}
REPORT = {"facts_found": "未明码标价", "evidence_summary": "照片", "legal_basis": "《价格法》第十三条", "violation_code": "other",
          "discretion_tier": "general", "proposed_outcome": "penalty", "penalty_kind": "fine", "proposed_fine": 5000,
          "proposed_penalty": "罚款5000元", "mitigated_below_minimum": False, "complex_case": False,
          "major_public_interest": False, "report_date": "2026-03-20"}
NOTICE = {"notified_facts": "当事人销售商品未明码标价", "notified_basis": "《中华人民共和国价格法》第十三条、第四十二条",
          "notified_penalty": "罚款", "notified_fine": 5000, "hearing_right_informed": False}
SERVICE = {"notice_service_method": "direct", "notice_recipient": "王五", "notice_served_on": "2026-03-23"}


def _to_notice(run) -> None:  # noqa: F811
    run.start("ordinary", COMPANY, {"violation": "未明码标价", "penalty_kind": "fine", "proposed_fine": 5000})
    run.complete("register_lead", "a_handler1", LEAD)
    run.complete("file_case", "a_head", FILE_CASE)
    run.complete("investigate", "a_handler1", INVESTIGATION)
    run.complete("investigation_report", "a_handler1", REPORT)
    assert run.ready() == ["notify_party"]


def _documents(case_id: int) -> list[Document]:
    db.session.remove()
    return list(db.session.scalars(select(Document).where(Document.case_id == case_id).order_by(Document.id)))


def test_notice_is_printable_before_service_and_service_attaches_to_it(run):  # noqa: F811
    _to_notice(run)
    run.complete("notify_party", "a_handler1", NOTICE)
    assert run.ready() == ["serve_notice"], "service not given at issue: the next step records it"
    notice, receipt = [d for d in _documents(run.case_id) if d.doc_type in ("行政处罚告知书", "送达回证")]
    assert notice.doc_type == "行政处罚告知书" and receipt.serves_id == notice.id
    assert "当事人（签名或者盖章）：＿" in notice.content and "送达方式" not in notice.content  # blank lines, no filled facts
    assert "罚款人民币5,000元（大写：伍仟元整）" in notice.content
    assert services_of([notice.id]) == {}

    run.complete("serve_notice", "a_handler1", SERVICE)
    assert run.ready() == ["record_statement"]
    after = _documents(run.case_id)
    assert [d.id for d in after] == [d.id for d in _documents(run.case_id)] and len(after) == len(_documents(run.case_id))
    assert [d.doc_type for d in after].count("行政处罚告知书") == 1, "service made no new filled-in copy"
    [service] = services_of([notice.id])[notice.id]
    assert (service.method, service.served_on, service.recipient) == ("direct", "2026-03-23", "王五")
    events = [e.data for e in db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == run.case_id))
              if e.action == "document.served"]
    assert events == [{"document_type": "行政处罚告知书", "number": notice.number, "sha256": notice.sha256, "method": "direct",
                       "served_on": "2026-03-23", "effective_on": "2026-03-23", "recipient": "王五"}]
    assert verify_record(run.case_id) == []


def test_notice_served_on_the_spot_records_service_at_once(run):  # noqa: F811
    _to_notice(run)
    run.complete("notify_party", "a_handler1", {**NOTICE, **SERVICE})
    assert run.ready() == ["record_statement"]
    [notice] = [d for d in _documents(run.case_id) if d.doc_type == "行政处罚告知书"]
    assert [s.served_on for s in services_of([notice.id])[notice.id]] == ["2026-03-23"]
