"""Pending-work tables: keys a command queues with its COMMIT, worked off later in small batches.

Why: some follow-up work (the case-search rows) would need reads inside the command, and a read
pushes the write-behind queue out before the pipelined COMMIT. The command queues a key instead (one
inline insert-or-ignore, sent with the COMMIT); a reader or the scheduler takes the keys and does
the work. The two halves live here once, for every such table. (Where the command writes a row of
the key anyway, a flag on that row costs nothing more: a pool step's pending offer is
``task.offer_pending``.)
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Column, Insert, Table, delete, insert, select
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql.dml import OnConflictDoNothing

from engine.db.session import db
from engine.db.writebehind import defer


class _DoNothing(OnConflictDoNothing):
    """``ON CONFLICT DO NOTHING`` without a target: nothing in it varies, so its class is its cache key."""

    _traverse_internals = []  # type: ignore[assignment]  # noqa: RUF012 — SQLAlchemy's traversal protocol


class _InsertOrIgnore(PgInsert):
    """PostgreSQL's ``INSERT … ON CONFLICT DO NOTHING`` that SQLAlchemy may cache.

    Why: SQLAlchemy never caches its PostgreSQL ``Insert`` or its ON CONFLICT clauses (their cache keys
    would not cover the conflict target), so each queued key compiled its statement anew: a fifth of a
    case start's time. This one only ever carries the target-less ``DO NOTHING`` above.
    """

    inherit_cache = True

    def __init__(self, table: Table) -> None:
        super().__init__(table)
        self._post_values_clause = _DoNothing()


@functools.lru_cache(maxsize=32)
def _insert_or_ignore(table: Table, dialect: str) -> Insert:
    if dialect == "postgresql":
        return _InsertOrIgnore(table).inline()
    return insert(table).prefix_with("OR IGNORE").inline()


def queue(column: Column[Any], keys: list[Any]) -> None:
    """Queue ``keys`` with the COMMIT; a key already pending stays one row."""
    if keys:
        statement = _insert_or_ignore(column.table, db.session.connection().dialect.name)
        defer(statement, [{column.key: key} for key in keys])


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
