"""The shared Flask-SQLAlchemy handle and column helpers.

Engine code runs inside an application context (web request, CLI command, worker, test) but never
imports Flask views; ``db.session`` is the unit of work every engine command commits once.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from collections.abc import Iterator

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, MetaData, TypeDecorator, event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# Objects stay readable after a command commits (the command's own results); every read that
# must see other transactions' writes locks or re-reads with populate_existing.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware datetimes on every backend.

    SQLite has no time zone type and hands back naive values; storing UTC and re-attaching it on
    the way out keeps every comparison in the engine aware (deadlines are legal facts).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def configure_sqlite(engine: object) -> None:
    """WAL, foreign keys, a busy timeout, and BEGIN IMMEDIATE for transactions that will write.

    With deferred transactions a command that read first and writes later fails at once with
    SQLITE_BUSY when another connection committed in between (the busy timeout does not apply);
    taking the write lock at BEGIN makes concurrent commands queue instead, which is what the
    optimistic version check then relies on. Code that writes runs inside ``writing()``.
    """
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: object, _record: object) -> None:
        dbapi_connection.isolation_level = None  # type: ignore[attr-defined]
        cur = dbapi_connection.cursor()  # type: ignore[attr-defined]
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA cache_size=-32000")  # 32 MB page cache per connection
        cur.execute("PRAGMA temp_store=MEMORY")
        # Checkpoint every ~32 MB of WAL instead of every 4 MB: fewer, larger copy-backs (each ends
        # in an fsync) keep that cost off most commands; the WAL stays bounded.
        cur.execute("PRAGMA wal_autocheckpoint=8000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: object) -> None:
        # Writers take the lock up front (and queue); readers stay deferred, so WAL lets them run
        # alongside a writer instead of holding the single write lock for a whole page view.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")  # type: ignore[attr-defined]


_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("zhifa_write_intent", default=False)


@contextlib.contextmanager
def writing() -> Iterator[None]:
    """Mark the transactions begun inside as writers (SQLite: BEGIN IMMEDIATE).

    On SQLite a read transaction already open (e.g. loading the current user) is ended first, since
    a deferred transaction cannot be upgraded safely; nothing is pending in it by then. PostgreSQL
    (READ COMMITTED: every statement reads what is committed when it starts) simply goes on in it,
    which spares two round trips per command.
    """
    if _write_intent.get():
        yield
        return
    session = db.session()
    if session.in_transaction() and session.get_bind().dialect.name == "sqlite":
        session.commit()
    token = _write_intent.set(True)
    try:
        yield
    finally:
        _write_intent.reset(token)
        # A writer's transaction never outlives its block: on SQLite it holds the database-wide
        # write lock, so one left open (a path that found nothing to do and returned without a
        # commit) would lock every other connection out for the life of the process. Whatever was
        # not committed by now was not meant to be.
        if session.in_transaction():
            session.rollback()
