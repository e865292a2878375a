"""Migration 0019 carries a database's pending offers and drafted tasks into the task flags, and back.

Run on a file SQLite database of its own (the suite's database is already at the head revision),
its rows written with plain SQL: the ORM's models are already at the head revision."""

from __future__ import annotations

import sqlite3

from flask_migrate import downgrade, upgrade

from engine.models import db
from webui import create_app

TASKS = ("t-offered", "t-drafted", "t-plain")


def _rows(path: str, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def test_pending_offers_and_drafts_become_task_flags_and_come_back(tmp_path):
    path = str(tmp_path / "m.db")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "x"})
    with app.app_context():
        migrations = app.extensions["migrate"].directory
        upgrade(directory=migrations, revision="0018")
        db.engine.dispose()
        with sqlite3.connect(path) as conn:
            conn.execute("INSERT INTO org_unit (id, code, name, agency_short_name) VALUES (1, 'u', '执法一科', 'X市监')")
            conn.execute("INSERT INTO \"case\" (id, case_number, procedure, unit_id, party_type, party_name, party_id_masked, "
                         "facts, status, opened_at, paused_days, extension_days, extensions) VALUES (1, 'N1', 'mini', 1, "
                         "'citizen', '张三', '', '{}', 'open', '2026-12-01 00:00:00', 0, 0, 0)")
            conn.execute("INSERT INTO deployment (id, bundle_hash, created_at, created_by, comment) "
                         "VALUES (1, 'h', '2026-12-01 00:00:00', 'test', '')")
            conn.execute("INSERT INTO process_spec (id, deployment_id, process_id, name, spec_json, spec_hash, startable) "
                         "VALUES (1, 1, 'mini', 'mini', '{}', 'h', 1)")
            conn.execute("INSERT INTO process_instance (id, case_id, process_id, process_spec_id, status, state, state_format, "
                         "version, started_at) VALUES (1, 1, 'mini', 1, 'running', '{}', 1, 1, '2026-12-01 00:00:00')")
            for tid in TASKS:
                conn.execute("INSERT INTO task (id, instance_id, case_id, process_id, bpmn_id, name, role, unit_id, created_at, "
                             "deadline_state, status, due_provisional) VALUES (?, 1, 1, 'mini', 'register', '登记', 'handler', 1, "
                             "'2026-12-01 00:00:00', 'normal', 'open', 0)", (tid,))
            conn.execute("INSERT INTO task_offer_pending (task_id) VALUES ('t-offered')")
            conn.execute("INSERT INTO task_draft (task_id, user_id, data, saved_at) VALUES ('t-drafted', 1, '{}', '2026-12-01')")
        upgrade(directory=migrations, revision="0019")
        db.engine.dispose()
        flags = {tid: (offered, drafted) for tid, offered, drafted in _rows(path, "SELECT id, offer_pending, has_draft FROM task")}
        assert flags == {"t-offered": (1, 0), "t-drafted": (0, 1), "t-plain": (0, 0)}
        downgrade(directory=migrations, revision="0018")
        db.engine.dispose()
        assert _rows(path, "SELECT task_id FROM task_offer_pending") == [("t-offered",)]
        indexes = dict(_rows(path, "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'task'"))
        assert "WHERE status = 'open'" in indexes["ix_task_open_separated"]  # the table rebuilt keeps 0018's partial index
