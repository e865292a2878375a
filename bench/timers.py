"""Timer sweep benchmark: a sweep's cost must not grow with the number of waiting cases.

    .venv/bin/python bench/timers.py [--waiting 100000] [--small 1000] [--due 100] [--database-url URL]

For each size (``--small`` and ``--waiting`` waiting instances, each in a fresh database) it fills
the database with waiting cases, adds ``--due`` real cases whose timer is due, and times one
``fire_due_timers(now)``. Target: sweep time at 100,000 waiting ÷ sweep time at 1,000 waiting <= 2.

The waiting cases are clones of one real waiting instance of the mini test procedure
(tests/data/mini), written with bulk Core inserts: case + process_instance (timer due in December
2026, after the sweep's ``now``) and one open task each (due dates after ``now`` too), so the
``next_timer_at``, ``due_at`` and ``warn_at`` indexes hold realistic volumes. Clones share their
SpiffWorkflow task ids and could not be fired; the due ones are made through the engine
(start, register, serve on 2026-03-03: timer due 2026-03-11, swept as of 2026-06-01).

Default database: SQLite files in a temporary directory. With ``--database-url postgresql://…`` the
database is emptied before each size (DROP SCHEMA public CASCADE): use a throwaway database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("ZHIFA_PASSWORD_HASH_METHOD", "pbkdf2:sha256:1000")

from sqlalchemy import func, insert, select, text  # noqa: E402

from engine import clock  # noqa: E402
from engine.admin.users import create_user, ensure_unit  # noqa: E402
from engine.db.caches import clear_all as clear_engine_caches  # noqa: E402
from engine.definitions import Bundle, deploy_bundle  # noqa: E402
from engine.models import Case, Credential, ProcessInstance, Task, User, db  # noqa: E402
from engine.runtime import complete_task, fire_due_timers, start_case  # noqa: E402
from webui import REPO_ROOT, create_app  # noqa: E402
from webui.cli import prepare_database  # noqa: E402

MINI = REPO_ROOT / "tests" / "data" / "mini"
SHANGHAI = clock.SHANGHAI
CREATED_AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)  # a Monday: cases are filed and served then
SWEEP_AT = dt.datetime(2026, 6, 1, 9, 0, tzinfo=SHANGHAI)  # the sweep's "now"
DUE_SERVED_ON = "2026-03-03"  # statement period ends 24:00 2026-03-10: due at SWEEP_AT
WAITING_SERVED_ON = "2026-12-01"  # ends 24:00 2026-12-08: still waiting at SWEEP_AT
FUTURE = dt.datetime(2026, 12, 9, 0, 0, tzinfo=SHANGHAI)
PARTY = {"party_type": "organization", "party_name": "基准测试有限公司"}
CHUNK = 5000
ROUNDS = 3  # sweeps per size (each on its own 100 fresh due cases); the median is reported


def setup(app: Any) -> User:
    """Schema, reference data, the shipped library, the mini bundle, a unit with a handler and a head."""
    prepare_database(app, with_demo=False)
    deploy_bundle(Bundle.from_directories(MINI / "processes", MINI / "forms"), "bench")
    ensure_unit("bench", "基准单位", "基准")
    handler, _ = create_user("bench_handler", "bench", ["handler"], "bench-pass-2026")
    head, _ = create_user("bench_head", "bench", ["agency_head"], "bench-pass-2026")
    for user in (handler, head):
        db.session.add(Credential(user_id=user.id, kind="law_enforcement", number=f"BENCH-{user.id}",
                                  expires_on=dt.date(2099, 1, 1)))
    db.session.commit()
    return handler


def make_waiting_case(handler: User, served_on: str) -> int:
    """A real case through the engine: start (fine 100: no review), register, serve; returns the case id."""
    case = start_case(handler, "mini", PARTY, {"proposed_fine": 100})
    open_task = select(Task.id).where(Task.case_id == case.id, Task.status == "open")
    complete_task(handler, db.session.scalars(open_task).one(), {"facts": "基准测试事实", "proposed_fine": 100})
    complete_task(handler, db.session.scalars(open_task).one(), {"served_on": served_on})
    return case.id


def clone_waiting(template_case_id: int, n: int) -> None:
    """n clones of one waiting case: case + process_instance + one open task each, bulk inserted."""
    cases, instances, tasks = Case.__table__, ProcessInstance.__table__, Task.__table__
    conn = db.session.connection()
    case_row = dict(conn.execute(select(cases).where(cases.c.id == template_case_id)).mappings().one())
    instance_row = dict(conn.execute(select(instances).where(instances.c.case_id == template_case_id)).mappings().one())
    task_row = dict(conn.execute(select(tasks).where(tasks.c.case_id == template_case_id).limit(1)).mappings().one())
    for row in (case_row, instance_row):
        del row["id"]
    insert_cases = insert(cases).returning(cases.c.id, sort_by_parameter_order=True)
    insert_instances = insert(instances).returning(instances.c.id, sort_by_parameter_order=True)
    for start in range(0, n, CHUNK):
        size = min(CHUNK, n - start)
        case_ids = conn.execute(insert_cases, [
            {**case_row, "case_number": f"基准案〔2026〕W{start + i:07d}号"} for i in range(size)
        ]).scalars().all()
        # Spread the waiting timers over December 2026 (all after the sweep's now).
        instance_ids = conn.execute(insert_instances, [
            {**instance_row, "case_id": case_id, "next_timer_at": FUTURE + dt.timedelta(minutes=(start + i) % 30000)}
            for i, case_id in enumerate(case_ids)
        ]).scalars().all()
        conn.execute(insert(tasks), [
            {**task_row, "id": str(uuid.uuid4()), "instance_id": instance_id, "case_id": case_id, "status": "open",
             "assignee_id": None, "completed_by": None, "completed_at": None, "deadline_state": "normal",
             "due_at": FUTURE + dt.timedelta(days=5, minutes=(start + i) % 30000),
             "warn_at": FUTURE + dt.timedelta(days=3, minutes=(start + i) % 30000)}
            for i, (case_id, instance_id) in enumerate(zip(case_ids, instance_ids, strict=True))
        ])
        db.session.commit()
        conn = db.session.connection()


def reset_postgres(app: Any) -> None:
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))


def run_size(url: str, waiting: int, due: int) -> dict[str, Any]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        reset_postgres(app)
    clear_engine_caches()  # ids repeat across the fresh databases
    with app.app_context():
        handler = setup(app)
        with clock.use_clock(clock.FrozenClock(CREATED_AT)):
            template = make_waiting_case(handler, WAITING_SERVED_ON)
        t0 = time.perf_counter()
        clone_waiting(template, waiting - 1)
        generate_s = time.perf_counter() - t0
        db.session.execute(text("ANALYZE"))  # what autovacuum / a DBA would have done for tables this size
        db.session.commit()

        db.session.remove()

        sweeps = []
        for _ in range(ROUNDS):
            handler = db.session.scalars(select(User).where(User.username == "bench_handler")).one()
            with clock.use_clock(clock.FrozenClock(CREATED_AT)):
                for _ in range(due):
                    make_waiting_case(handler, DUE_SERVED_ON)
            db.session.remove()
            with clock.use_clock(clock.FrozenClock(SWEEP_AT)):
                t1 = time.perf_counter()
                result = fire_due_timers(SWEEP_AT)
                sweeps.append(time.perf_counter() - t1)
            assert len(result.fired) == due and not result.failed, (len(result.fired), result.failed)
            db.session.remove()

        counted_waiting = db.session.scalar(
            select(func.count()).select_from(ProcessInstance).where(ProcessInstance.next_timer_at > SWEEP_AT))
        open_tasks = db.session.scalar(select(func.count()).select_from(Task).where(Task.status == "open"))
        still_due = db.session.scalar(
            select(func.count()).select_from(ProcessInstance).where(ProcessInstance.next_timer_at <= SWEEP_AT))
        assert counted_waiting == waiting and still_due == 0, (counted_waiting, still_due)
        db.session.remove()
        db.engine.dispose()
    return {"waiting": waiting, "due": due, "sweeps": sweeps, "sweep": statistics.median(sweeps),
            "generate": generate_s, "open_tasks": open_tasks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--waiting", type=int, default=100_000, help="waiting instances of the large run")
    parser.add_argument("--small", type=int, default=1_000, help="waiting instances of the small run")
    parser.add_argument("--due", type=int, default=100, help="due timers per sweep (<= 100, the sweep batch)")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL URL of a THROWAWAY database (emptied before each size); default SQLite")
    args = parser.parse_args()
    if not 1 <= args.due <= 100:
        parser.error("--due must be between 1 and 100 (one sweep fires at most 100)")
    tmp = Path(tempfile.mkdtemp(prefix="zhifa-bench-timers-"))
    try:
        rows = []
        for waiting in (args.small, args.waiting):
            url = args.database_url or f"sqlite:///{tmp / f'timers-{waiting}.db'}"
            rows.append(run_size(url, waiting, args.due))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    small, large = rows
    dialect = (args.database_url or "sqlite").split(":", 1)[0]
    print(f"zhifa timer sweep benchmark ({dialect}; median of {ROUNDS} sweeps per size, each of {args.due} fresh due timers)")
    print(f"  {'waiting':>9} {'due':>5} {'sweep s':>9} {'per timer ms':>13}   sweeps s")
    for row in rows:
        print(f"  {row['waiting']:>9,} {row['due']:>5} {row['sweep']:>9.3f} {row['sweep'] * 1000 / row['due']:>13.2f}   "
              + " ".join(f"{s:.3f}" for s in row["sweeps"]))
    ratio = large["sweep"] / small["sweep"]
    verdict = "ok" if ratio <= 2 else "TOO SLOW"
    print(f"  ratio {large['waiting']:,} ÷ {small['waiting']:,} waiting: {ratio:.2f}x (target <= 2: {verdict})")
    print(f"  generating {large['waiting']:,} waiting instances (+ {large['waiting']:,} open tasks): {large['generate']:.1f} s "
          f"({large['waiting'] / large['generate']:,.0f} instances/s)")


if __name__ == "__main__":
    main()
