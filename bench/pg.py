"""A throwaway PostgreSQL server for the benchmarks (the recipe of scripts/test, as a context manager).

    with throwaway_postgres() as url:   # postgresql://zhifa@127.0.0.1:PORT/zhifa_bench
        ...

initdb + pg_ctl from PostgreSQL 15 (/usr/lib/postgresql/*/bin or PATH) in a temporary directory, run
as ``nobody`` when we are root (PostgreSQL refuses root), fsync off (a benchmark database is
disposable), stopped with ``-m immediate`` and removed on exit, whatever happened.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path


def pg_bin() -> Path:
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        raise RuntimeError("PostgreSQL's initdb was not found: apt-get install postgresql, or pass DATABASE_URL")
    return Path(candidates[-1]).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def throwaway_postgres(dbname: str = "zhifa_bench") -> Iterator[str]:
    bindir = pg_bin()
    tmp = Path(tempfile.mkdtemp(prefix="zhifa-bench-pg-"))
    port = free_port()
    runas = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
    if runas:
        shutil.chown(tmp, "nobody")
    data = tmp / "data"

    def pg(*args: str) -> None:
        subprocess.run([*runas, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)

    try:
        pg(str(bindir / "initdb"), "-D", str(data), "-U", "zhifa", "--auth=trust", "-E", "UTF8", "--locale=C")
        options = (f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200 "
                   "-c shared_buffers=256MB")
        pg(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(tmp / "log"), "-w", "start")
        pg(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "zhifa", dbname)
        yield f"postgresql://zhifa@127.0.0.1:{port}/{dbname}"
    finally:
        subprocess.run([*runas, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, check=False)
        shutil.rmtree(tmp, ignore_errors=True)
