"""作废: a document issued on a path the process then refused (a decision above the notice, a report
outside the discretion benchmark) is void.

全过程记录 (法 Art. 47) keeps it: the row, its content, its number and its hash stay as issued, and
the chain records the voiding (``document.voided``) next to the issuing. What changes is what it is
good for: a void 行政处罚决定书 is never published (and a publication of it is withdrawn), and the
printable case file leaves it out (engine/casefile/export.py).
"""

from __future__ import annotations

from sqlalchemy import select

from engine import clock
from engine.models import Document, db
from engine.publication.publish import void_decision
from engine.record import audit

MAX_REASON = 1000


def void_latest(case_id: int, doc_type: str, reason: str, actor: str, instance_id: int | None = None,
                task_id: str | None = None) -> Document | None:
    """Void the case's latest still-valid document of ``doc_type``; None when there is none."""
    document = db.session.scalars(
        select(Document).where(Document.case_id == case_id, Document.doc_type == doc_type, Document.voided_at.is_(None))
        .order_by(Document.id.desc()).limit(1)).first()
    if document is None:
        return None
    reason = reason.strip()[:MAX_REASON]
    document.voided_at = clock.now()
    document.void_reason = reason
    audit.record("document.voided", actor,
                 {"document_type": document.doc_type, "number": document.number, "sha256": document.sha256,
                  "reason": reason},
                 case_id=case_id, instance_id=instance_id, task_id=task_id)
    void_decision(document, reason, actor)  # the 公示 of a void decision is withdrawn (or never made)
    return document
