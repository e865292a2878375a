"""An organ with every document setting, an organization party with every particular, and one realistic
set of form values per document type the five procedures issue (tests/test_document_forms.py and the
browser test of service)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from engine.models import Agency, Case, OrgUnit, db

ROOT = Path(__file__).resolve().parents[2]
ORGAN = "X市市场监督管理局"
SETTINGS = {
    "full_name": ORGAN, "short_name": "X市监", "address": "X市人民路1号", "postal_code": "100001", "phone": "010-12345678",
    "review_organ": "X市人民政府", "court": "X市东城区人民法院", "payment_place": "中国工商银行X市分行各营业网点",
    "payment_account_name": "X市财政局非税收入专户", "payment_account": "0200001234567890123",
}
PARTY = {"party_type": "organization", "party_name": "X市好味食品有限公司", "party_credit_code": "91110101MA01ABCD2X",
         "party_address": "X市建设路88号", "party_legal_rep": "王五", "party_contact": "赵六 13800001111",
         "party_id_masked": "91110101MA01ABCD2X"}


def seal_png() -> bytes:
    """A red round seal (what an organ uploads, drawn here)."""
    image = Image.new("RGBA", (240, 240), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 8, 232, 232), outline=(210, 0, 0, 255), width=10)
    draw.regular_polygon((120, 120, 40), 5, fill=(210, 0, 0, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def give_unit_an_organ(unit_code: str = "unit_a") -> Agency:
    """Attach the organ (with its seal) to ``unit_code`` and its sibling units; returns it."""
    agency = db.session.query(Agency).filter_by(short_name=SETTINGS["short_name"]).one_or_none()
    if agency is None:
        agency = Agency(code="xscjg", doc_patterns={}, **SETTINGS)
        db.session.add(agency)
    for key, value in SETTINGS.items():
        setattr(agency, key, value)
    agency.seal_png = seal_png()
    db.session.flush()
    for unit in db.session.query(OrgUnit).all():
        unit.agency_id = agency.id
    db.session.commit()
    return agency


def complete_party(case: Case) -> None:
    for key, value in PARTY.items():
        setattr(case, key, value)
    db.session.commit()


def labels() -> dict[str, dict[str, Any]]:
    """Field key -> title and enum labels from the shipped forms (as the deployment would give)."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted((ROOT / "forms").glob("*.json")):
        for key, prop in (json.loads(path.read_text(encoding="utf-8")).get("properties") or {}).items():
            if isinstance(prop, dict):
                out.setdefault(key, {"title": prop.get("title") or key, "enum": prop.get("x-enum-labels") or {},
                                     "widget": prop.get("x-widget") or ""})
    return out


FACTS = {"facts_found": "当事人于2026年2月10日在其经营场所销售超过保质期的酸奶12盒，货值金额360元",
         "evidence_summary": "现场笔录、询问笔录、进货单据和现场照片",
         "legal_basis": "《中华人民共和国食品安全法》第三十四条第十项；依据该法第一百二十四条第一款第五项"}

# Document type -> the form (and case data) its step submits.
SAMPLES: dict[str, dict[str, Any]] = {
    "案件来源登记表": {"lead_source": "inspection", "lead_received_on": "2026-02-10", "lead_summary": "日常检查发现销售过期食品",
                   "verification_findings": "现场核实属实", "filing_recommendation": "file", "recommendation_reason": "涉嫌违反食品安全法"},
    "立案审批表": {"filing_decision": "file", "filing_opinion": "同意立案调查", "case_cause": "销售超过保质期的食品案",
               "filed_on": "2026-02-12", "assigned_handlers": ["张三", "李四"], "lead_source": "inspection",
               "lead_summary": "日常检查发现销售过期食品", "verification_findings": "现场核实属实", "filing_recommendation": "file"},
    "不予立案审批表": {"not_filing_decision": "approve", "not_filing_opinion": "同意", "not_filing_decided_on": "2026-02-12",
                 "lead_summary": "投诉称销售过期食品", "verification_findings": "经核查不存在", "not_file_reason": "no_violation",
                 "reporter_informed": True},
    "先行登记保存证据通知书": {"preserved_items": ["过期酸奶12盒"], "preserved_on": "2026-02-12",
                       "preservation_notice_served_on": "2026-02-12",
                       "preservation_handling_decision": "confiscate", "preservation_handled_on": "2026-02-18"},
    "调查终结报告": {**FACTS, "violation_code": "food_safety_goods", "discretion_tier": "general", "discretion_reason": "无从轻从重情节",
               "proposed_outcome": "penalty", "penalty_kind": "fine", "proposed_fine": 5000, "proposed_penalty": "罚款5000元",
               "report_date": "2026-03-01"},
    "法制审核意见书": {**{k: "ok" for k in ("check_authority", "check_competence", "check_procedure", "check_facts", "check_evidence",
                                     "check_law", "check_discretion", "check_documents")},
                "check_crime_transfer": "no", "review_outcome": "approve", "review_opinion": "事实清楚，证据确凿，程序合法",
                "reviewed_on": "2026-03-03"},
    "行政处罚告知书": {"notified_facts": FACTS["facts_found"] + "。", "notified_basis": FACTS["legal_basis"], "notified_penalty": "罚款",
                "notified_fine": 5000, "hearing_right_informed": False},
    "陈述申辩笔录": {"statement_waived": False, "statement_received_on": "2026-03-06", "statement_form": "written",
               "statement_content": "初次违法，已下架全部过期食品", "statement_recheck": "所述属实，但不足以减轻处罚",
               "statement_adopted": "rejected"},
    "听证通知书": {"hearing_date": "2026-03-20", "hearing_time": "上午9时30分", "hearing_place": "本局第一听证室", "hearing_public": True,
              "hearing_host": "孙七", "hearing_clerk": "周八"},
    "听证笔录": {"hearing_held_on": "2026-03-20", "hearing_host": "孙七", "hearing_clerk": "周八", "party_attended": "出席",
             "record_summary": "调查人员陈述事实和证据，当事人进行申辩和质证", "party_signature": "signed"},
    "听证报告": {"hearing_report_summary": "听证认定的事实与调查终结报告一致", "hearing_recommended_outcome": "penalty",
             "hearing_recommended_fine": 5000, "hearing_report_on": "2026-03-23"},
    "集体讨论记录": {"discussion_at": "2026-03-24", "discussion_participants": ["局长甲", "副局长乙", "法规科长丙"],
               "discussion_summary": "与会人员一致认为事实清楚", "discussion_conclusion": "penalty", "proposed_penalty": "罚款5000元"},
    "行政处罚决定审批表": {**FACTS, "decision_outcome": "penalty", "decided_penalty_kind": "fine", "decided_fine": 5000,
                  "decision_reasoning": "违法事实清楚，依法应予处罚", "decided_on": "2026-03-25", "notified_penalty": "罚款5000元"},
    "行政处罚决定书": {**FACTS, "decided_penalty_kind": "fine", "decided_fine": 5000, "decided_penalty": "罚款5000元",
                "decision_issued_on": "2026-03-26", "payment_instructions": "也可以通过非税收入电子缴款系统缴纳"},
    "不予行政处罚决定书": {"facts_found": "当事人销售的食品标签不规范，已当场改正", "decision_issued_on": "2026-03-26",
                  "education_given": True, "education_note": "已对当事人进行了食品安全法律法规宣传教育"},
    "暂缓（分期）缴纳罚款审批表": {"decided_fine": 5000, "deferral_kind": "instalments", "deferral_applied_on": "2026-03-28",
                      "deferral_reason": "经营困难", "deferral_decision": "approve", "deferral_opinion": "情况属实",
                      "deferral_decided_on": "2026-03-30"},
    "催告书": {"demand_issued_on": "2026-05-20", "demand_fine": 5000, "demand_paid": 0, "demand_surcharge": 5000,
            "demand_balance": 10000, "effective_served_on": "2026-03-27"},
    "强制执行申请书": {"enforcement_court": "X市东城区人民法院", "enforcement_applied_on": "2026-09-01",
                "enforcement_materials": "行政处罚决定书、送达回证、催告书及送达回证", "enforcement_deadline_passed_on": "2026-08-28"},
    "结案审批表": {"closing_reason": "executed", "closing_summary": "罚款已缴清，同意结案", "closed_on": "2026-04-10", "decided_fine": 5000,
              "archive_number": "2026-档-015"},
    "告知承诺书": {"violation_description": "当事人经营场所未公示食品经营许可证", "commitment_notified_on": "2026-03-02",
              "rectification_required": "在经营场所显著位置公示食品经营许可证", "rectification_deadline": "2026-03-16",
              "party_decision": "commit", "commitment_signed_on": "2026-03-02"},
    "当场行政处罚决定书": {"co_handlers": ["李四"], "credentials_shown": True, "decision_number": "X市监当罚〔2026〕0001号",
                  "decided_at": "2026-12-05T09:30:00+08:00", "decided_place": "X市建设路88号店内",
                  "facts_and_reasons": "当事人未按规定在经营场所公示营业执照", "legal_basis": "《无证无照经营查处办法》第十二条",
                  "party_statement": "无异议", "decision_penalty_kind": "fine", "decision_fine": 200, "party_signature": "signed"},
}
# The 送达回证 is issued with each served document; it is checked through them.
