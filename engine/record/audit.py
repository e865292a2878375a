"""The full-process record (全过程记录, 法 Art. 47) as per-case hash chains.

Each event stores ``prev_hash`` and ``hash = sha256(canonical JSON of the event + prev_hash)`` and is
written in the same transaction as the change it records, so a change without its record (or the
reverse) cannot be committed. ``verify`` finds edited, deleted and reordered rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from engine import clock
from engine.db.command import before_commit
from engine.db.writebehind import defer
from engine.models import AuditEvent, AuditHead, db
from engine.record import offline_check as recordcheck

GENESIS = recordcheck.GENESIS
PENDING = "zhifa_audit_pending"
# Core tables: audit rows are written in bulk without ORM bookkeeping (they are never updated).
EVENT = AuditEvent.__table__
HEAD = AuditHead.__table__
# Statements built once: constructing them per call costs more than running them.
_LOCK_HEAD = select(HEAD.c.seq, HEAD.c.hash).where(HEAD.c.chain == bindparam("b_chain")).with_for_update()
_INSERT_EVENT = insert(EVENT).inline()  # inline: no RETURNING of the new id (it travels write-behind)
_INSERT_HEAD = insert(HEAD).inline()
_UPDATE_HEAD = update(HEAD).where(HEAD.c.chain == bindparam("b_chain")).values(seq=bindparam("b_seq"), hash=bindparam("b_hash"))


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
    new_chain: bool = False,
) -> str:
    """Append one event to the case's chain (or the system chain) in the current transaction.

    Events are hashed at once and written together just before the transaction commits (one
    statement per command instead of one per event); a rollback discards them with the change.
    Returns the event's hash. ``new_chain`` (a case created in this transaction) skips the head lookup.
    """
    chain = f"case:{case_id}" if case_id is not None else "system"
    pending: dict[str, dict[str, Any]] = db.session.info.setdefault(PENDING, {})
    entry = pending.get(chain)
    if entry is None:
        # Locking the head serializes writers of one chain (PostgreSQL); SQLite holds its write lock.
        head = None if new_chain else db.session.connection().execute(_LOCK_HEAD, {"b_chain": chain}).first()
        entry = {"seq": head.seq if head else 0, "hash": head.hash if head else GENESIS,
                 "exists": head is not None, "rows": []}
        pending[chain] = entry
    values = {
        "chain": chain,
        "seq": entry["seq"] + 1,
        "case_id": case_id,
        "instance_id": instance_id,
        "task_id": task_id,
        "actor": actor,
        "action": action,
        "at": clock.now(),
        "data": _plain(data or {}),
        "prev_hash": entry["hash"],
    }
    values["hash"] = event_hash(values)
    entry["seq"], entry["hash"] = values["seq"], values["hash"]
    entry["rows"].append(values)
    return values["hash"]


def latest(case_id: int, action: str) -> dict[str, Any] | None:
    """The data of the case's latest ``action`` event, this transaction's unwritten ones included."""
    entry = db.session.info.get(PENDING, {}).get(f"case:{case_id}")
    for values in reversed(entry["rows"] if entry else []):
        if values["action"] == action:
            return values["data"]
    return db.session.scalars(select(AuditEvent.data).where(AuditEvent.chain == f"case:{case_id}", AuditEvent.action == action)
                              .order_by(AuditEvent.seq.desc()).limit(1)).first()


def write_pending(session: Session) -> None:
    """Write the transaction's pending events and move each chain head (the commit protocol calls it
    before every commit; a rollback drops the pending events with the change)."""
    pending: dict[str, dict[str, Any]] = session.info.pop(PENDING, {})
    for chain, entry in pending.items():
        if not entry["rows"]:
            continue
        # Nobody reads them before the commit: they travel with it (one round trip on PostgreSQL).
        defer(_INSERT_EVENT, entry["rows"])
        if entry["exists"]:
            defer(_UPDATE_HEAD, {"b_chain": chain, "b_seq": entry["seq"], "b_hash": entry["hash"]})
        else:
            defer(_INSERT_HEAD, {"chain": chain, "seq": entry["seq"], "hash": entry["hash"]})


before_commit(write_pending, scratch=PENDING)


def event_hash(values: Any) -> str:
    """sha256 over the canonical JSON of an event (a row or a mapping of its values).

    Computed by ``engine.record.offline_check``, the stdlib-only module that also ships inside every case-file
    export, so the offline check and the engine can never disagree.
    """
    get = values.get if isinstance(values, dict) else lambda k: getattr(values, k)
    return recordcheck.event_hash({key: get(key) for key in recordcheck.HASHED_FIELDS})


canonical_json = recordcheck.canonical_json


def verify_chains(case_id: int | None = None) -> list[Finding]:
    """Check one case's chain, or every chain; an empty list means intact.

    Documents and 公示 records are checked against the chain by ``engine.casefile.verify.verify_record``,
    which sits above them (they record into this chain, so this module cannot import them).
    """
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
    # populate_existing: verification must read what is stored now, never a copy cached in this session.
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.id).execution_options(populate_existing=True)
    )
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
    head = db.session.get(AuditHead, chain, populate_existing=True)
    if head is not None and (last is None or head.seq != last.seq or head.hash != last.hash):
        findings.append(Finding(chain, head.seq, None, "链尾与记录不符 (chain head does not match the last row: rows deleted at the end)"))
    return findings


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """JSON-native copy, so what is stored is exactly what was hashed."""
    return json.loads(json.dumps(data, ensure_ascii=False, default=str))
