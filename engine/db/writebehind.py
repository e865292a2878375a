"""Write-behind: a command's last rows travel with its COMMIT, in one round trip on PostgreSQL.

A command ends with rows nobody reads before it commits: a new case and its instance, the task
projection's new rows, the audit events and the chain head. Sent one by one, each costs a network
round trip to PostgreSQL (and a wake-up of both processes), which is most of what a case start or a
task completion costs. ``defer`` queues such a statement on the transaction's connection and
the commit protocol (engine/db/command.py ``commit``) sends the queue and the COMMIT together in one
psycopg pipeline.

The queue never changes what a reader sees: any other statement on the connection first writes the
queue in order (a read barrier), unless it is a plain SELECT of tables no queued write touches; a
commit by any path writes it first, and a rollback drops it.
Statements in the pipeline return nothing the caller inspects: an error (a constraint) is raised
by the COMMIT, the transaction rolls back, and the command fails as a whole. ORM changes are
flushed before the pipeline, outside it, so their version checks read real row counts.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import RelationshipProperty
from sqlalchemy.sql import Executable, Insert, Select, visitors
from sqlalchemy.sql.elements import TextClause

from engine.db.session import db

QUEUE = "zhifa_write_behind"
Params = Mapping[str, Any] | Sequence[Mapping[str, Any]]


def defer(statement: Executable, params: Params) -> None:
    """Queue a write whose result nobody inspects; it reaches the database before any later read."""
    if isinstance(statement, Insert) and not statement._inline:
        # A plain INSERT of one row asks for the new id back (RETURNING), which a pipeline cannot answer.
        raise TypeError("a deferred INSERT must be .inline()")
    conn = db.session.connection()
    conn.info.setdefault(QUEUE, []).append((statement, params))


def pending(conn: Connection) -> bool:
    return bool(conn.info.get(QUEUE))


def send_with_commit(conn: Connection) -> None:
    """The queue, then COMMIT, sent together; the pipeline is left before the session hands the
    connection back to its pool (another thread may take it at once)."""
    driver = conn.connection.driver_connection
    try:
        with driver.pipeline():  # type: ignore[union-attr]
            write_queue(conn)
            driver.commit()  # type: ignore[union-attr]
    except driver.Error as exc:  # type: ignore[union-attr]
        # Raised by the COMMIT's round trip, outside SQLAlchemy: give it SQLAlchemy's type, as any
        # other statement's error would have (a deadlock is then a Conflict like elsewhere).
        raise DBAPIError.instance(None, None, exc, type(driver).Error) from exc  # type: ignore[arg-type]


def write_queue(conn: Connection) -> None:
    queue = conn.info.pop(QUEUE, None)
    for statement, params in queue or ():
        conn.execute(statement, params)


@event.listens_for(Engine, "before_execute")
def _read_barrier(conn: Connection, clauseelement: Any, multiparams: Any, params: Any, options: Any) -> None:
    queue = conn.info.get(QUEUE)
    if queue and not _reads_elsewhere(clauseelement, queue):
        write_queue(conn)  # the queue is popped first, so these statements do not come back here


def _reads_elsewhere(statement: Any, queue: list[tuple[Executable, Params]]) -> bool:
    """Whether ``statement`` is a plain SELECT of tables no queued write touches (so it may go first).

    Why: a command that reads reference rows (officers, roles, recusals) after queuing its case and
    instance would otherwise push the queue out early and lose the pipelined commit. Anything this
    cannot see through (a text statement, a write, a table it cannot name) writes the queue first.
    The tables an ORM select joins eagerly or through loader options count as read too.
    """
    if not isinstance(statement, Select):
        return False
    written = set()
    for queued, _ in queue:
        table = getattr(queued, "table", None)
        if not isinstance(table, Table):
            return False
        written.add(table.name)
    try:
        read = _tables_read(statement)
    except Exception:  # noqa: BLE001 — an unexpected shape: be safe, write the queue first
        return False
    return read is not None and not (read & written)


def _tables_read(statement: Select[Any]) -> set[str] | None:
    names: set[str] = set()
    for element in visitors.iterate(statement):
        if isinstance(element, Table):
            names.add(element.name)
        elif isinstance(element, TextClause):
            return None
    for option in statement._with_options:
        for load in getattr(option, "context", None) or ():
            for step in load.path:
                if isinstance(step, RelationshipProperty):
                    names.add(step.mapper.local_table.name)
    return _with_eager_joins(frozenset(names))


@functools.lru_cache(maxsize=512)
def _with_eager_joins(names: frozenset[str]) -> set[str]:
    """``names`` and every table an ORM query of them joins without being asked (lazy="joined")."""
    mappers = {m.local_table.name: m for m in db.Model.registry.mappers if isinstance(m.local_table, Table)}
    seen, todo = set(names), list(names)
    while todo:
        mapper = mappers.get(todo.pop())
        for rel in mapper.relationships if mapper is not None else ():
            target = rel.mapper.local_table.name
            if rel.lazy in ("joined", "selectin", "subquery") and target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def drop_queue(conn: Connection) -> None:
    """A rollback drops the queue (called by the commit protocol, engine/db/command.py)."""
    conn.info.pop(QUEUE, None)
