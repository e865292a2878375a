"""Emptying the test database between tests (tests/conftest.py) or between cases that share one
database (the foreign corpus, tests/test_foreign_corpus.py)."""

from __future__ import annotations

from sqlalchemy import text

from engine.models import db


def empty_database() -> None:
    """Every table emptied, children first; on PostgreSQL in one TRUNCATE that also resets ids."""
    db.session.remove()
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(text(f'DELETE FROM "{t}"'))
