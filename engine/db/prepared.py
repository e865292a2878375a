"""PostgreSQL: a ROLLBACK that keeps psycopg's prepared statements.

Why: psycopg prepares a statement on a connection once it has run there five times, and PostgreSQL
then stops planning it. Planning is most of what the task and case loads cost (half a millisecond
each with their joined units and agencies, against a twentieth of that to execute). But psycopg
forgets every prepared statement at each ROLLBACK, and nearly every request ends with one: a page's
reads are never committed, and a command's answer is read after its COMMIT. So no statement ever
reached its fifth run, and PostgreSQL planned every statement of every request afresh.

A prepared statement belongs to the PostgreSQL session, not to the transaction: it outlives a
ROLLBACK. psycopg drops them anyway in case the transaction rolled back a schema change they depend
on. zhifa changes the schema only in migrations, which commit; and psycopg still forgets them on a
DROP, which it sees on the statement itself.
"""

from __future__ import annotations

from typing import Any

from psycopg import errors, pq
from sqlalchemy.engine import Engine

_OPEN = (pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR)


def keep_prepared_statements(engine: Engine) -> None:
    """Roll back this engine's PostgreSQL transactions without psycopg's cache clearing.

    Only the plain case is taken over: an open transaction outside pipeline mode. Anything else
    (no transaction, a pipeline to leave, a query still running) goes through psycopg's own rollback.
    """
    dialect = engine.dialect
    psycopg_rollback = dialect.do_rollback

    def do_rollback(dbapi_connection: Any) -> None:
        raw = getattr(dbapi_connection, "dbapi_connection", dbapi_connection)
        info = raw.info
        if info.transaction_status not in _OPEN or info.pipeline_status != pq.PipelineStatus.OFF:
            psycopg_rollback(dbapi_connection)
            return
        result = raw.pgconn.exec_(b"ROLLBACK")
        if result.status != pq.ExecStatus.COMMAND_OK:
            raise errors.error_from_result(result, encoding=info.encoding)

    dialect.do_rollback = do_rollback  # type: ignore[method-assign]
