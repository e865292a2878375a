"""Reference data every command reads (active specs, time limits, calendar), cached per revision.

A command costs one indexed read of ``config_revision`` instead of re-reading every table; any
change to that data bumps the revision in its own transaction, so every process (web, workers)
sees it on its next command, without a restart.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session, SessionTransaction

from engine.db import caches
from engine.deadlines.holidays import Calendar
from engine.deadlines.holidays import CalendarDay as Day
from engine.models import ActiveProcess, CalendarDay, CalendarYear, ConfigRevision, ProcessSpec, TimeLimit, db


class ActiveSpec(NamedTuple):
    id: int
    deployment_id: int
    startable: bool


class Limit(NamedTuple):
    amount: int
    unit: str
    warn_before: int


@dataclass
class Reference:
    revision: int
    active: dict[str, ActiveSpec] = field(default_factory=dict)
    limits: dict[str, Limit] = field(default_factory=dict)
    calendar: Calendar | None = None


MEMO = "zhifa_reference"
_lock = threading.Lock()
_current: list[Reference] = []


def reference() -> Reference:
    """The reference data for the current transaction (the revision is read once per transaction)."""
    memo = db.session.info.get(MEMO)
    if memo is not None:
        return memo  # type: ignore[no-any-return]
    return at_revision(current_revision())


def seen_revision(revision: int) -> None:
    """The caller read ``revision`` along with a statement of its own: the transaction's reference
    data needs no query of its own (unless it was already read)."""
    if db.session.info.get(MEMO) is None:
        at_revision(revision)


def at_revision(revision: int) -> Reference:
    """The reference data of ``revision``, read by the caller in this transaction (it may ride along
    with a statement of the caller's own: one round trip less, see ``REVISION``)."""
    cached = _current[0] if _current else None
    if cached is not None and cached.revision == revision:
        db.session.info[MEMO] = cached
        return cached
    fresh = _load(revision)
    with _lock:
        _current[:] = [fresh]
    db.session.info[MEMO] = fresh
    return fresh


REVISION = select(ConfigRevision.__table__.c.value).where(ConfigRevision.__table__.c.id == 1)


def current_revision() -> int:
    value = db.session.connection().execute(REVISION).scalar()
    return int(value or 0)


def bump_revision() -> None:
    """Call in the transaction that changes reference data."""
    db.session.info.pop(MEMO, None)
    conn = db.session.connection()
    updated = conn.execute(update(ConfigRevision.__table__).where(ConfigRevision.__table__.c.id == 1)
                           .values(value=ConfigRevision.__table__.c.value + 1)).rowcount
    if not updated:
        db.session.add(ConfigRevision(id=1, value=1))
        db.session.flush()


def uncommitted() -> Reference:
    """This transaction's own reference data, after it changed some (call after ``bump_revision``
    and a flush): used for the rest of the transaction, never put in the process-wide cache, since
    the transaction may still roll back and another one then commit a different revision N+1."""
    fresh = _load(current_revision())
    db.session.info[MEMO] = fresh
    return fresh


@caches.register
def forget() -> None:
    """Drop the cache (tests that reset the database restart revisions at zero)."""
    with _lock:
        _current.clear()


def _load(revision: int) -> Reference:
    conn = db.session.connection()
    active = {
        pid: ActiveSpec(sid, did, bool(startable))
        for pid, sid, did, startable in conn.execute(
            select(ActiveProcess.process_id, ProcessSpec.id, ProcessSpec.deployment_id, ProcessSpec.startable)
            .join(ProcessSpec, ProcessSpec.id == ActiveProcess.process_spec_id)
        )
    }
    limits = {
        key: Limit(amount, unit, warn)
        for key, amount, unit, warn in conn.execute(
            select(TimeLimit.key, TimeLimit.amount, TimeLimit.unit, TimeLimit.warn_before)
        )
    }
    days = [Day(d, k, n) for d, k, n in conn.execute(select(CalendarDay.day, CalendarDay.kind, CalendarDay.name))]  # type: ignore[arg-type]
    years = list(conn.execute(select(CalendarYear.year)).scalars())
    return Reference(revision, active, limits, Calendar(days, years))


@event.listens_for(Session, "after_transaction_end")
def _forget_memo(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(MEMO, None)
