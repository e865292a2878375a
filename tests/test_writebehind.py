"""Write-behind (engine/db/writebehind.py): queued rows are never lost, never seen late, never
kept after a rollback; on PostgreSQL a command's last writes travel with its COMMIT."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, insert, select, text
from sqlalchemy.exc import IntegrityError

from engine.db.command import command
from engine.db.writebehind import QUEUE, defer
from engine.models import AuditHead, Case, OrgUnit, User, db
from engine.runtime import start_case
from tests.conftest import user

HEAD = insert(AuditHead.__table__).inline()


def _heads() -> list[str]:
    return list(db.session.scalars(select(AuditHead.chain).where(AuditHead.chain.like("test:%")).order_by(AuditHead.chain)))


def test_a_read_in_the_same_transaction_sees_the_queued_rows(ctx):
    defer(HEAD, {"chain": "test:a", "seq": 1, "hash": "x"})
    assert db.session.connection().info.get(QUEUE)
    assert _heads() == ["test:a"]  # the SELECT wrote the queue first
    assert not db.session.connection().info.get(QUEUE)
    db.session.rollback()
    assert _heads() == []


def test_a_read_of_other_tables_leaves_the_queue_for_the_commit(people, ctx):
    """Reading officers or roles does not push queued rows out early (they stay for the pipelined
    commit); a read that joins a queued table, a text statement or a write still writes them first."""
    defer(HEAD, {"chain": "test:b", "seq": 1, "hash": "x"})
    db.session.execute(select(OrgUnit.code)).all()
    assert db.session.scalars(select(User).where(User.username == "a_handler1")).first()  # eager joins: unit, roles
    assert db.session.connection().info.get(QUEUE)  # still queued
    db.session.execute(select(OrgUnit.code).where(OrgUnit.code.in_(select(AuditHead.chain)))).all()
    assert not db.session.connection().info.get(QUEUE)  # a subquery of the queued table: written first
    defer(HEAD, {"chain": "test:c", "seq": 1, "hash": "x"})
    db.session.execute(text("SELECT 1"))
    assert not db.session.connection().info.get(QUEUE)  # a statement it cannot see through: written first
    assert _heads() == ["test:b", "test:c"]
    db.session.rollback()


def test_a_rollback_drops_the_queue(ctx):
    defer(HEAD, {"chain": "test:b", "seq": 1, "hash": "x"})
    db.session.rollback()
    db.session.commit()  # a later commit on the same pooled connection writes nothing left over
    assert _heads() == []


def test_any_commit_writes_the_queue(ctx):
    defer(HEAD, [{"chain": "test:c", "seq": 1, "hash": "x"}, {"chain": "test:d", "seq": 1, "hash": "y"}])
    db.session.commit()  # not through a command: the connection's commit hook writes the queue
    db.session.remove()
    assert _heads() == ["test:c", "test:d"]


def test_a_failing_queued_write_fails_the_whole_command_and_changes_nothing(people, ctx):
    db.session.add(AuditHead(chain="test:taken", seq=1, hash="x"))
    db.session.commit()

    @command
    def rename_and_collide() -> None:
        unit = db.session.scalars(select(OrgUnit).where(OrgUnit.code == "unit_a")).one()
        unit.name = "改名"
        defer(HEAD, {"chain": "test:new", "seq": 1, "hash": "x"})
        defer(HEAD, {"chain": "test:taken", "seq": 2, "hash": "y"})  # primary key taken: raised by the COMMIT

    with pytest.raises(IntegrityError):
        rename_and_collide()
    db.session.remove()
    assert _heads() == ["test:taken"]
    assert db.session.scalars(select(OrgUnit.name).where(OrgUnit.code == "unit_a")).one() != "改名"


def test_an_insert_that_would_return_its_id_cannot_be_queued(ctx):
    with pytest.raises(TypeError, match="inline"):
        defer(insert(OrgUnit.__table__), {"code": "Z", "name": "Z"})


def test_a_case_start_sends_its_rows_with_the_commit(app, people, mini, frozen):
    """On PostgreSQL: only the number (with both ids) needs an answer; the case, instance, task and
    audit rows and the COMMIT go out in one pipeline. On SQLite the same rows are written in order."""
    seen: list[tuple[str, bool]] = []

    def record(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        driver = conn.connection.driver_connection
        seen.append((statement.split()[0:3][-1].strip('"'), getattr(driver, "_pipeline", None) is not None))

    with app.app_context():
        handler = user("a_handler1")
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            case = start_case(handler, "mini", {"party_type": "citizen", "party_name": "张三"}, {"proposed_fine": 100})
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        tables = {"case", "process_instance", "task", "audit_event", "audit_head"}
        inserts = {table: pipelined for table, pipelined in seen if table in tables}
        assert set(inserts) == tables
        pg = db.engine.dialect.name == "postgresql"
        assert all(pipelined is pg for pipelined in inserts.values()), (inserts, seen)
        db.session.remove()
        stored = db.session.get(Case, case.id)
        assert stored is not None and stored.case_number == case.case_number
