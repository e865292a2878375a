"""How a change reaches the database: one unit of work per command, one commit protocol.

Every state change runs in a unit of work: ``@command`` for an engine command, ``unit_of_work()`` for
each item of a sweep (a timer sweep fires a thousand instances, each committed on its own so that
one broken case never undoes the others). Both commit through :func:`commit` and roll back
everything on any error. A unit of work opened inside another one joins it: a command that calls
another command (deploying drafts deploys a bundle, then clears the drafts) commits once, at the
end, or not at all.

This module is also the only place that hooks the commit. Writers in higher layers (the audit
chain) register with :func:`before_commit` instead of listening to SQLAlchemy themselves, so the
order of what happens at a commit is written down here: flush the ORM changes, let each registered
writer queue its rows, then send the write-behind queue together with the COMMIT.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

from SpiffWorkflow.exceptions import SpiffWorkflowException
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.exc import StaleDataError

from engine.db import writebehind
from engine.db.session import db, writing
from engine.db.workflow_errors import ENGINE_FAILURES, raised_in_workflow_engine, workflow_failure
from engine.errors import Conflict, ZhifaError

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

_open: contextvars.ContextVar[bool] = contextvars.ContextVar("zhifa_unit_of_work", default=False)
_BEFORE_COMMIT: list[Callable[[Session], None]] = []
_SCRATCH: set[str] = set()


def command(fn: Callable[P, R]) -> Callable[P, R]:
    """Run ``fn`` as one unit of work and turn the database's and the workflow engine's errors into
    the typed errors a user is shown (a concurrent change is a Conflict, not a stack trace)."""
    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            with unit_of_work():
                return fn(*args, **kwargs)
        except StaleDataError:
            raise Conflict("该任务已被他人处理 (already handled: someone else changed this case first)") from None
        except OperationalError as exc:
            if "lock" in str(exc).lower() or "deadlock" in str(exc).lower():
                raise Conflict("案件正被他人处理，请稍后重试 (the case is busy; try again)") from None
            raise
        except SpiffWorkflowException as exc:
            raise user_error(exc) from exc
        except ENGINE_FAILURES as exc:
            if not raised_in_workflow_engine(exc):
                raise
            log.warning("workflow engine failed in %s", fn.__name__, exc_info=exc)  # SpiffWorkflow's own, unwrapped
            raise user_error(exc) from exc

    return run


@contextlib.contextmanager
def unit_of_work() -> Iterator[None]:
    """One transaction: committed through :func:`commit` when the block ends, rolled back on any
    error. Inside another unit of work the block simply joins it (the outer one commits)."""
    if _open.get():
        yield
        return
    with writing():
        token = _open.set(True)
        try:
            yield
            commit()
        except BaseException:
            db.session.rollback()
            raise
        finally:
            _open.reset(token)


def in_unit_of_work() -> bool:
    return _open.get()


def commit() -> None:
    """Commit the session: ORM changes first (checked), then each registered writer's rows, then the
    write-behind queue and COMMIT in one round trip (PostgreSQL)."""
    session = db.session
    session.flush()
    _run_writers(session())
    conn = session.connection()
    if conn.dialect.name == "postgresql" and writebehind.pending(conn):
        writebehind.send_with_commit(conn)
    session.commit()  # after a pipelined COMMIT the connection is idle: this only ends the session's transaction


def before_commit(writer: Callable[[Session], None], scratch: str | None = None) -> Callable[[Session], None]:
    """Register a writer that queues its rows just before any commit (the audit chain does).

    Why a registry: the writer sits in a higher layer than this module; it registers itself here, so
    the commit protocol stays in one place without importing upwards. A writer must be idempotent
    (it pops what it writes). ``scratch`` names the ``session.info`` key holding its unwritten
    state, dropped whenever a transaction ends without writing it (a rollback).
    """
    _BEFORE_COMMIT.append(writer)
    if scratch:
        _SCRATCH.add(scratch)
    return writer


def transaction_scratch(key: str) -> str:
    """Register a ``session.info`` key whose value lives for one transaction only (a per-transaction
    memo): it is dropped whenever the transaction ends, committed or rolled back."""
    _SCRATCH.add(key)
    return key


def user_error(exc: BaseException) -> ZhifaError:
    """What the user should see for an error raised inside the workflow engine.

    SpiffWorkflow wraps whatever an expression raised (e.g. our CalendarMissing from ``deadline``)
    into WorkflowTaskException; the original is the exception's context.
    """
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ZhifaError):
            return cause
        cause = cause.__cause__ or cause.__context__
    return workflow_failure(exc)


def _run_writers(session: Session) -> None:
    for writer in _BEFORE_COMMIT:
        writer(session)


# The hooks, all here. A commit by any path (a test's or a script's ``db.session.commit()``, not only
# ``commit`` above) still writes the registered writers' rows and the write-behind queue first.
@event.listens_for(Session, "before_commit")
def _on_session_commit(session: Session) -> None:
    _run_writers(session)


@event.listens_for(Session, "after_transaction_end")
def _on_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        for key in _SCRATCH:
            session.info.pop(key, None)


@event.listens_for(Engine, "commit")
def _on_connection_commit(conn: Connection) -> None:
    writebehind.write_queue(conn)


@event.listens_for(Engine, "rollback")
def _on_connection_rollback(conn: Connection) -> None:
    writebehind.drop_queue(conn)

