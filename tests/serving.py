"""Real server processes for the multi-process tests: gunicorn web processes and ``zhifa worker``s
against the test PostgreSQL database, each in its own process group, always killed on the way out."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parent.parent
BIN = Path(sys.executable).parent

postgresql_only = pytest.mark.skipif(
    not os.environ.get("ZHIFA_TEST_DATABASE_URL"),
    reason="PostgreSQL only (several processes share one database with FOR UPDATE SKIP LOCKED): "
           "set ZHIFA_TEST_DATABASE_URL, as scripts/test does for its PostgreSQL pass",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    """Started processes and their logs; ``stop_all`` kills every process group, whatever state it is in."""

    def __init__(self, url: str, logs: Path) -> None:
        self.env = {**os.environ, "DATABASE_URL": url, "ZHIFA_SECRET_KEY": "multi-process-test",
                    "ZHIFA_SCHEDULER_INTERVAL": "0.2"}
        self.env.pop("ZHIFA_TEST_DATABASE_URL", None)
        self.logs = logs
        self.procs: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, name: str, cmd: list[str]) -> subprocess.Popen[bytes]:
        log = self.logs / f"{name}.log"
        with log.open("ab") as out:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append((proc, log))
        return proc

    def gunicorn(self, name: str, port: int, workers: int = 2) -> subprocess.Popen[bytes]:
        proc = self.start(name, [str(BIN / "gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
                                 "--timeout", "30", "--log-level", "warning", "webui:create_app()"])
        return proc

    def worker(self, name: str) -> subprocess.Popen[bytes]:
        return self.start(name, [str(BIN / "zhifa"), "worker"])

    def stop_all(self) -> None:
        for proc, _log in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        for proc, _log in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)

    def tails(self, chars: int = 2000) -> str:
        return "\n".join(f"--- {log.name} ---\n{log.read_text(errors='replace')[-chars:]}" for _p, log in self.procs)


@contextlib.contextmanager
def processes(url: str, logs: Path) -> Iterator[Processes]:
    group = Processes(url, logs)
    try:
        yield group
    finally:
        group.stop_all()


def wait_http(port: int, proc: subprocess.Popen[bytes], timeout: float = 45.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"server on port {port} exited with {proc.returncode}"
        with contextlib.suppress(OSError, http.client.HTTPException):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/login")
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return
        time.sleep(0.2)
    raise AssertionError(f"server on port {port} not ready after {timeout:.0f} s")


def wait_started(proc: subprocess.Popen[bytes], log: Path, timeout: float = 45.0) -> None:
    """Until a ``zhifa worker`` printed that it started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"worker exited with {proc.returncode}: {log.read_text(errors='replace')[-2000:]}"
        if b"zhifa worker started" in log.read_bytes():
            return
        time.sleep(0.1)
    raise AssertionError(f"worker not started after {timeout:.0f} s")


def children(pid: int) -> list[int]:
    """Child process ids (gunicorn's workers of a master), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            # pid (comm) state ppid …: comm may hold spaces, so split after its closing parenthesis
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


def post(port: int, path: str, token: str, body: dict[str, Any] | None = None, timeout: float = 30.0) -> tuple[int, Any]:
    """One request on a fresh connection; status 0 when the connection broke (no answer received)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", "/api/v1" + path, body=json.dumps(body or {}, ensure_ascii=False).encode(),
                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        response = conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None
    except (OSError, http.client.HTTPException):
        return 0, None
    finally:
        conn.close()
