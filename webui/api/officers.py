"""The case's officers: 回避 (法 Art. 43) requests and decisions, and re-designating its handlers."""

from __future__ import annotations

from typing import Any

from engine.models import Case, Recusal, db
from engine.policy.access import get_case
from engine.policy.officers import designate_handlers as designate
from engine.policy.officers import designated_handlers, require_designator
from engine.runtime.recusal import decide_recusal as decide
from engine.runtime.recusal import recusals_of, request_recusal, require_decider
from engine.runtime.recusal import require_officer as require_case_officer

from . import bp, current, json_body
from .present import case_summary, iso


def recusal_summary(recusal: Recusal) -> dict[str, Any]:
    return {
        "n": recusal.seq, "officer": recusal.officer.username, "source": recusal.source, "reason": recusal.reason,
        "requested_by": recusal.requested_by, "requested_at": iso(recusal.requested_at), "status": recusal.status,
        "decided_by": recusal.decided_by, "decided_at": iso(recusal.decided_at), "decision_reason": recusal.decision_reason,
        "collective": recusal.collective,
        "discussion_on": recusal.discussion_on.isoformat() if recusal.discussion_on else None,
        "discussion_record": recusal.discussion_record, "document": recusal.document_number,
    }


def case_officers(case: Case) -> dict[str, Any]:
    """What ``GET /cases/<id>`` adds: the designated handlers and every recusal request."""
    return {"designated_handlers": [u.username for u in designated_handlers(case.id)],
            "recusals": [recusal_summary(r) for r in recusals_of(case.id)]}


@bp.post("/cases/<int:case_id>/recusals")
def create_recusal(case_id: int) -> tuple[dict[str, Any], int]:
    """回避申请: the party's application recorded by an officer (``source: party``) or the officer's own
    (``source: self``). The case goes on meanwhile (法 Art. 43)."""
    require_case_officer(current())  # the engine's own rule, before the body is read: a wrong role is a 403
    body = json_body()
    recusal = request_recusal(current(), case_id, body.get("officer"), body.get("source"), body.get("reason"))
    return _answer(recusal), 201


@bp.post("/cases/<int:case_id>/recusals/<int:n>/decide")
def decide_recusal(case_id: int, n: int) -> dict[str, Any]:
    """The agency head decides recusal ``n`` (for an agency head: ``collective_discussion`` with its date and
    record); issues the 回避决定书. A granted recusal takes the officer off every step of the case."""
    require_decider(current())
    body = json_body()
    recusal = decide(current(), case_id, n, body.get("decision"), body.get("reason"),
                             body.get("collective_discussion") is True, body.get("discussion_on"),
                             body.get("discussion_record"))
    return _answer(recusal)


@bp.post("/cases/<int:case_id>/handlers")
def designate_handlers(case_id: int) -> dict[str, Any]:
    """重新指定承办人 (unit head; 法 Art. 42): two or more credentialed officers, with the reason (audited)."""
    require_designator(current())
    body = json_body()
    case = designate(current(), case_id, body.get("handlers"), body.get("reason"))
    return {**case_summary(case), **case_officers(case)}


def _answer(recusal: Recusal) -> dict[str, Any]:
    case = get_case(current(), recusal.case_id)
    db.session.refresh(recusal)
    return {"recusal": recusal_summary(recusal), "case": {**case_summary(case), **case_officers(case)}}
