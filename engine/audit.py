"""The full-process record (全过程记录, 法 Art. 47) as per-case hash chains.

Each event stores ``prev_hash`` and ``hash = sha256(canonical JSON of the event + prev_hash)`` and is
written in the same transaction as the change it records, so a change without its record (or the
reverse) cannot be committed. ``verify`` finds edited, deleted and reordered rows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from . import clock
from .models import AuditEvent, AuditHead, db

GENESIS = "0" * 64


@dataclass(frozen=True)
class Finding:
    chain: str
    seq: int | None
    event_id: int | None
    problem: str

    def __str__(self) -> str:
        return f"{self.chain} #{self.seq} (id {self.event_id}): {self.problem}"


def record(
    action: str,
    actor: str,
    data: dict[str, Any] | None = None,
    case_id: int | None = None,
    instance_id: int | None = None,
    task_id: str | None = None,
) -> AuditEvent:
    """Append one event to the case's chain (or the system chain) in the current transaction."""
    chain = f"case:{case_id}" if case_id is not None else "system"
    # The head locked earlier in this transaction is reused: one lock per chain per command.
    heads: dict[str, AuditHead] = db.session.info.setdefault("audit_heads", {})
    head = heads.get(chain)
    if head is None or head not in db.session:
        head = db.session.scalars(select(AuditHead).where(AuditHead.chain == chain).with_for_update()).first()
        if head is None:
            head = AuditHead(chain=chain, seq=0, hash=GENESIS)
            db.session.add(head)
        heads[chain] = head
    event = AuditEvent(
        chain=chain,
        seq=head.seq + 1,
        case_id=case_id,
        instance_id=instance_id,
        task_id=task_id,
        actor=actor,
        action=action,
        at=clock.now(),
        data=_plain(data or {}),
        prev_hash=head.hash,
    )
    event.hash = event_hash(event)
    head.seq, head.hash = event.seq, event.hash
    db.session.add(event)
    return event


def event_hash(event: AuditEvent) -> str:
    payload = {
        "chain": event.chain,
        "seq": event.seq,
        "case_id": event.case_id,
        "instance_id": event.instance_id,
        "task_id": event.task_id,
        "actor": event.actor,
        "action": event.action,
        "at": event.at.isoformat(),
        "data": event.data,
        "prev_hash": event.prev_hash,
    }
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def verify(case_id: int | None = None) -> list[Finding]:
    """Check one case's chain, or every chain; an empty list means intact."""
    if case_id is not None:
        chains: Iterable[str] = [f"case:{case_id}"]
    else:
        chains = sorted(
            set(db.session.scalars(select(AuditHead.chain))) | set(db.session.scalars(select(AuditEvent.chain).distinct()))
        )
    findings: list[Finding] = []
    for chain in chains:
        findings += _verify_chain(chain)
    return findings


def _verify_chain(chain: str) -> list[Finding]:
    findings = []
    prev_hash, expected_seq = GENESIS, 1
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.id))
    last: AuditEvent | None = None
    for ev in events:
        if ev.seq != expected_seq:
            problem = f"序号不连续：期望 {expected_seq} (missing or reordered row; expected seq {expected_seq})"
            findings.append(Finding(chain, ev.seq, ev.id, problem))
        if ev.prev_hash != prev_hash:
            problem = "前一哈希不匹配 (prev_hash does not match the previous row: deleted or reordered)"
            findings.append(Finding(chain, ev.seq, ev.id, problem))
        if event_hash(ev) != ev.hash:
            findings.append(Finding(chain, ev.seq, ev.id, "记录内容被修改 (row content does not match its hash: edited)"))
        prev_hash, expected_seq, last = ev.hash, ev.seq + 1, ev
    head = db.session.get(AuditHead, chain)
    if head is not None and (last is None or head.seq != last.seq or head.hash != last.hash):
        findings.append(Finding(chain, head.seq, None, "链尾与记录不符 (chain head does not match the last row: rows deleted at the end)"))
    return findings


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """JSON-native copy, so what is stored is exactly what was hashed."""
    return json.loads(json.dumps(data, ensure_ascii=False, default=str))
