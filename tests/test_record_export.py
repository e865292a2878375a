"""The case file (案卷): exported with its documents and hash chain, verifiable offline with Python alone."""

from __future__ import annotations

import io
import json
import zipfile

from sqlalchemy import select, update

from engine.casefile.export import export_case_file
from engine.models import AuditEvent, Task, db
from engine.runtime import complete_task, start_case
from tests.conftest import user
from tests.support.case_file import rewrite, run_verify
from tests.support.web import LEAD, login
from tests.support.web import page_csrf as csrf


def worked_case(app) -> int:
    """An ordinary case whose lead was registered (so its record has several events)."""
    from tests.conftest import ROOT, deploy_dir

    with app.app_context():
        deploy_dir(ROOT)
        case = start_case(user("a_handler1"), "ordinary", {"party_type": "citizen", "party_name": "张三",
                                                            "party_id_number": "110101199001011234"},
                          {"violation": "未明码标价", "penalty_kind": "fine", "proposed_fine": 500})
        task = db.session.scalars(select(Task).where(Task.case_id == case.id, Task.status == "open")).one()
        complete_task(user("a_handler1"), task.id, LEAD)
        db.session.remove()
        return case.id


def test_exported_case_file_verifies_offline_and_every_tampering_is_found(app, people, frozen, tmp_path):
    case_id = worked_case(app)
    with app.app_context():
        name, content = export_case_file(user("a_handler1"), case_id)
        db.session.remove()
    assert name.endswith(".zip")
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert {"manifest.json", "audit.jsonl", "case.json", "verify.py", "README.txt"} <= set(archive.namelist())
    case = json.loads(archive.read("case.json"))
    assert case["party_id_number"] == "1101**********1234"  # masked, as everywhere
    ok = run_verify(tmp_path, content)
    assert ok.returncode == 0, ok.stdout

    edited = rewrite(content, "audit.jsonl", lambda b: b.replace("案件线索".encode(), "案件线案".encode(), 1)
                     if "案件线索".encode() in b else b.replace(b'"actor":"a_handler1"', b'"actor":"a_handler2"', 1))
    assert run_verify(tmp_path, edited).returncode == 1
    lines = archive.read("audit.jsonl").decode().splitlines(keepends=True)
    dropped = rewrite(content, "audit.jsonl", lambda b: "".join(lines[:2] + lines[3:]).encode())
    result = run_verify(tmp_path, dropped)
    assert result.returncode == 1 and "audit.jsonl" in result.stdout  # the manifest no longer matches either
    with app.app_context():
        db.session.execute(update(AuditEvent).where(AuditEvent.case_id == case_id, AuditEvent.seq == 2)
                           .values(actor="someone_else"))
        db.session.commit()
        _, tampered_in_db = export_case_file(user("a_handler1"), case_id)
        db.session.remove()
    result = run_verify(tmp_path, tampered_in_db)
    assert result.returncode == 1 and "#2" in result.stdout  # the chain itself shows the edit


def test_case_page_shows_the_chain_status_and_exports_the_file(app, people, frozen):
    case_id = worked_case(app)
    client = app.test_client()
    login(client, "a_handler1")
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'id="record-status" data-intact="1"' in page
    r = client.get(f"/cases/{case_id}/record.zip")
    assert r.status_code == 200 and r.mimetype == "application/zip"
    other = app.test_client()
    login(other, "b_handler1")
    assert other.get(f"/cases/{case_id}/record.zip").status_code == 404
    with app.app_context():
        db.session.execute(update(AuditEvent).where(AuditEvent.case_id == case_id, AuditEvent.seq == 1).values(actor="x"))
        db.session.commit()
    assert 'id="record-status" data-intact="0"' in client.get(f"/cases/{case_id}").get_data(as_text=True)


def test_administrator_verifies_every_chain_from_the_admin(app, people, frozen):
    case_id = worked_case(app)
    admin = app.test_client()
    login(admin, "admin")
    page = admin.get("/admin/record_verify/").get_data(as_text=True)
    page = admin.post("/admin/record_verify/", data={"csrf_token": csrf(page)}).get_data(as_text=True)
    assert 'data-intact="1"' in page
    with app.app_context():
        db.session.execute(update(AuditEvent).where(AuditEvent.case_id == case_id, AuditEvent.seq == 2).values(actor="x"))
        db.session.commit()
    page = admin.post("/admin/record_verify/", data={"csrf_token": csrf(page)}).get_data(as_text=True)
    assert 'data-intact="0"' in page and f"case:{case_id}" in page
    officer = app.test_client()
    login(officer, "a_handler1")
    assert officer.get("/admin/record_verify/").status_code == 403
