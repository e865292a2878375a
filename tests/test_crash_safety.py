"""kill -9 in the middle of the work loses nothing that was acknowledged and breaks nothing.

Web: officers complete tasks through gunicorn (2 workers) on PostgreSQL while both workers are
killed with SIGKILL in turn (the master starts new ones). Every completion answered with 200 is in
the database with its audit event, every instance's stored state still loads, the task projection
matches each workflow, and the audit chains verify.

Scheduler: two ``zhifa worker`` processes sweep many due timers; both are killed with SIGKILL
mid-sweep and new ones started. Every timer fires exactly once (one ``timer.fired`` per instance,
one 作出决定 task per case), none is lost.
"""

from __future__ import annotations

import os
import queue
import signal
import threading
import time

from sqlalchemy import func, select

from engine import clock
from engine.admin.users import issue_token
from engine.casefile.verify import verify_record
from engine.definitions.serialization import load_state
from engine.definitions.specs import load_specs
from engine.models import AuditEvent, ProcessInstance, Task, db
from engine.runtime import start_case
from engine.runtime.instance import ready_user_tasks
from tests.conftest import user
from tests.serving import children, free_port, post, postgresql_only, processes, wait_http, wait_started
from tests.support.waiting_cases import CREATED_AT, calendar_for_the_real_date, create_waiting_cases, progress

pytestmark = postgresql_only

CASES = 240
CLIENTS = 3
TIMERS = 150
REGISTER = {"facts": "违法事实清楚，证据确凿", "proposed_fine": 100}


def test_killing_gunicorn_workers_mid_load_loses_no_acknowledged_completion(app, people, mini, tmp_path):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with app.app_context():
        handler = user("a_handler1")
        for i in range(CASES):
            start_case(handler, "mini", {"party_type": "citizen", "party_name": f"当事人{i}"}, {"proposed_fine": 100})
        token = issue_token(user("a_handler1"))
        db.session.commit()
        task_ids = list(db.session.scalars(select(Task.id).where(Task.status == "open", Task.bpmn_id == "register")))
        db.session.remove()
    assert len(task_ids) == CASES

    port = free_port()
    work: queue.Queue[str] = queue.Queue()
    for task_id in task_ids:
        work.put(task_id)
    outcomes: dict[str, int] = {}
    lock = threading.Lock()

    def client() -> None:
        while True:
            try:
                task_id = work.get_nowait()
            except queue.Empty:
                return
            status, _body = post(port, f"/tasks/{task_id}/complete", token, {"data": REGISTER})
            with lock:
                outcomes[task_id] = status

    killed: list[int] = []
    with processes(url, tmp_path) as group:
        master = group.gunicorn("web", port)
        wait_http(port, master)
        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        try:
            # Kill each worker while requests are in flight: after a sixth, then after half of the load.
            for threshold in (CASES // 6, CASES // 2):
                _wait_for(lambda threshold=threshold: len(outcomes) >= threshold, 40)
                workers = children(master.pid)
                assert workers, "gunicorn has no workers"
                victim = next((w for w in workers if w not in killed), workers[0])
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)
        finally:
            for t in threads:
                t.join(timeout=60)
        respawned = children(master.pid)
        log = group.tails()

    acknowledged = {t for t, status in outcomes.items() if status == 200}
    broken = {t: s for t, s in outcomes.items() if s != 200}
    print(f"{len(acknowledged)} completions acknowledged, {len(broken)} cut by the kills: {sorted(broken.values())}")
    assert len(outcomes) == CASES
    assert len(killed) == 2 and not set(killed) & set(respawned), (killed, respawned)
    assert len(respawned) == 2, f"the master did not replace its workers: {respawned}\n{log}"
    assert all(s in (0, 500, 502, 503) for s in broken.values()), broken  # only requests cut by the kills
    assert len(acknowledged) >= CASES - 2 * CLIENTS, f"too many failures: {broken}\n{log}"

    with app.app_context():
        completed = set(db.session.scalars(select(Task.id).where(Task.bpmn_id == "register", Task.status == "completed")))
        events = dict(db.session.execute(select(AuditEvent.task_id, func.count()).where(
            AuditEvent.action == "task.completed").group_by(AuditEvent.task_id)).all())
        assert acknowledged <= completed, f"acknowledged but not completed: {acknowledged - completed}"
        assert set(events) == completed and set(events.values()) == {1}  # each completion recorded once, nothing else
        _assert_every_instance_loads_and_matches_its_projection()
        assert verify_record() == []
        db.session.remove()


def test_killing_zhifa_workers_mid_sweep_fires_every_timer_exactly_once(app, people, mini, tmp_path):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with app.app_context():
        with clock.use_clock(clock.FrozenClock(CREATED_AT)):
            create_waiting_cases(TIMERS)
        calendar_for_the_real_date()
        db.session.remove()
        assert progress() == (TIMERS, 0, [])

    with processes(url, tmp_path) as group:
        first = [group.worker(f"worker{i}") for i in range(2)]
        for i, proc in enumerate(first):
            wait_started(proc, tmp_path / f"worker{i}.log")
        # Kill each of the two mid-sweep: after a tenth and after a third of the timers fired.
        for proc, threshold in zip(first, (TIMERS // 10, TIMERS // 3), strict=True):
            _wait_for(lambda threshold=threshold: _fired(app) >= threshold, 40)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        at_kill = _fired(app)
        assert at_kill < TIMERS, "the sweep was over before the workers were killed"
        group.worker("worker2")
        group.worker("worker3")
        with app.app_context():
            _wait_for(lambda: progress()[:2] == (0, TIMERS) or bool(progress()[2]), 45)
            due, decide, errors = progress()
        log = group.tails()
    print(f"{at_kill} of {TIMERS} timers had fired when the second worker was killed")
    assert not errors, f"incidents: {errors}\n{log}"
    assert (due, decide) == (0, TIMERS), f"{due} still due, {decide} decide tasks open\n{log}"

    with app.app_context():
        fired = dict(db.session.execute(select(AuditEvent.instance_id, func.count()).where(
            AuditEvent.action == "timer.fired").group_by(AuditEvent.instance_id)).all())
        assert set(fired) == set(db.session.scalars(select(ProcessInstance.id)))
        assert set(fired.values()) == {1}, {i: n for i, n in fired.items() if n != 1}
        decide_per_case = dict(db.session.execute(
            select(Task.case_id, func.count()).where(Task.bpmn_id == "decide").group_by(Task.case_id)).all())
        assert len(decide_per_case) == TIMERS and set(decide_per_case.values()) == {1}
        _assert_every_instance_loads_and_matches_its_projection()
        assert verify_record() == []
        db.session.remove()


def _fired(app) -> int:
    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "timer.fired"))
        db.session.remove()
    return int(n or 0)


def _wait_for(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout} s")


def _assert_every_instance_loads_and_matches_its_projection() -> None:
    """No instance is unreadable, and the inbox shows exactly the workflow's ready user tasks."""
    open_tasks: dict[int, set[str]] = {}
    for instance_id, task_id in db.session.execute(select(Task.instance_id, Task.id).where(Task.status == "open")):
        open_tasks.setdefault(instance_id, set()).add(task_id)
    for instance in db.session.scalars(select(ProcessInstance)):
        workflow = load_state(instance.state, load_specs(instance.process_spec_id))
        ready = {str(t.id) for t in ready_user_tasks(workflow)}
        assert ready == open_tasks.get(instance.id, set()), f"instance {instance.id}: workflow {ready}, inbox {open_tasks.get(instance.id)}"
