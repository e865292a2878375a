"""Verification of stored documents: content against its hash, hash against the audit chain, the
void mark (作废) against the chain, and numbers without gaps per agency × type × year."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from engine.documents.generate import document_hash
from engine.models import AuditEvent, Document, db
from engine.record.audit import Finding


def verify_documents(case_id: int | None = None) -> list[Finding]:
    """An empty list means every document (of the case, or all) is intact."""
    docs = select(Document).order_by(Document.id).execution_options(populate_existing=True)
    events = select(AuditEvent.action, AuditEvent.data).where(
        AuditEvent.action.in_(("document.issued", "document.voided", "document.superseded")))
    if case_id is not None:
        docs, events = docs.where(Document.case_id == case_id), events.where(AuditEvent.case_id == case_id)
    recorded: dict[str, str] = {}
    voided: set[str] = set()  # 作废 is recorded in the chain: a void flag set or cleared by hand is found
    superseded: set[str] = set()  # 已更正 likewise
    for action, data in db.session.execute(events):
        if isinstance(data, dict):
            if action == "document.issued":
                recorded[str(data.get("number"))] = str(data.get("sha256"))
            elif action == "document.voided":
                voided.add(str(data.get("number")))
            else:
                superseded.add(str(data.get("number")))
    findings: list[Finding] = []
    serials: dict[tuple[str, str, int], list[int]] = defaultdict(list)
    for doc in db.session.scalars(docs):
        where = f"文书 {doc.number}"
        if document_hash(doc) != doc.sha256:
            findings.append(Finding(where, doc.serial, doc.id, "文书内容与哈希不符 (document content does not match its hash: edited)"))
        if recorded.pop(doc.number, None) != doc.sha256:
            findings.append(Finding(where, doc.serial, doc.id, "文书哈希与审计记录不符 (document hash differs from the audit record)"))
        if (doc.voided_at is not None) != (doc.number in voided):
            findings.append(Finding(where, doc.serial, doc.id, "文书作废状态与审计记录不符 (the document's void mark differs "
                                                               "from the audit record)"))
        if (doc.superseded_by_id is not None) != (doc.number in superseded):
            findings.append(Finding(where, doc.serial, doc.id, "文书已更正状态与审计记录不符 (the document's superseded mark "
                                                               "differs from the audit record)"))
        serials[(doc.agency, doc.doc_type, doc.year)].append(doc.serial)
    for number in recorded:
        findings.append(Finding(f"文书 {number}", None, None, "审计记录中的文书不存在 (a recorded document is missing: deleted)"))
    if case_id is None:
        for (agency, doc_type, year), taken in serials.items():
            missing = sorted(set(range(1, max(taken) + 1)) - set(taken))
            if missing:
                findings.append(Finding(f"文书编号 {agency}/{doc_type}/{year}", missing[0], None,
                                        f"编号不连续，缺少 {missing[:10]} (document numbers have gaps)"))
    return findings
