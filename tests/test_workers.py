"""Three ``zhifa worker`` processes on one database fire 1,000 due timers: each exactly once.

The cases are created on a frozen clock in March 2025, so their statement-period timers are long
due for the workers, which run on the real clock. The workers are real ``zhifa worker`` processes;
each prints one line per sweep that fired something, which shows that the work was shared.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select, text

from engine import clock
from engine.admin.time_limits import set_calendar_year
from engine.casefile.verify import verify_record
from engine.models import AuditEvent, CalendarYear, ProcessInstance, Task, db
from engine.runtime import complete_task, start_case
from tests.conftest import user

CASES = 1000
WORKERS = 3
TIMEOUT = 120.0  # seconds for the workers to drain every due timer
CREATED_AT = dt.datetime(2025, 3, 3, 9, 0, tzinfo=clock.SHANGHAI)  # a Monday
SERVED_ON = ("2025-03-03", "2025-03-04", "2025-03-05", "2025-03-06", "2025-03-07")  # timers due 10-15 March 2025
PARTY = {"party_type": "organization", "party_name": "定时器测试有限公司"}
PROBE = re.compile(r"^worker pid=(\d+) fired=(\d+) failed=(\d+)", re.MULTILINE)


def _create_waiting_cases(n: int) -> None:
    """n cases through register (fine 100: no review) and serve, each now waiting on its timer."""
    handler = user("a_handler1")
    for i in range(n):
        case = start_case(handler, "mini", PARTY, {"proposed_fine": 100})
        open_task = select(Task.id).where(Task.case_id == case.id, Task.status == "open")
        complete_task(handler, db.session.scalars(open_task).one(), {"facts": f"事实清楚 {i}", "proposed_fine": 100})
        complete_task(handler, db.session.scalars(open_task).one(), {"served_on": SERVED_ON[i % len(SERVED_ON)]})


def _count(query) -> int:
    return int(db.session.scalar(query) or 0)


def _progress() -> tuple[int, int, list[str]]:
    """(instances due by real time, open decide tasks, some incident errors), in a short transaction of its own."""
    now = dt.datetime.now(dt.UTC)
    due = _count(select(func.count()).select_from(ProcessInstance).where(ProcessInstance.next_timer_at <= now))
    decide = _count(select(func.count()).select_from(Task).where(Task.bpmn_id == "decide", Task.status == "open"))
    errors = list(db.session.scalars(select(ProcessInstance.error).where(ProcessInstance.error.is_not(None)).limit(3)))
    db.session.remove()  # end the transaction: on SQLite every one holds the write lock
    return due, decide, errors


def _hold_timers() -> None:
    """Block every sweep until the session ends, so that the workers start sweeping together."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("LOCK TABLE process_instance IN EXCLUSIVE MODE"))  # blocks SELECT ... FOR UPDATE
    else:
        db.session.connection()  # BEGIN IMMEDIATE: this connection holds SQLite's write lock


def _wait_until_started(procs: list[subprocess.Popen[bytes]], outs: list[Path], limit: float = 60.0) -> None:
    started = time.monotonic()
    while time.monotonic() - started < limit and all(p.poll() is None for p in procs):
        if all(b"zhifa worker started" in out.read_bytes() for out in outs):
            return
        time.sleep(0.1)


def _tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(encoding="utf-8", errors="replace")[-chars:] if path.exists() else ""


def _calendar_for_the_real_date() -> None:
    """The workers run on the real clock and give each new task a due date from it; make sure the
    years that needs have a calendar (weekends only where none was seeded), whatever today is."""
    this_year = dt.datetime.now(dt.UTC).year
    for year in (this_year, this_year + 1):
        if db.session.get(CalendarYear, year) is None:
            set_calendar_year(user("admin"), year, [], "测试：按周末计算 (test calendar)")


def test_three_workers_fire_a_thousand_due_timers_each_exactly_once(app, people, mini, tmp_path):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    t0 = time.monotonic()
    with app.app_context():
        with clock.use_clock(clock.FrozenClock(CREATED_AT)):
            _create_waiting_cases(CASES)
        _calendar_for_the_real_date()
        db.session.remove()
        due, decide, errors = _progress()
    created = time.monotonic() - t0
    assert (due, decide, errors) == (CASES, 0, [])

    zhifa = Path(sys.executable).parent / "zhifa"
    env = {**os.environ, "DATABASE_URL": url, "ZHIFA_SECRET_KEY": "worker-test", "ZHIFA_SCHEDULER_INTERVAL": "0.2"}
    env.pop("ZHIFA_TEST_DATABASE_URL", None)
    logs = [(tmp_path / f"worker{i}.out", tmp_path / f"worker{i}.err") for i in range(WORKERS)]
    procs: list[subprocess.Popen[bytes]] = []
    started = time.monotonic()
    try:
        with app.app_context():
            _hold_timers()
            for out, err in logs:
                with out.open("wb") as stdout, err.open("wb") as stderr:
                    procs.append(subprocess.Popen([str(zhifa), "worker"], env=env, stdout=stdout, stderr=stderr))
            _wait_until_started(procs, [out for out, _err in logs])
            db.session.remove()  # release: all three sweeps race for the same due timers
        started = time.monotonic()
        while time.monotonic() - started < TIMEOUT:
            with app.app_context():
                due, decide, errors = _progress()
            if (due, decide) == (0, CASES) or errors or any(p.poll() is not None for p in procs):
                break
            time.sleep(0.5)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=20)
    elapsed = time.monotonic() - started
    print(f"created {CASES} waiting cases in {created:.1f} s; the workers drained them in {elapsed:.1f} s")
    stderr_tails = "\n".join(f"--- worker {i} stderr ---\n{_tail(err)}" for i, (_out, err) in enumerate(logs))
    # The workers run on the real clock: an incident here may be CalendarMissing once the decide task's
    # 3 working days reach a year engine/data/holidays.json does not hold yet.
    assert not errors, f"incidents: {errors}\n{stderr_tails}"
    assert (due, decide) == (0, CASES), f"after {elapsed:.1f} s: {due} still due, {decide} decide tasks open\n{stderr_tails}"

    with app.app_context():
        fired = dict(db.session.execute(
            select(AuditEvent.instance_id, func.count()).where(AuditEvent.action == "timer.fired").group_by(AuditEvent.instance_id)
        ).all())
        instance_ids = set(db.session.scalars(select(ProcessInstance.id)))
        assert len(instance_ids) == CASES
        assert set(fired) == instance_ids
        assert set(fired.values()) == {1}, {i: n for i, n in fired.items() if n != 1}
        assert sum(fired.values()) == CASES

        decide_per_case = dict(db.session.execute(
            select(Task.case_id, func.count()).where(Task.bpmn_id == "decide").group_by(Task.case_id)
        ).all())
        assert len(decide_per_case) == CASES and set(decide_per_case.values()) == {1}
        assert _count(select(func.count()).select_from(Task).where(Task.bpmn_id == "decide", Task.status == "open")) == CASES

        assert _count(select(func.count()).select_from(ProcessInstance).where(ProcessInstance.error.is_not(None))) == 0
        assert _count(select(func.count()).select_from(ProcessInstance).where(ProcessInstance.next_timer_at.is_not(None))) == 0
        assert verify_record() == []
        db.session.remove()

    # Which worker fired what: each report line is one sweep of one process.
    per_worker: dict[int, int] = {}
    for i, (out, _err) in enumerate(logs):
        for _pid, n_fired, n_failed in PROBE.findall(_tail(out, 10**7)):
            assert n_failed == "0", _tail(out)
            per_worker[i] = per_worker.get(i, 0) + int(n_fired)
    print(f"timers fired per worker: {per_worker}")
    assert sum(per_worker.values()) == CASES, (per_worker, stderr_tails)
    assert sum(1 for n in per_worker.values() if n > 0) >= 2, f"one worker did all the work: {per_worker}"
