"""Verification of evidence: every stored object re-hashed (streamed) against the hash the case's
chain recorded when the item was registered, and the rows against their events.

A changed byte, a truncated or missing object, a row edited in the database, an item deleted, or a
withdrawal set or cleared by hand: each is a finding for ``zhifa audit verify`` and the
administrators' record check (engine/casefile/verify.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.evidence.storage import StorageError, get_storage, rehash
from engine.models import AuditEvent, Evidence, db
from engine.record.audit import Finding

CHECKED = ("sha256", "size", "kind", "seq", "content_type")


def verify_evidence(case_id: int | None = None) -> list[Finding]:
    """An empty list means every item (of the case, or all) is intact, bytes included."""
    items = select(Evidence).order_by(Evidence.id).execution_options(populate_existing=True)
    events = select(AuditEvent.action, AuditEvent.data).where(AuditEvent.action.in_(("evidence.registered", "evidence.withdrawn")))
    if case_id is not None:
        items, events = items.where(Evidence.case_id == case_id), events.where(AuditEvent.case_id == case_id)
    registered: dict[int, dict[str, Any]] = {}
    withdrawn: set[int] = set()
    for action, data in db.session.execute(events):
        if isinstance(data, dict) and isinstance(data.get("evidence_id"), int):
            if action == "evidence.registered":
                registered[data["evidence_id"]] = data
            else:
                withdrawn.add(data["evidence_id"])
    findings: list[Finding] = []
    for item in db.session.scalars(items):
        where = f"证据 case:{item.case_id} #{item.seq}"
        recorded = registered.pop(item.id, None)
        if recorded is None:
            findings.append(Finding(where, item.seq, item.id, "办案记录中没有该证据的登记 (the record holds no registration of this item)"))
        elif any(recorded.get(key) != getattr(item, key) for key in CHECKED):
            findings.append(Finding(where, item.seq, item.id,
                                    "证据信息与办案记录不符 (the item differs from its recorded registration: edited)"))
        if item.withdrawn != (item.id in withdrawn):
            findings.append(Finding(where, item.seq, item.id, "证据撤回状态与办案记录不符 (the withdrawal differs from the record)"))
        expected = recorded.get("sha256") if recorded else item.sha256
        try:
            stored = rehash(get_storage(), item.sha256)
        except (StorageError, OSError) as exc:
            findings.append(Finding(where, item.seq, item.id, f"证据文件无法读取 (the stored file cannot be read): {exc}"))
            continue
        if stored is None:
            findings.append(Finding(where, item.seq, item.id, f"证据文件缺失 (the stored file {item.sha256[:12]}… is missing: deleted)"))
        elif stored[0] != expected or stored[1] != item.size:
            findings.append(Finding(where, item.seq, item.id, f"证据文件被修改，哈希不符 (the stored file {item.sha256[:12]}… was "
                                                              "changed: its sha256 no longer matches the record)"))
    for evidence_id, data in registered.items():
        findings.append(Finding(f"证据 #{data.get('seq')}", data.get("seq"), evidence_id,
                                "办案记录中登记的证据不存在 (a recorded evidence item is missing: deleted)"))
    return findings
