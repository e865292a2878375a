"""``bench/run --quick`` works end to end (a smoke run: nothing here is timed or compared to targets)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.serving import ROOT, postgresql_only

pytestmark = postgresql_only


@pytest.fixture
def bench_database_url() -> Iterator[str]:
    """A database of its own on the test server: bench/run empties the database it is given."""
    url = make_url(os.environ["ZHIFA_TEST_DATABASE_URL"])
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS zhifa_bench_smoke WITH (FORCE)")
        conn.execute("CREATE DATABASE zhifa_bench_smoke")
    yield url.set(drivername="postgresql", database="zhifa_bench_smoke").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS zhifa_bench_smoke WITH (FORCE)")


def test_bench_run_quick_prints_the_table(bench_database_url):
    env = {k: v for k, v in os.environ.items() if k != "ZHIFA_TEST_DATABASE_URL"}
    proc = subprocess.Popen([str(ROOT / "bench" / "run"), "--quick", "--database-url", bench_database_url], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.terminate()  # bench/run stops its servers on SIGTERM
            proc.communicate(timeout=30)
    assert proc.returncode == 0, out[-3000:] + err[-3000:]
    for figure in ("persisted case starts/s", "task completions/s via HTTP", "inbox p95", "timer sweep",
                   "stored bytes per case", "timer lateness"):
        assert figure in out, out
