"""The whole benchmark in one run, one table: what ``bench/run`` executes.

    bench/run [--quick] [--database-url postgresql://…]

Without ``--database-url`` (or DATABASE_URL) it starts a throwaway PostgreSQL (bench/pg.py); a
database given is EMPTIED first (DROP SCHEMA public CASCADE). The steps, all on that database:

1. set-up: schema, the shipped library and the mini test procedure (tests/data/mini), two units
   of officers (bench/inbox.py's make_unit); template cases made through the engine in each state
   (open at 登记, open at 送达, waiting on the statement-period timer, closed).
2. stored bytes per case: every row that belongs to a template case (case, instance, tasks, audit
   chain, documents …), as PostgreSQL stores them (pg_column_size: TOAST-compressed).
3. for the small, then the large size: the data generator (bench/generate.py, COPY) tops the
   database up to SIZE open tasks in the unit and SIZE waiting instances (+ closed cases and another
   unit), ANALYZE, then the inbox page's p95 (bench/inbox.py's measure: GET / as the unit head,
   through the Flask test client) and the timer sweep for DUE fresh due cases among the waiting
   ones (bench/timers.py's way, median of 3 sweeps).
4. persisted case starts vs bare SpiffWorkflow, interleaved rounds (bench/engine.py).
5. task completions through HTTP: gunicorn (2 sync workers) on this PostgreSQL, CLIENTS client
   threads completing distinct open 登记 tasks of generated cases with a bearer token.
6. timer lateness in the embedded server: ``zhifa run`` (waitress + in-process scheduler), cases of
   mini_quick (a 2-second timer) started one after another; lateness = timer.fired time − due time.

Exit status 1 when a figure misses its target (not with --quick). The machine's load average is
printed with the table: on a shared 2-core machine every figure moves with it.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import math
import os
import queue
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("ZHIFA_PASSWORD_HASH_METHOD", "pbkdf2:sha256:1000")

from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.exc import DBAPIError  # noqa: E402

from bench import engine as bench_engine  # noqa: E402  (bench/engine.py: bare SpiffWorkflow starts)
from bench import inbox as bench_inbox  # noqa: E402
from bench import timers as bench_timers  # noqa: E402
from bench.generate import Generator  # noqa: E402
from bench.pg import free_port, throwaway_postgres  # noqa: E402
from engine import clock  # noqa: E402
from engine.admin.users import create_user, issue_token  # noqa: E402
from engine.definitions import Bundle, deploy_bundle  # noqa: E402
from engine.models import AuditEvent, ProcessInstance, Task, User, db  # noqa: E402
from engine.runtime import complete_task, fire_due_timers, mark_deadlines, start_case  # noqa: E402
from webui import create_app  # noqa: E402
from webui.cli import prepare_database  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Sizes:
    small: int
    large: int
    due: int
    starts: int
    completions: int
    lateness_cases: int
    inbox_requests: int


FULL = Sizes(small=1_000, large=100_000, due=100, starts=500, completions=2_000, lateness_cases=20, inbox_requests=40)
QUICK = Sizes(small=100, large=1_000, due=10, starts=20, completions=60, lateness_cases=3, inbox_requests=5)
CLIENTS = 4  # concurrent HTTP clients against 2 sync gunicorn workers: each worker always has the next request queued
REGISTER = {"facts": "基准测试：违法事实清楚", "proposed_fine": 100}


def main() -> None:
    parser = argparse.ArgumentParser(description="zhifa benchmark: one table of figures against the issue's targets")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run (figures mean nothing)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="a THROWAWAY PostgreSQL database (emptied first); default: start one")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: servers and the throwaway PostgreSQL stop
    load_before = os.getloadavg()
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        url = args.database_url or stack.enter_context(throwaway_postgres())
        if not url.startswith(("postgres://", "postgresql")):
            sys.exit("bench/run needs PostgreSQL (gunicorn workers and SKIP LOCKED sweeps are what it measures)")
        rows = Bench(url, sizes).run()
    failed = print_table(rows, sizes, args.quick, load_before, os.getloadavg(), time.monotonic() - started)
    sys.exit(1 if failed and not args.quick else 0)


# ----------------------------------------------------------------------------------------------- the run
class Bench:
    def __init__(self, url: str, sizes: Sizes) -> None:
        self.url, self.sizes = url, sizes
        self.app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": True})
        self.now = clock.now()  # open tasks' due dates are spread around the real now (the servers run on it)
        self.figures: dict[str, Any] = {}
        self.templates: dict[str, int] = {}

    def run(self) -> dict[str, Any]:
        with self.app.app_context():
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            self.set_up()
            self.figures["bytes"] = self.stored_bytes()
        self.generator = Generator()
        for label, size in (("small", self.sizes.small), ("large", self.sizes.large)):
            self.step(self.fill, size)
            self.figures[f"inbox_{label}"] = self.inbox()  # requests push their own app context
            self.figures[f"sweep_{label}"] = self.step(self.sweep)
        self.figures["starts"] = self.step(self.starts)
        self.figures["http"] = self.step(self.http_completions)
        self.figures["lateness"] = self.step(self.lateness)
        with self.app.app_context():
            db.engine.dispose()
        return self.figures

    def step(self, fn: Any, *args: Any) -> Any:
        with self.app.app_context():
            try:
                return fn(*args)
            finally:
                db.session.remove()

    # -------------------------------------------------------------------------------- set-up, templates
    def set_up(self) -> None:

        prepare_database(self.app, with_demo=False)
        deploy_bundle(Bundle.from_directories(bench_timers.MINI / "processes", bench_timers.MINI / "forms"), "bench")
        self.people = bench_inbox.make_unit("bench", "基准单位")
        self.other = bench_inbox.make_unit("bench_other", "另一单位")
        handler = self.user("bench_handler01")
        created = bench_timers.CREATED_AT
        with clock.use_clock(clock.FrozenClock(created)):
            self.templates["register"] = self.start_mini(handler).id
            case = self.start_mini(handler)
            self.complete_open(handler, case.id, REGISTER)
            self.templates["serve"] = case.id
            self.templates["waiting"] = bench_timers.make_waiting_case(handler, bench_timers.WAITING_SERVED_ON)
            closed = bench_timers.make_waiting_case(handler, bench_timers.DUE_SERVED_ON)
        fire_at = dt.datetime(2026, 3, 20, 9, 0, tzinfo=clock.SHANGHAI)
        with clock.use_clock(clock.FrozenClock(fire_at)):
            fire_due_timers(fire_at)
            chief, _ = create_user("bench_chief", "bench", ["agency_head"], bench_inbox.PASSWORD, actor="bench")
            db.session.commit()
            self.complete_open(chief, closed, {"decision": "罚款一百元"})  # 作出决定: the case closes
        self.templates["closed"] = closed
        with clock.use_clock(clock.FrozenClock(created)):
            self.templates["ordinary"] = start_case(handler, "ordinary", bench_engine.PARTY, bench_engine.FACTS).id
        db.session.remove()

    def start_mini(self, handler: Any) -> Any:
        return start_case(handler, "mini", bench_timers.PARTY, {"proposed_fine": 100})

    def complete_open(self, actor: Any, case_id: int, data: dict[str, Any]) -> None:
        task_id = db.session.scalars(select(Task.id).where(Task.case_id == case_id, Task.status == "open")).one()
        complete_task(actor, task_id, data)

    def user(self, username: str) -> Any:
        return db.session.scalars(select(User).where(User.username == username)).one()

    # ---------------------------------------------------------------------------------- stored bytes
    def stored_bytes(self) -> dict[str, tuple[int, int]]:
        """(bytes of every row of the case, raw JSON length of its workflow state) per template."""
        tables = [t.name for t in db.metadata.sorted_tables if "case_id" in t.c]
        out = {}
        for name in ("register", "closed", "ordinary"):
            case_id = self.templates[name]
            total = db.session.scalar(text('SELECT pg_column_size(c.*) FROM "case" c WHERE id = :id'), {"id": case_id})
            for table in tables:
                total += db.session.scalar(
                    text(f'SELECT coalesce(sum(pg_column_size(t.*)), 0) FROM "{table}" t WHERE case_id = :id'), {"id": case_id})
            state = db.session.scalar(select(func.length(ProcessInstance.state)).where(ProcessInstance.case_id == case_id))
            out[name] = (int(total), int(state))
        db.session.remove()
        return out

    # ------------------------------------------------------------------------------------ generator
    def fill(self, size: int) -> None:
        """Top the database up to ``size`` open tasks in the unit and ``size`` waiting instances, plus
        closed cases (a fifth of size) and another unit's open tasks (a tenth)."""
        gen = self.generator
        have_open = db.session.scalar(select(func.count()).select_from(Task).where(
            Task.unit_id == self.people["unit_id"], Task.status == "open"))
        have_waiting = db.session.scalar(select(func.count()).select_from(ProcessInstance).where(
            ProcessInstance.next_timer_at > bench_timers.SWEEP_AT))
        t0 = time.perf_counter()
        tpl = {name: gen.template(self.templates[name]) for name in ("register", "serve", "waiting", "closed")}
        open_n = max(0, size - have_open)
        gen.clone(tpl["register"], open_n // 2, vary=self.vary_open(self.people, 0))
        gen.clone(tpl["serve"], open_n - open_n // 2, vary=self.vary_open(self.people, 1))
        gen.clone(tpl["register"], open_n // 10, vary=self.vary_open(self.other, 0))
        gen.clone(tpl["waiting"], max(0, size - have_waiting), vary=vary_waiting)
        gen.clone(tpl["closed"], open_n // 5)
        db.session.commit()
        # What autovacuum does after a bulk load, done now so that it does not run during the measurements
        # (on 2 cores it would take a core from them): statistics, and the visibility map of the new rows.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        self.figures.setdefault("generated", []).append((gen.cloned, time.perf_counter() - t0))
        db.session.remove()
        self.quiesce()

    def quiesce(self) -> None:
        """Write the dirty pages out now (CHECKPOINT): a load leaves hundreds of MB that the
        checkpointer would otherwise write during the next measurement, taking a core from it."""
        with contextlib.suppress(DBAPIError), db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("CHECKPOINT"))  # refused to a database user without pg_checkpoint: then measured as is

    def vary_open(self, people: dict[str, Any], offset: int) -> Any:
        """bench/inbox.py's mix: a third unclaimed, the rest spread over the handlers; 20 % near due, 10 % overdue."""
        now, unit_id, handlers = self.now, people["unit_id"], people["handler"]

        def vary(i: int, case: dict[str, Any], _instance: dict[str, Any], tasks: list[dict[str, Any]]) -> None:
            i = 2 * i + offset
            case["unit_id"] = unit_id
            case["party_name"] = f"{bench_inbox.PARTIES[i % len(bench_inbox.PARTIES)]}{i}"
            case["opened_at"] = now - dt.timedelta(days=1 + i % 60, minutes=i % 600)
            state = "overdue" if i % 10 == 0 else "near" if i % 10 in (1, 2) else "normal"
            due = {"overdue": now - dt.timedelta(days=1 + i % 5), "near": now + dt.timedelta(days=1, hours=i % 20),
                   "normal": now + dt.timedelta(days=5 + i % 25)}[state]
            for task in tasks:
                task["unit_id"] = unit_id
                if task["status"] == "open":
                    task.update(assignee_id=None if i % 3 == 0 else handlers[i % len(handlers)], deadline_state=state,
                                due_at=due, warn_at=due - dt.timedelta(days=2), created_at=case["opened_at"])
        return vary

    # ------------------------------------------------------------------------------------ inbox, sweep
    def inbox(self) -> dict[str, Any]:
        client = self.app.test_client()
        bench_inbox.login(client, "bench_head")
        views = [bench_inbox.measure(client, label, query, self.sizes.inbox_requests)
                 for label, query in bench_inbox.VIEWS[:3]]
        return {**max(views, key=lambda v: v["p95"]), "views": views}

    def sweep(self) -> float:
        handler = self.user("bench_handler01")
        sweeps = []
        for _ in range(bench_timers.ROUNDS):
            with clock.use_clock(clock.FrozenClock(bench_timers.CREATED_AT)):
                for _ in range(self.sizes.due):
                    bench_timers.make_waiting_case(handler, bench_timers.DUE_SERVED_ON)
            db.session.remove()
            with clock.use_clock(clock.FrozenClock(bench_timers.SWEEP_AT)):
                t0 = time.perf_counter()
                result = fire_due_timers(bench_timers.SWEEP_AT)
                sweeps.append(time.perf_counter() - t0)
            assert len(result.fired) == self.sizes.due and not result.failed, (len(result.fired), result.failed)
            db.session.remove()
            handler = self.user("bench_handler01")
        return statistics.median(sweeps)

    # ----------------------------------------------------------------------------------------- starts
    def starts(self) -> tuple[float, float]:
        self.quiesce()  # after the sweeps' writes
        handler = self.user("bench_handler01")
        start_case(handler, bench_engine.PROCEDURE, bench_engine.PARTY, bench_engine.FACTS)  # warm caches
        bare, persisted = [], []
        per_round = max(1, self.sizes.starts // bench_engine.ROUNDS)
        for _ in range(bench_engine.ROUNDS):
            bare.append(bench_engine.bare_starts(per_round)[0])
            t0 = time.perf_counter()
            for _ in range(per_round):
                start_case(handler, bench_engine.PROCEDURE, bench_engine.PARTY, bench_engine.FACTS)
            persisted.append(per_round / (time.perf_counter() - t0))
        db.session.remove()
        return max(persisted), max(bare)

    # ------------------------------------------------------------------------------ HTTP completions
    def http_completions(self) -> dict[str, Any]:
        handler = self.user("bench_handler01")
        token = issue_token(handler, actor="bench")
        n = self.sizes.completions
        warm = 40
        tasks = list(db.session.scalars(select(Task.id).where(
            Task.unit_id == self.people["unit_id"], Task.status == "open", Task.bpmn_id == "register",
            Task.assignee_id.is_(None)).limit(n + warm)))
        db.session.commit()
        db.session.remove()
        assert len(tasks) == n + warm, f"only {len(tasks)} open 登记 tasks to complete"
        self.quiesce()  # after the starts' writes
        port = free_port()
        env = self.server_env()
        cmd = [str(VENV_BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
               "webui:create_app()"]
        with server(cmd, env, port) as log:
            load(port, token, tasks[:warm], CLIENTS)
            t0 = time.perf_counter()
            results = load(port, token, tasks[warm:], CLIENTS)
            elapsed = time.perf_counter() - t0
            ok = sorted(ms for status, ms in results if status == 200)
            errors = [status for status, _ in results if status != 200]
            assert len(ok) >= 0.99 * n, f"{len(errors)} failed completions: {errors[:10]}\n{log.read_text()[-3000:]}"
        return {"rate": len(ok) / elapsed, "p50": statistics.median(ok), "p99": percentile(ok, 0.99), "errors": len(errors)}

    def server_env(self) -> dict[str, str]:
        env = {**os.environ, "DATABASE_URL": self.url, "ZHIFA_SECRET_KEY": "bench-secret-not-for-production"}
        env.pop("ZHIFA_TEST_DATABASE_URL", None)
        return env

    # -------------------------------------------------------------------------------- timer lateness
    def lateness(self) -> dict[str, Any]:
        mark_deadlines(clock.now())  # what the earlier steps left for a first sweep on the real clock
        db.session.remove()
        port = free_port()
        cmd = [str(VENV_BIN / "zhifa"), "run", "--no-demo", "--host", "127.0.0.1", "--port", str(port)]
        case_ids: list[int] = []
        with server(cmd, self.server_env(), port, ready_timeout=120):
            handler = self.user("bench_handler01")
            for _ in range(self.sizes.lateness_cases):
                case_ids.append(start_case(handler, "mini_quick", bench_timers.PARTY, {}).id)
                db.session.remove()
                handler = self.user("bench_handler01")
                time.sleep(0.37)  # not in step with the 1-second sweep
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                fired = db.session.execute(select(AuditEvent.at, AuditEvent.data).where(
                    AuditEvent.case_id.in_(case_ids), AuditEvent.action == "timer.fired")).all()
                db.session.remove()
                if len(fired) == len(case_ids):
                    break
                time.sleep(0.2)
        assert len(fired) == len(case_ids), f"{len(fired)} of {len(case_ids)} timers fired"
        late = sorted((at - dt.datetime.fromisoformat(data["due_at"])).total_seconds() * 1000 for at, data in fired)
        return {"p50": statistics.median(late), "max": late[-1], "n": len(late)}


def vary_waiting(i: int, _case: dict[str, Any], instance: dict[str, Any], _tasks: list[dict[str, Any]]) -> None:
    instance["next_timer_at"] = bench_timers.FUTURE + dt.timedelta(minutes=i % 30000)  # all after every "now" used


# ----------------------------------------------------------------------------------- processes, load
@contextlib.contextmanager
def server(cmd: list[str], env: dict[str, str], port: int, ready_timeout: float = 60) -> Iterator[Path]:
    """A server in its own process group, killed (the whole group) on the way out, whatever happened."""
    tmp = Path(tempfile.mkdtemp(prefix="zhifa-bench-srv-"))
    log = tmp / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_ready(port, proc, log, ready_timeout)
        yield log
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)
        shutil.rmtree(tmp, ignore_errors=True)


def wait_ready(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        with contextlib.suppress(OSError):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/login")
            if conn.getresponse().status == 200:
                conn.close()
                return
        time.sleep(0.2)
    raise RuntimeError(f"server not ready after {timeout:.0f} s:\n{log.read_text(errors='replace')[-3000:]}")


def load(port: int, token: str, task_ids: list[str], clients: int) -> list[tuple[int, float]]:
    """Complete each task once over ``clients`` connections; (status, ms) per request."""
    work: queue.Queue[str] = queue.Queue()
    for task_id in task_ids:
        work.put(task_id)
    results: list[tuple[int, float]] = []
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    body = json.dumps({"data": REGISTER}, ensure_ascii=False).encode()

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        while True:
            try:
                task_id = work.get_nowait()
            except queue.Empty:
                break
            t0 = time.perf_counter()
            try:
                conn.request("POST", f"/api/v1/tasks/{task_id}/complete", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                status = 0
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine.append((status, (time.perf_counter() - t0) * 1000))
        conn.close()
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    return results


def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


# ------------------------------------------------------------------------------------------ the table
def print_table(f: dict[str, Any], sizes: Sizes, quick: bool, load_before: tuple[float, ...], load_after: tuple[float, ...],
                elapsed: float) -> bool:
    rows: list[tuple[str, str, str, bool | None]] = []
    persisted, bare = f["starts"]
    ratio = persisted / bare
    rows.append(("persisted case starts/s (普通程序) vs bare SpiffWorkflow", f"{persisted:.0f}/s vs {bare:.0f}/s = {ratio:.2f}x",
                 ">= 0.5x", ratio >= 0.5))
    h = f["http"]
    rows.append((f"task completions/s via HTTP (gunicorn -w 2, PostgreSQL, {CLIENTS} clients)", f"{h['rate']:.0f}/s",
                 ">= 100/s", h["rate"] >= 100))
    rows.append(("  completion latency p50 / p99", f"{h['p50']:.0f} / {h['p99']:.0f} ms", "p99 < 100 ms", h["p99"] < 100))
    small, large = f["inbox_small"], f["inbox_large"]
    inbox_ratio = large["p95"] / small["p95"]
    rows.append((f"inbox p95 (GET /, worst view), {sizes.small:,} open tasks", f"{small['p95']:.1f} ms ({small['view']})", "", None))
    rows.append((f"inbox p95 (GET /, worst view), {sizes.large:,} open tasks", f"{large['p95']:.1f} ms ({large['view']}), "
                 f"{inbox_ratio:.2f}x", "<= 30 ms, <= 1.5x", large["p95"] <= 30 and inbox_ratio <= 1.5))
    s_small, s_large = f["sweep_small"], f["sweep_large"]
    rows.append((f"timer sweep of {sizes.due} due, {sizes.small:,} waiting instances", f"{s_small * 1000:.0f} ms", "", None))
    rows.append((f"timer sweep of {sizes.due} due, {sizes.large:,} waiting instances",
                 f"{s_large * 1000:.0f} ms, {s_large / s_small:.2f}x", "ratio <= 2", s_large / s_small <= 2))
    for name, label in (("register", "open (mini, at 登记)"), ("ordinary", "open (普通程序, at its 1st task)"),
                        ("closed", "closed (mini, all 4 steps done)")):
        total, state = f["bytes"][name]
        rows.append((f"stored bytes per case, {label}", f"{total / 1024:.1f} KB (state JSON {state / 1024:.1f} KB raw)",
                     "<= 8 KB", total <= 8 * 1024))
    late = f["lateness"]
    rows.append((f"timer lateness, embedded server (zhifa run, {late['n']} timers)", f"p50 {late['p50']:.0f} ms, max {late['max']:.0f} ms",
                 "max <= 2 s (1 s sweeps)", late["max"] <= 2000))

    width, vwidth, twidth = (max(display_width(r[k]) for r in rows) for k in range(3))
    print()
    print(f"zhifa bench{' --quick (smoke run: sizes too small for the figures to mean anything)' if quick else ''} — "
          f"PostgreSQL, {os.cpu_count()} cores, load average {load_before[0]:.2f} at start, {load_after[0]:.2f} at end, "
          f"{elapsed:.0f} s")
    print(f"{pad('figure', width)}  {pad('measured', vwidth)}  {pad('target', twidth)}  result")
    print("-" * (width + vwidth + twidth + 12))
    failed = False
    for label, value, target, ok in rows:
        verdict = "" if ok is None else "PASS" if ok else "FAIL"
        failed |= ok is False
        print(f"{pad(label, width)}  {pad(value, vwidth)}  {pad(target, twidth)}  {verdict}".rstrip())
    for size, inbox in ((sizes.small, small), (sizes.large, large)):
        print(f"inbox p95 per view at {size:,} open tasks: "
              + ", ".join(f"{v['view']} {v['p95']:.1f} ms ({v['rows']} rows)" for v in inbox["views"]))
    generated = ", ".join(f"{n:,} cases in {s:.1f} s" for n, s in f["generated"])
    print(f"generator (COPY): {generated} (cumulative clones; plus the cases the sweeps and starts made)")
    return failed


def display_width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def pad(s: str, width: int) -> str:
    return s + " " * (width - display_width(s))


if __name__ == "__main__":
    main()
