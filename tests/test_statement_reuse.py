"""Statements are compiled and planned once, not per request.

The pending-work insert (engine/db/pending.py) is compiled once by SQLAlchemy on both databases; on
PostgreSQL a ROLLBACK keeps psycopg's prepared statements (engine/db/prepared.py), so the statements
a request runs are not planned again by the next request on the same connection.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import DBAPIError

from engine.db import pending
from engine.models import AuditHead, CaseSearchPending, Task, db

KEY = CaseSearchPending.__table__.c.case_id


def test_the_pending_insert_is_compiled_once_and_a_key_stays_one_row(ctx: None) -> None:
    compiled: list[Any] = []

    def seen(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        if "case_search_pending" in statement and statement.lstrip().upper().startswith("INSERT"):
            compiled.append(context.compiled)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        for _ in range(3):
            pending.queue(KEY, [987_654])
            db.session.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert len(compiled) == 3
    assert compiled[0] is compiled[1] is compiled[2]  # one compiled form from SQLAlchemy's cache
    assert db.session.scalars(select(KEY).where(KEY == 987_654)).all() == [987_654]
    pending.done(KEY, [987_654])
    db.session.commit()


def _postgres_only() -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("psycopg's prepared statements are a PostgreSQL matter")


def _prepared(conn: Any) -> set[str]:
    return set(conn.exec_driver_sql("SELECT statement FROM pg_prepared_statements").scalars())


def test_a_rollback_keeps_the_prepared_statements_and_still_rolls_back(ctx: None) -> None:
    _postgres_only()
    probe = select(Task.id).where(Task.id == "no-such-task")
    with db.engine.connect() as conn:
        for _ in range(7):  # psycopg prepares a statement at its fifth run on a connection
            conn.execute(probe).all()
            conn.rollback()
        assert any("WHERE task.id = $1" in s for s in _prepared(conn)), "the rollbacks forgot the prepared statement"
        conn.rollback()

        conn.execute(AuditHead.__table__.insert().values(chain="test:rollback", seq=1, hash="x"))
        conn.rollback()
        assert conn.execute(select(AuditHead.chain).where(AuditHead.chain == "test:rollback")).all() == []
        conn.rollback()

        with pytest.raises(DBAPIError):
            conn.execute(text("SELECT 1 / 0"))
        conn.rollback()  # out of the aborted transaction
        assert conn.execute(text("SELECT 2")).scalar() == 2
        conn.rollback()


def test_requests_reuse_the_prepared_statements_of_their_connection(app: Any, ctx: None) -> None:
    """A page's reads end in a ROLLBACK when the session is removed: the next page on that pooled
    connection still finds its statements prepared."""
    _postgres_only()
    probe = select(Task.id).where(Task.id == "another-missing-task")
    for _ in range(7):
        with app.app_context():
            db.session.execute(probe).all()
            db.session.remove()  # the request's end: rollback, connection back to the pool
    with app.app_context():
        conn = db.session.connection()
        prepared = _prepared(conn)
        db.session.remove()
    assert any("WHERE task.id = $1" in s for s in prepared)


def test_behind_a_pooler_that_cannot_carry_them_nothing_is_prepared(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """``ZHIFA_PG_PREPARED_STATEMENTS=0`` (PgBouncer in transaction mode before 1.21): never prepared."""
    from webui import create_app

    with app.app_context():
        _postgres_only()
        url = db.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("ZHIFA_PG_PREPARED_STATEMENTS", "0")
    pooled = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x"})
    with pooled.app_context():
        with db.engine.connect() as conn:
            for _ in range(7):
                conn.execute(select(Task.id).where(Task.id == "missing")).all()
            assert _prepared(conn) == set()
        db.engine.dispose()
