"""Twenty officers pressing "submit" on the same task at once: exactly one wins."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from engine.casefile.verify import verify_record
from engine.models import AuditEvent, ProcessInstance, Task, db
from engine.runtime import complete_task, start_case
from tests.conftest import at_once, user

THREADS = 20


def test_twenty_concurrent_completions_one_succeeds_others_already_handled(app, people, mini, frozen):
    with app.app_context():
        case = start_case(user("a_handler1"), "mini", {"party_type": "citizen", "party_name": "李四"},
                          {"proposed_fine": 100})
        case_id = case.id
        task_id = db.session.scalars(select(Task.id).where(Task.case_id == case_id)).one()
        version_before = db.session.scalars(select(ProcessInstance.version).where(ProcessInstance.case_id == case_id)).one()
        db.session.remove()

    def submit(i: int):  # noqa: ANN202
        me = user("a_handler1" if i % 2 else "a_handler2")
        return lambda: complete_task(me, task_id, {"facts": f"并发提交 {i}", "proposed_fine": 100})

    outcomes = at_once(app, THREADS, submit, timeout=120)

    assert outcomes.count("ok") == 1, outcomes
    assert all(o.startswith("conflict:") and "已被他人处理" in o for o in outcomes if o != "ok"), outcomes
    with app.app_context():
        task = db.session.get(Task, task_id)
        assert task.status == "completed"
        instance = db.session.scalars(select(ProcessInstance).where(ProcessInstance.case_id == case_id)).one()
        assert instance.version == version_before + 1  # exactly one completion was applied
        completions = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.case_id == case_id, AuditEvent.action == "task.completed"))
        assert completions == 1
        assert [t.bpmn_id for t in db.session.scalars(select(Task).where(
            Task.case_id == case_id, Task.status == "open"))] == ["serve"]
        assert verify_record(case_id) == []


def test_a_slow_reader_does_not_hold_up_a_command(app, people, mini, frozen):
    """A page view that reads for a while (one open read transaction) must not block officers' writes."""
    import time

    reading = threading.Event()
    done = threading.Event()

    def slow_reader() -> None:
        with app.app_context():
            db.session.scalars(select(Task.id)).all()  # the read transaction is now open
            reading.set()
            done.wait(timeout=10)
            db.session.remove()

    reader = threading.Thread(target=slow_reader)
    reader.start()
    try:
        assert reading.wait(timeout=10)
        with app.app_context():
            started = time.monotonic()
            start_case(user("a_handler1"), "mini", {"party_type": "citizen", "party_name": "吴十"}, {"proposed_fine": 1})
            assert time.monotonic() - started < 2.0
            db.session.remove()
    finally:
        done.set()
        reader.join(timeout=20)
