"""The ``zhifa`` command: scripted set-up, drills, deploy errors, and ``zhifa run`` serving demo data."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import DATA
from tests.support.cli import invoke


def test_users_create_and_token_make_a_working_api_client(app, people):
    result = invoke(app, "users", "create", "cli_officer", "--unit", "unit_a", "--role", "handler", "--role", "unit_head")
    assert result.exit_code == 0, result.output
    assert "created cli_officer with password" in result.output  # generated, shown once
    token = invoke(app, "users", "token", "cli_officer").output.strip()
    assert token.startswith("zf_")
    r = app.test_client().get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.get_json()["scope"] == "mine"


def test_users_create_refuses_weak_password_and_unknown_role(app, people):
    result = invoke(app, "users", "create", "weak", "--unit", "unit_a", "--role", "handler", "--password", "123")
    assert result.exit_code != 0 and "密码" in result.output
    result = invoke(app, "users", "create", "x2", "--unit", "unit_a", "--role", "wizard")
    assert result.exit_code != 0 and "未知角色" in result.output


def test_deploy_of_a_broken_directory_names_file_and_element_and_changes_nothing(app, tmp_path, mini):
    processes, forms = tmp_path / "processes", tmp_path / "forms"
    processes.mkdir()
    forms.mkdir()
    for f in (DATA / "mini" / "processes").iterdir():
        (processes / f.name).write_bytes(f.read_bytes())
    for f in (DATA / "mini" / "forms").iterdir():
        (forms / f.name).write_bytes(f.read_bytes())
    bpmn = processes / "mini.bpmn"
    bpmn.write_text(bpmn.read_text(encoding="utf-8").replace('value="mini_serve"', 'value="no_such_form"'), encoding="utf-8")
    result = invoke(app, "deploy", str(tmp_path), "--comment", "broken")
    assert result.exit_code == 1
    assert "processes/mini.bpmn" in result.output and "[serve]" in result.output and "no_such_form" in result.output
    with app.app_context():
        from engine.models import Deployment, db

        assert db.session.query(Deployment).count() == 1


def test_tick_with_now_fires_due_timers(app, people, mini, frozen):
    with app.app_context():
        from sqlalchemy import select

        from engine.models import Task, db
        from engine.runtime import complete_task, start_case
        from tests.conftest import user

        case = start_case(user("a_handler1"), "mini", {"party_type": "citizen", "party_name": "赵六"}, {"proposed_fine": 1})
        for data in ({"facts": "事实清楚", "proposed_fine": 1}, {"served_on": "2026-03-03"}):
            task = db.session.scalars(select(Task).where(Task.case_id == case.id, Task.status == "open")).one()
            complete_task(user("a_handler1"), task.id, data)
        db.session.remove()
    assert "fired 0 timers" in invoke(app, "tick", "--now", "2026-03-10T12:00:00+08:00").output
    assert "fired 1 timers" in invoke(app, "tick", "--now", "2026-03-11T08:00:00+08:00").output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_zhifa_run_serves_the_demo_on_embedded_sqlite(tmp_path):
    port = _free_port()
    zhifa = Path(sys.executable).parent / "zhifa"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}", "ZHIFA_SECRET_KEY": "smoke-test"}
    env.pop("ZHIFA_TEST_DATABASE_URL", None)
    proc = subprocess.Popen([str(zhifa), "run", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        body = ""
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as r:
                    body = r.read().decode()
                    break
            except OSError:
                time.sleep(0.5)
        assert "登录" in body, proc.stdout.read() if proc.poll() is not None else "server did not answer"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    import sqlite3

    db = sqlite3.connect(tmp_path / "demo.db")
    assert db.execute("select count(*) from user").fetchone()[0] >= 17
    assert db.execute("select count(distinct unit_id) from \"case\"").fetchone()[0] == 2
    states = {row[0] for row in db.execute('select status from "case"')}
    assert {"open", "closed"} <= states
