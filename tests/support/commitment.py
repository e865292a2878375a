"""Sample form data of the 告知承诺制 procedure (commitment_notice), as the forms in forms/ would submit it.

Shared by the procedure's tests on bare SpiffWorkflow (tests/test_procedure_commitment.py) and the
scenarios worked by officers on the database.
"""

from __future__ import annotations

REGISTER = {"violation_found_on": "2026-03-02", "violation_description": "未在显著位置公示营业执照", "on_commitment_list": True,
            "first_offence": True, "minor_harm": True, "correctable": True}
COMMIT = {"commitment_notified_on": "2026-03-02", "rectification_required": "三日内在显著位置公示营业执照", "party_decision": "commit",
          "commitment_signed_on": "2026-03-02", "rectification_deadline": "2026-03-16"}  # the last of 10 working days
DECLINE = {"commitment_notified_on": "2026-03-02", "rectification_required": "公示营业执照", "party_decision": "decline",
           "decline_note": "当事人拒绝签署"}
REPORTED = {"rectification_reported_on": "2026-03-05", "rectification_description": "已公示"}
VERIFIED = {"verified_on": "2026-03-06", "rectified": True, "repeat_violation": False, "verification_notes": "现场核查已公示"}
CLOSING = {"no_penalty_confirmed": True, "education_given": True, "closed_on": "2026-03-09"}
