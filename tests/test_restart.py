"""The embedded server survives restarts on the same database: README command 1 run on day two.

Each start must let an officer log in (a write: the login is audited), fire a due timer from the
in-process scheduler and complete a task. A start that left a write transaction open locked every
other connection out: logins answered 500 after the 30 s busy timeout.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import DATA
from tests.serving import free_port

ZHIFA = Path(sys.executable).parent / "zhifa"
PASSWORD = "Restart-Pass-2026!"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bool(os.environ.get("ZHIFA_TEST_DATABASE_URL")),
                       reason="the embedded default (SQLite) is what restarts on a desk; run once"),
]


def test_embedded_server_restarts_three_times_and_after_kill_9(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'z.db'}", "ZHIFA_SECRET_KEY": "restart-test",
           "ZHIFA_SCHEDULER_INTERVAL": "0.2",
           "ZHIFA_PROCESSES_DIR": str(DATA / "mini" / "processes"), "ZHIFA_FORMS_DIR": str(DATA / "mini" / "forms")}
    env.pop("ZHIFA_TEST_DATABASE_URL", None)

    def cli(*args: str) -> str:
        done = subprocess.run([str(ZHIFA), *args], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    cli("db", "upgrade")
    cli("users", "create", "officer", "--unit", "u1", "--role", "handler", "--password", PASSWORD,
        "--credential", "law_enforcement:ZF-0001:2030-12-31")  # handler steps need a valid 执法证 (法 Art. 42)
    token = cli("users", "token", "officer").strip()

    for start, stop in enumerate(("terminate", "terminate", "terminate", "kill", "terminate")):
        port = free_port()
        server = subprocess.Popen([str(ZHIFA), "run", "--no-demo", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        try:
            _wait_ready(port, server)
            _log_in(port)
            case = _api(port, token, "/cases", {"procedure": "mini_quick", "party": {"type": "citizen", "name": f"周{start}"}})
            task = _wait_for_open_task(port, token, case["id"])  # the scheduler fired the PT2S timer
            _api(port, token, f"/tasks/{task['id']}/claim", {})
            version = _api(port, token, f"/tasks/{task['id']}")["version"]
            _api(port, token, f"/tasks/{task['id']}/complete", {"data": {"decision": "同意"}, "version": version})
            assert _api(port, token, f"/cases/{case['id']}")["status"] == "closed", f"start {start + 1}"
        finally:
            if stop == "kill":
                os.killpg(server.pid, signal.SIGKILL)  # mid-life, as a power cut would
            else:
                server.terminate()
            server.wait(timeout=20)


def _wait_ready(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stderr.read().decode(errors="replace")[-2000:] if server.stderr else ""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("server not ready after 60 s")


def _log_in(port: int) -> None:
    """The web login: it writes (an audit event), so a held write lock shows here first."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"http://127.0.0.1:{port}/login", timeout=10).read().decode()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf
    body = urllib.parse.urlencode({"csrf_token": csrf.group(1), "username": "officer", "password": PASSWORD}).encode()
    started = time.monotonic()
    with opener.open(f"http://127.0.0.1:{port}/login", data=body, timeout=10) as r:
        assert r.status == 200 and "/login" not in r.url, "the login did not land on the inbox"
    assert time.monotonic() - started < 5


def _api(port: int, token: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1{path}", data=None if body is None else json.dumps(body).encode(),
        method="GET" if body is None else "POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as r:
        return json.loads(r.read())


def _wait_for_open_task(port: int, token: str, case_id: int) -> dict:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        tasks = [t for t in _api(port, token, f"/cases/{case_id}")["tasks"] if t["status"] == "open"]
        if tasks:
            return tasks[0]
        time.sleep(0.2)
    raise AssertionError("the due timer did not fire within 15 s")
