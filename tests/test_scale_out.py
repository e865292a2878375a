"""Scale-out: two gunicorn web servers and two ``zhifa worker`` processes on one PostgreSQL.

Four officers press "claim" (then, on other tasks, "submit") on the same task at the same moment,
two through each web server: exactly one wins per task and the others get 409, and the task, its
audit trail and the case version show one update only. Meanwhile both workers sweep due timers:
every timer fires exactly once.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import func, select

from engine import clock
from engine.admin.users import issue_token
from engine.casefile.verify import verify_record
from engine.models import AuditEvent, ProcessInstance, Task, User, db
from engine.runtime import start_case
from tests.conftest import user
from tests.serving import free_port, post, postgresql_only, processes, wait_http, wait_started
from tests.support.waiting_cases import CREATED_AT, calendar_for_the_real_date, create_waiting_cases, progress

pytestmark = postgresql_only

OFFICERS = ("a_handler1", "a_handler2", "a_head", "a_reviewer")  # all handlers of unit_a with 执法证
TASKS = 15  # per kind of race (claim, complete)
TIMERS = 80
REGISTER = {"facts": "违法事实清楚，证据确凿", "proposed_fine": 100}


def test_two_web_servers_and_two_workers_one_winner_per_task_each_timer_once(app, people, mini, tmp_path):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with app.app_context():
        handler = user("a_handler1")
        with clock.use_clock(clock.FrozenClock(CREATED_AT)):
            create_waiting_cases(TIMERS)
        calendar_for_the_real_date()
        for i in range(2 * TASKS):
            start_case(handler, "mini", {"party_type": "citizen", "party_name": f"当事人{i}"}, {"proposed_fine": 100})
        tokens = {name: issue_token(user(name)) for name in OFFICERS}
        db.session.commit()
        task_ids = list(db.session.scalars(select(Task.id).where(Task.status == "open", Task.bpmn_id == "register")
                                           .order_by(Task.case_id)))
        versions = dict(db.session.execute(select(ProcessInstance.id, ProcessInstance.version)).all())
        db.session.remove()
        assert len(task_ids) == 2 * TASKS and progress()[0] == TIMERS
    claims, completions = task_ids[:TASKS], task_ids[TASKS:]

    ports = (free_port(), free_port())
    with processes(url, tmp_path) as group:
        servers = [group.gunicorn(f"web{i}", port) for i, port in enumerate(ports)]
        workers = [group.worker(f"worker{i}") for i in range(2)]
        for port, server in zip(ports, servers, strict=True):
            wait_http(port, server)
        for i, proc in enumerate(workers):
            wait_started(proc, tmp_path / f"worker{i}.log")

        claimed = _race(ports, tokens, claims, lambda task_id: (f"/tasks/{task_id}/claim", {}))
        completed = _race(ports, tokens, completions, lambda task_id: (f"/tasks/{task_id}/complete", {"data": REGISTER}))

        deadline = time.monotonic() + 40
        with app.app_context():
            while time.monotonic() < deadline and progress()[:2] != (0, TIMERS) and not progress()[2]:
                time.sleep(0.2)
            due, decide, errors = progress()
        log = group.tails()

    for outcome in (claimed, completed):
        for task_id, statuses in outcome.items():
            assert sorted(s for s, _name in statuses) == [200, 409, 409, 409], (task_id, statuses, log)
    assert (due, decide, errors) == (0, TIMERS, []), log

    with app.app_context():
        names = dict(db.session.execute(select(User.id, User.username)).all())
        for task_id, statuses in claimed.items():
            winner = next(name for s, name in statuses if s == 200)
            task = db.session.get(Task, task_id)
            assert task.status == "open" and names[task.assignee_id] == winner
            assert _events(task_id, "task.claimed") == [winner]
        for task_id, statuses in completed.items():
            winner = next(name for s, name in statuses if s == 200)
            task = db.session.get(Task, task_id)
            assert task.status == "completed" and names[task.completed_by] == winner
            assert _events(task_id, "task.completed") == [winner]
            instance = db.session.get(ProcessInstance, task.instance_id)
            assert instance.version == versions[instance.id] + 1  # one completion applied, not two
            assert [t.bpmn_id for t in db.session.scalars(select(Task).where(
                Task.case_id == task.case_id, Task.status == "open"))] == ["serve"]

        fired = dict(db.session.execute(select(AuditEvent.instance_id, func.count()).where(
            AuditEvent.action == "timer.fired").group_by(AuditEvent.instance_id)).all())
        assert len(fired) == TIMERS and set(fired.values()) == {1}, {i: n for i, n in fired.items() if n != 1}
        assert verify_record() == []
        db.session.remove()
    print("sweeps that fired something, per worker:", [(tmp_path / f"worker{i}.log").read_text().count("fired=") for i in range(2)])


def _race(ports, tokens, task_ids, request) -> dict[str, list[tuple[int, str]]]:
    """For each task, every officer sends the request at once, half through each web server."""
    barrier = threading.Barrier(len(OFFICERS))
    outcomes: dict[str, list[tuple[int, str]]] = {task_id: [] for task_id in task_ids}
    lock = threading.Lock()

    def officer(i: int, name: str) -> None:
        for task_id in task_ids:
            path, body = request(task_id)
            barrier.wait(timeout=30)
            status, _json = post(ports[i % 2], path, tokens[name], body)
            with lock:
                outcomes[task_id].append((status, name))

    threads = [threading.Thread(target=officer, args=(i, name)) for i, name in enumerate(OFFICERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return outcomes


def _events(task_id: str, action: str) -> list[str]:
    return list(db.session.scalars(select(AuditEvent.actor).where(AuditEvent.task_id == task_id, AuditEvent.action == action)))

