"""Sample form data of the 法制审核 and 听证 steps, as the forms in forms/ would submit it.

Shared by the 听证 procedure tests on bare SpiffWorkflow (tests/test_procedure_hearing.py) and the
scenarios worked by officers on the database (tests/test_scenarios_procedures.py and others).
"""

from __future__ import annotations

SUBMIT = {"submitted_materials": ["report", "evidence"], "materials_complete": True, "submitted_at": "2026-03-20T09:00:00+08:00"}
CHECKS = {k: "ok" for k in ("check_authority", "check_competence", "check_procedure", "check_facts", "check_evidence",
                            "check_law", "check_discretion", "check_documents")}
APPROVE = {**CHECKS, "check_crime_transfer": "no", "review_outcome": "approve", "review_opinion": "同意", "reviewed_on": "2026-03-24"}
RETURN = {**APPROVE, "check_discretion": "problem", "review_outcome": "return", "review_opinion": "听证后裁量理由不充分",
          "problems_found": "补充说明从轻理由"}
HEARING_REQUEST = {"hearing_requested": True, "hearing_requested_on": "2026-03-25", "hearing_request_form": "written"}


def hearing_notice(hearing_date: str, served_on: str = "2026-03-26") -> dict:
    return {"hearing_date": hearing_date, "hearing_time": "09:30", "hearing_place": "本局第一听证室", "hearing_public": True,
            "hearing_notice_service_method": "direct", "hearing_notice_served_on": served_on}


CONDUCT = {"hearing_held_on": "2026-04-08", "attendance": "attended", "investigators_statement": "事实、证据和处罚建议",
           "party_defence": "主张初次违法，请求从轻"}
RECORD = {"record_summary": "双方质证", "party_signature": "refused", "refusal_note": "当事人拒绝签字，主持人已注明"}
HEARING_REPORT = {"hearing_report_summary": "事实清楚，当事人初次违法", "hearing_recommended_outcome": "penalty",
                  "hearing_recommended_fine": 120000, "hearing_recommended_penalty": "罚款12万元", "hearing_report_on": "2026-04-10"}
SUPPLEMENT = {"supplement_actions": "补充从轻理由", "proposed_outcome": "penalty", "penalty_kind": "fine", "proposed_fine": 110000,
              "proposed_penalty": "罚款11万元", "resubmitted_at": "2026-04-14T09:00:00+08:00"}
