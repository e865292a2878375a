"""The full-process record (engine/record/audit.py): per-case hash chains detect edited, deleted and reordered rows.

A case of the mini procedure is run through a few steps, then its rows are tampered with directly in
SQL (bypassing the ORM and the chain), as someone with database access would. ``verify`` and the
``audit verify`` command must report the damage, naming the row.
"""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select, text, update

from engine.casefile.verify import verify_record
from engine.models import AuditEvent, AuditHead, Task, db
from engine.record import audit
from engine.runtime import claim_task, complete_task, start_case
from tests.conftest import user

PARTY = {"party_type": "organization", "party_name": "某某餐饮有限公司"}


def open_task(case_id: int) -> Task:
    [task] = db.session.scalars(select(Task).where(Task.case_id == case_id, Task.status == "open"))
    return task


def run_case(fine: float = 20000) -> int:
    """A case taken through registration and review (or service): several events on its chain."""
    case_id = start_case(user("a_handler1"), "mini", PARTY, {"violation": "未按规定公示", "proposed_fine": fine}).id
    register = open_task(case_id)
    claim_task(user("a_handler1"), register.id)
    complete_task(user("a_handler1"), register.id, {"facts": "经营场所未公示营业执照", "proposed_fine": fine})
    task = open_task(case_id)
    if task.bpmn_id == "review":
        complete_task(user("a_reviewer"), task.id, {"opinion": "approve"})
    else:
        complete_task(user("a_handler2"), task.id, {"served_on": "2026-03-03"})
    return case_id


def chain(case_id: int) -> list[AuditEvent]:
    """The case's events in chain order. Read what you need before tampering: a commit expires them."""
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.seq)))


def ids_and_seqs(case_id: int) -> list[tuple[int, int]]:
    return [(e.id, e.seq) for e in chain(case_id)]


def sql(statement: str, **params: object) -> None:
    """Tamper behind the engine's back, and commit."""
    db.session.execute(text(statement), params)
    db.session.commit()


@pytest.fixture
def case_id(ctx, people, mini, frozen) -> int:
    case_id = run_case()
    db.session.expire_all()
    events = chain(case_id)
    assert len(events) >= 6, [e.action for e in events]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    return case_id


def rows_named(findings: list[audit.Finding]) -> set[int | None]:
    return {f.event_id for f in findings}


# ---------------------------------------------------------------------------------------------------
# Intact chains
# ---------------------------------------------------------------------------------------------------
def test_intact_chains_verify_clean(case_id):
    assert verify_record(case_id) == []
    assert verify_record() == []  # every chain, the system chain (deployments, users) included
    events = chain(case_id)
    assert events[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:], strict=False))
    head = db.session.get(AuditHead, f"case:{case_id}")
    assert (head.seq, head.hash) == (events[-1].seq, events[-1].hash)


def test_case_events_record_who_did_what(case_id):
    actions = [(e.action, e.actor) for e in chain(case_id)]
    assert actions[0] == ("case.started", "a_handler1")
    assert ("task.claimed", "a_handler1") in actions
    assert ("task.completed", "a_reviewer") in actions


# ---------------------------------------------------------------------------------------------------
# Tampering
# ---------------------------------------------------------------------------------------------------
def test_edited_actor_is_detected_on_that_row(case_id):
    victim_id, victim_seq = ids_and_seqs(case_id)[2]
    sql("UPDATE audit_event SET actor = :actor WHERE id = :id", actor="mallory", id=victim_id)
    findings = verify_record(case_id)
    assert rows_named(findings) == {victim_id}
    assert "edited" in findings[0].problem and findings[0].seq == victim_seq
    assert findings[0].chain == f"case:{case_id}"


def test_edited_json_data_is_detected(case_id):
    victim = next(e for e in chain(case_id) if e.action == "task.completed")
    victim_id, forged = victim.id, dict(victim.data, data={"facts": "伪造的事实", "proposed_fine": 1})
    # Core UPDATE (no ORM, no hashing); the JSON type binds the value on SQLite and PostgreSQL alike.
    table = AuditEvent.__table__
    db.session.execute(update(table).where(table.c.id == victim_id).values(data=forged))
    db.session.commit()
    assert db.session.get(AuditEvent, victim_id, populate_existing=True).data["data"]["facts"] == "伪造的事实"
    assert rows_named(verify_record(case_id)) == {victim_id}


def test_edit_with_a_recomputed_hash_breaks_the_link_to_the_next_row(case_id):
    events = chain(case_id)
    victim, successor_id = events[2], events[3].id
    victim_id = victim.id
    victim.actor = "mallory"
    forged_hash = audit.event_hash(victim)  # what a forger with the code can compute
    db.session.rollback()  # the forgery goes in by SQL, not through the session
    sql("UPDATE audit_event SET actor = 'mallory', hash = :h WHERE id = :id", h=forged_hash, id=victim_id)
    findings = verify_record(case_id)
    assert rows_named(findings) == {successor_id}
    assert "prev_hash" in findings[0].problem


def test_deleted_middle_row_is_detected(case_id):
    rows = ids_and_seqs(case_id)
    (victim_id, victim_seq), (successor_id, _) = rows[3], rows[4]
    sql("DELETE FROM audit_event WHERE id = :id", id=victim_id)
    findings = verify_record(case_id)
    assert findings and rows_named(findings) == {successor_id}
    problems = " ".join(f.problem for f in findings)
    assert f"expected seq {victim_seq}" in problems and "prev_hash" in problems


def test_deleted_last_row_is_detected_by_the_chain_head(case_id):
    last_id, last_seq = ids_and_seqs(case_id)[-1]
    sql("DELETE FROM audit_event WHERE id = :id", id=last_id)
    [finding] = verify_record(case_id)
    assert finding.event_id is None and finding.seq == last_seq
    assert "chain head" in finding.problem


def test_deleted_first_row_is_detected(case_id):
    (first_id, _), (second_id, _) = ids_and_seqs(case_id)[:2]
    sql("DELETE FROM audit_event WHERE id = :id", id=first_id)
    assert rows_named(verify_record(case_id)) == {second_id}


def test_reordered_rows_are_detected(case_id):
    rows = ids_and_seqs(case_id)
    (a_id, a_seq), (b_id, b_seq) = rows[1], rows[4]
    # Swap the two seq values in three steps: (chain, seq) is unique, checked per row on PostgreSQL.
    sql("UPDATE audit_event SET seq = -1 WHERE id = :id", id=a_id)
    sql("UPDATE audit_event SET seq = :seq WHERE id = :id", seq=a_seq, id=b_id)
    sql("UPDATE audit_event SET seq = :seq WHERE id = :id", seq=b_seq, id=a_id)
    findings = verify_record(case_id)
    assert {a_id, b_id} <= rows_named(findings)
    assert any("reordered" in f.problem for f in findings)


def test_rows_swapped_whole_are_detected(case_id):
    """Two rows exchange their entire content (ids stay): each row is self-consistent, the order is not."""
    table = AuditEvent.__table__
    events = chain(case_id)
    a_id, b_id = events[2].id, events[3].id
    columns = [c.name for c in table.columns if c.name != "id"]
    content = {e.id: {c: getattr(e, c) for c in columns} for e in events[2:4]}
    for row_id, values in ((a_id, {"seq": -1}), (b_id, content[a_id]), (a_id, content[b_id])):
        db.session.execute(update(table).where(table.c.id == row_id).values(**values))
    db.session.commit()
    assert db.session.get(AuditEvent, a_id, populate_existing=True).hash == content[b_id]["hash"]
    findings = verify_record(case_id)
    assert {a_id, b_id} <= rows_named(findings)
    assert not any("edited" in f.problem for f in findings)  # every row still matches its own hash


def test_tampering_with_one_case_does_not_implicate_another(case_id):
    other = run_case(fine=500)
    victim_id, _ = ids_and_seqs(case_id)[1]
    sql("UPDATE audit_event SET actor = 'mallory' WHERE id = :id", id=victim_id)
    assert verify_record(other) == []
    assert rows_named(verify_record()) == {victim_id}


def test_edited_system_event_is_detected(case_id):
    deployment_event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.chain == "system", AuditEvent.action == "deployment.created")
    ).first()
    assert deployment_event is not None
    event_id = deployment_event.id
    sql("UPDATE audit_event SET actor = 'mallory' WHERE id = :id", id=event_id)
    assert verify_record(case_id) == []
    [finding] = verify_record()
    assert finding.chain == "system" and finding.event_id == event_id


# ---------------------------------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------------------------------
def test_cli_verify_prints_ok_on_an_intact_chain(app: Flask, case_id):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output
    result = runner.invoke(args=["audit", "verify", "--case", str(case_id)])
    assert result.exit_code == 0 and "OK" in result.output


def test_cli_verify_fails_and_names_the_edited_row(app: Flask, case_id):
    victim_id, victim_seq = ids_and_seqs(case_id)[2]
    sql("UPDATE audit_event SET actor = 'mallory' WHERE id = :id", id=victim_id)
    runner = app.test_cli_runner()
    for args in (["audit", "verify", "--case", str(case_id)], ["audit", "verify"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1, result.output
        assert f"case:{case_id} #{victim_seq} (id {victim_id})" in result.output
        assert "edited" in result.output and "FAILED: 1 problem" in result.output
        assert "OK" not in result.output


def test_cli_verify_reports_a_deleted_last_row(app: Flask, case_id):
    last_id, _ = ids_and_seqs(case_id)[-1]
    sql("DELETE FROM audit_event WHERE id = :id", id=last_id)
    result = app.test_cli_runner().invoke(args=["audit", "verify", "--case", str(case_id)])
    assert result.exit_code == 1
    assert "chain head" in result.output
