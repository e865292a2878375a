"""`zhifa run` fires a due BPMN timer within 5 s of its due time, with nobody touching the case."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import DATA

ZHIFA = Path(sys.executable).parent / "zhifa"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _call(url: str, token: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if body is not None else "GET",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as r:
        return json.loads(r.read())


def test_embedded_server_fires_a_due_timer_within_five_seconds(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'z.db'}", "ZHIFA_SECRET_KEY": "timer-test",
           "ZHIFA_PROCESSES_DIR": str(DATA / "mini" / "processes"), "ZHIFA_FORMS_DIR": str(DATA / "mini" / "forms")}
    env.pop("ZHIFA_TEST_DATABASE_URL", None)
    run = lambda *args: subprocess.run([str(ZHIFA), *args], env=env, capture_output=True, text=True, timeout=60)  # noqa: E731
    assert run("db", "upgrade").returncode == 0
    assert run("users", "create", "quick", "--unit", "u1", "--role", "handler", "--password", "swift-pass-2026").returncode == 0
    token = run("users", "token", "quick").stdout.strip()
    port = _free_port()
    server = subprocess.Popen([str(ZHIFA), "run", "--no-demo", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        for _ in range(120):
            try:
                _call(base + "/tasks", token)
                break
            except OSError:
                time.sleep(0.25)
        case = _call(base + "/cases", token, {"procedure": "mini_quick", "party": {"type": "citizen", "name": "周九"}})
        started = time.monotonic()
        assert [t for t in case["tasks"] if t["status"] == "open"] == []
        due_in = 2.0  # the timer is PT2S
        while time.monotonic() - started < due_in + 8:
            detail = _call(base + f"/cases/{case['id']}", token)
            if any(t["status"] == "open" for t in detail["tasks"]):
                break
            time.sleep(0.2)
        lateness = time.monotonic() - started - due_in
        assert any(t["status"] == "open" and t["bpmn_id"] == "after_wait" for t in detail["tasks"])
        print(f"embedded scheduler: timer fired {lateness:.2f} s after its due time")
        assert lateness <= 5, f"timer fired {lateness:.1f} s after its due time"
    finally:
        server.terminate()
        server.wait(timeout=20)
