"""Reading documents, scoped like cases: another unit's document is indistinguishable from a missing one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.errors import NotFound
from engine.models import Document, User, db
from engine.policy.access import get_case


def case_documents(case_id: int) -> list[Document]:
    """The case's documents in the order they were issued (the caller has checked access to the case)."""
    return list(db.session.scalars(select(Document).where(Document.case_id == case_id).order_by(Document.id)))


def get_document(actor: User, case_id: int, document_id: int) -> Document:
    case = get_case(actor, case_id)
    document = db.session.get(Document, document_id)
    if document is None or document.case_id != case.id:
        raise NotFound("文书不存在或无权查看 (document not found)")
    return document


def export_entries(case_id: int) -> list[dict[str, Any]]:
    """The case's documents for the case-file export (engine/casefile/export.py).

    Each file is the exact canonical JSON the document's sha256 was computed over (content, data
    snapshot, number, …), so the hash recorded in the audit chain checks the file offline.
    """
    from engine.documents.generate import hash_payload

    entries = []
    for doc in case_documents(case_id):
        entries.append({"file": f"documents/{doc.id}.json", "number": doc.number, "type": doc.doc_type,
                        "sha256": doc.sha256, "content": hash_payload(doc),
                        # 作废 is kept in the record: the document stays, marked, with the reason.
                        "voided": doc.voided_at is not None,
                        "voided_at": doc.voided_at.isoformat() if doc.voided_at else None,
                        "void_reason": doc.void_reason})
    return entries
