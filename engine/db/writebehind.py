"""Write-behind: a command's last rows travel with its COMMIT, in one round trip on PostgreSQL.

A command ends with rows nobody reads before it commits: a new case and its instance, the task
projection's new rows, the audit events and the chain head. Sent one by one, each costs a network
round trip to PostgreSQL (and a wake-up of both processes), which is most of what a case start or a
task completion costs. ``defer`` queues such a statement on the transaction's connection and
the commit protocol (engine/db/command.py ``commit``) sends the queue and the COMMIT together in one
psycopg pipeline.

The queue never changes what a reader sees: any other statement on the connection first writes the
queue in order (a read barrier), a commit by any path writes it first, and a rollback drops it.
Statements in the pipeline return nothing the caller inspects: an error (a constraint) is raised
by the COMMIT, the transaction rolls back, and the command fails as a whole. ORM changes are
flushed before the pipeline, outside it, so their version checks read real row counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable, Insert

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
    write_queue(conn)  # the queue is popped first, so these statements do not come back here


def drop_queue(conn: Connection) -> None:
    """A rollback drops the queue (called by the commit protocol, engine/db/command.py)."""
    conn.info.pop(QUEUE, None)
