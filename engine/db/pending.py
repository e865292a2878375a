"""Pending-work tables: keys a command queues with its COMMIT, worked off later in small batches.

Why: some follow-up work (the case-search rows, the pool offers) would need reads inside the command,
and a read pushes the write-behind queue out before the pipelined COMMIT. The command queues a key
instead (one inline insert-or-ignore, sent with the COMMIT); a reader or the scheduler takes the keys
and does the work. The two halves live here once, for every such table.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Insert, delete, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from engine.db.session import db
from engine.db.writebehind import defer


def queue(column: Column[Any], keys: list[Any]) -> None:
    """Queue ``keys`` with the COMMIT; a key already pending stays one row."""
    if not keys:
        return
    table = column.table
    statement: Insert = (pg_insert(table).on_conflict_do_nothing() if db.session.connection().dialect.name == "postgresql"
                         else insert(table).prefix_with("OR IGNORE"))
    defer(statement.inline(), [{column.key: key} for key in keys])


def any_pending(column: Column[Any]) -> bool:
    """One indexed read: the usual answer is no, and then no write lock is taken."""
    return db.session.execute(select(column).limit(1)).first() is not None


def take(column: Column[Any], limit: int) -> list[Any]:
    """Up to ``limit`` pending keys, in the caller's transaction; on PostgreSQL those another worker
    holds are skipped (SKIP LOCKED), so two workers never wait on each other."""
    query = select(column).order_by(column).limit(limit)
    if db.session.connection().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(db.session.scalars(query))


def done(column: Column[Any], keys: list[Any]) -> None:
    if keys:
        db.session.execute(delete(column.table).where(column.in_(keys)))
