"""End to end on a real `zhifa run`: a task completion whose input is pathological for a backtracking
regex engine (``^(a+)+$`` against ``aaaa…a!``) neither freezes the server nor changes the case.

Before RE2, one such completion held the GIL and the case's write lock for minutes: every other
request of the process waited. Now the bad completions get a clear 422 at once, an unrelated request
made while they are in flight answers normally, and the task is still open for a valid completion.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.serving import free_port

ZHIFA = Path(sys.executable).parent / "zhifa"

PROBE_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="probe_defs" targetNamespace="http://zhifa.test/probe">
  <bpmn:process id="probe" name="正则探测" isExecutable="true">
    <bpmn:laneSet id="probe_lanes">
      <bpmn:lane id="probe_lane" name="handler"><bpmn:flowNodeRef>enter_code</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="p_start"><bpmn:outgoing>p1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="enter_code" name="填写编号">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="form" value="probe"/>
          <spiffworkflow:property name="time_limit" value="internal_approval"/>
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>p1</bpmn:incoming><bpmn:outgoing>p2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="p_end"><bpmn:incoming>p2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="p1" sourceRef="p_start" targetRef="enter_code"/>
    <bpmn:sequenceFlow id="p2" sourceRef="enter_code" targetRef="p_end"/>
  </bpmn:process>
</bpmn:definitions>
"""
PROBE_FORM = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "编号", "type": "object", "required": ["code"],
              "properties": {"code": {"title": "编号", "type": "string", "pattern": "^(a+)+$"}}}
EVIL = "a" * 20_000 + "!"  # a backtracking engine would not finish this in the lifetime of the test run


def call(url: str, token: str, body: dict[str, Any] | None = None, timeout: float = 10) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if body is not None else "GET",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


@pytest.mark.slow
def test_a_pathological_pattern_input_is_refused_at_once_while_the_server_keeps_answering(tmp_path):
    (tmp_path / "processes").mkdir()
    (tmp_path / "forms").mkdir()
    (tmp_path / "processes" / "probe.bpmn").write_text(PROBE_BPMN, encoding="utf-8")
    (tmp_path / "forms" / "probe.json").write_text(json.dumps(PROBE_FORM, ensure_ascii=False), encoding="utf-8")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'z.db'}", "ZHIFA_SECRET_KEY": "redos-test",
           "ZHIFA_PROCESSES_DIR": str(tmp_path / "processes"), "ZHIFA_FORMS_DIR": str(tmp_path / "forms")}
    env.pop("ZHIFA_TEST_DATABASE_URL", None)
    run = lambda *args: subprocess.run([str(ZHIFA), *args], env=env, capture_output=True, text=True, timeout=60)  # noqa: E731
    assert run("db", "upgrade").returncode == 0
    assert run("users", "create", "probe", "--unit", "u1", "--role", "handler", "--password", "regex-safe-2026",
               "--credential", "law_enforcement:ZF-0001:2030-12-31").returncode == 0
    token = run("users", "token", "probe").stdout.strip()
    port = free_port()
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen([str(ZHIFA), "run", "--no-demo", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        for _ in range(160):
            try:
                call(base + "/tasks", token, timeout=2)
                break
            except OSError:
                time.sleep(0.25)
        status, case = call(base + "/cases", token, {"procedure": "probe", "party": {"type": "citizen", "name": "周九"}})
        assert status == 201, (status, case, (tmp_path / "server.log").read_text(errors="replace")[-2000:])
        [task] = [t for t in case["tasks"] if t["status"] == "open"]

        outcomes: list[tuple[int, Any, float]] = []

        def bad_completion() -> None:
            started = time.monotonic()
            try:
                status, body = call(base + f"/tasks/{task['id']}/complete", token, {"data": {"code": EVIL}}, timeout=20)
            except OSError as exc:  # a timeout: the server froze
                status, body = 0, str(exc)
            outcomes.append((status, body, time.monotonic() - started))

        threads = [threading.Thread(target=bad_completion) for _ in range(3)]
        for thread in threads:
            thread.start()
        started = time.monotonic()
        status, listing = call(base + "/tasks", token, timeout=10)  # an unrelated request, made while the bad ones run
        unrelated = time.monotonic() - started
        for thread in threads:
            thread.join(timeout=30)
        print(f"unrelated request: {unrelated:.3f} s; bad completions: {[round(o[2], 3) for o in outcomes]} s")
        assert status == 200 and isinstance(listing, dict), listing
        assert unrelated < 2, f"an unrelated request took {unrelated:.1f} s while the bad completions ran"
        assert len(outcomes) == 3
        for status, body, elapsed in outcomes:
            assert status == 422, (status, body)
            assert body["error"] == "invalid_input" and body["details"][0]["field"] == "code"
            assert "格式不符合要求" in body["message"]
            assert elapsed < 5, f"a bad completion took {elapsed:.1f} s"

        status, detail = call(base + f"/cases/{case['id']}", token)
        assert status == 200
        assert [t["id"] for t in detail["tasks"] if t["status"] == "open"] == [task["id"]], "a refused completion changed the case"
        assert [h["action"] for h in detail["history"]] == [h["action"] for h in case["history"]]

        started = time.monotonic()
        status, done = call(base + f"/tasks/{task['id']}/complete", token, {"data": {"code": "a" * 20_000}})
        assert status == 200, done
        assert time.monotonic() - started < 5
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:  # stuck in a C loop that never returns to the signal handler
            server.kill()
            server.wait(timeout=20)
        log.close()
