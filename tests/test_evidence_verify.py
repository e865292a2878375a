"""Tamper evidence: one changed byte or a removed file is reported by ``zhifa audit verify`` (folder and S3
stores) and by the ``verify.py`` shipped in the exported case file, offline."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

from engine.casefile.export import export_case_file
from engine.casefile.verify import verify_record
from engine.evidence import register_evidence, withdraw_evidence
from engine.evidence.storage import FolderStorage, S3Storage, set_storage
from engine.models import Evidence, db
from tests.conftest import user
from tests.support.case_file import rewrite, run_verify
from tests.support.evidence import jpeg_bytes, mp4_bytes, new_s3_store, s3_endpoint  # noqa: F401  (session fixture)
from tests.support.web import start

PHOTO = jpeg_bytes()
VIDEO = mp4_bytes(padding=50_000)


@pytest.fixture(params=["folder", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "folder":
        chosen: Any = FolderStorage(tmp_path / "objects")
    else:
        chosen = new_s3_store(request.getfixturevalue("s3_endpoint"), tmp_path / "staging")
    set_storage(chosen)
    yield chosen
    set_storage(None)


@pytest.fixture
def case_with_evidence(app: Flask, people: dict[str, int], mini: int, frozen: Any, store: Any) -> dict[str, Any]:
    case_id, _ = start(app)
    with app.app_context():
        photo = register_evidence(user("a_handler1"), case_id, io.BytesIO(PHOTO), kind="photo", filename="现场.jpg",
                                  collected_place="仓库")
        video = register_evidence(user("a_handler1"), case_id, io.BytesIO(VIDEO), kind="video", filename="记录仪.mp4")
        withdraw_evidence(user("a_handler1"), video.id, "拍摄角度不全，已补拍")
        found = {"case_id": case_id, "photo": photo.sha256, "video": video.sha256, "photo_id": photo.id}
        db.session.remove()
    return found


def replace_object(store: Any, sha256: str, content: bytes | None) -> None:
    """What an intruder with access to the store does: change the bytes in place, or delete them."""
    if isinstance(store, S3Storage):
        if content is None:
            store.client.delete_object(Bucket=store.bucket, Key=store.key(sha256))
        else:
            store.client.put_object(Bucket=store.bucket, Key=store.key(sha256), Body=content)
        return
    path = store.path(sha256)
    if content is None:
        path.unlink()
    else:
        path.chmod(0o644)
        path.write_bytes(content)


def cli_verify(app: Flask) -> Any:
    return app.test_cli_runner().invoke(args=["audit", "verify"])


def test_audit_verify_reports_a_changed_byte_and_a_missing_file(app, api, case_with_evidence, store):
    ok = cli_verify(app)
    assert ok.exit_code == 0, ok.output
    changed = bytearray(PHOTO)
    changed[len(changed) // 2] ^= 0x01
    replace_object(store, case_with_evidence["photo"], bytes(changed))
    result = cli_verify(app)
    assert result.exit_code == 1 and "证据文件被修改" in result.output and case_with_evidence["photo"][:12] in result.output
    replace_object(store, case_with_evidence["video"], None)
    result = cli_verify(app)
    assert result.exit_code == 1 and "证据文件缺失" in result.output
    status, body = api("a_handler1").get(f"/evidence/{case_with_evidence['photo_id'] + 1}/content")
    assert status == 404 and "证据文件缺失" in body["message"]  # said plainly, not a server error
    with app.app_context():
        problems = [f.problem for f in verify_record(case_with_evidence["case_id"])]
        db.session.remove()
    assert len(problems) == 2, problems


def test_audit_verify_reports_an_edited_row(app, case_with_evidence):
    with app.app_context():
        db.session.execute(update(Evidence).where(Evidence.id == case_with_evidence["photo_id"]).values(kind="scan"))
        db.session.commit()
        problems = [f.problem for f in verify_record(case_with_evidence["case_id"])]
        db.session.remove()
    assert any("证据信息与办案记录不符" in p for p in problems), problems


def test_exported_case_file_carries_the_evidence_and_verify_py_finds_tampering(app, case_with_evidence, store, tmp_path):
    with app.app_context():
        _, content = export_case_file(user("a_handler1"), case_with_evidence["case_id"])
        db.session.remove()
    archive = zipfile.ZipFile(io.BytesIO(content))
    manifest = json.loads(archive.read("manifest.json"))
    entries = {e["sha256"]: e for e in manifest["evidence"]}
    photo_file = entries[case_with_evidence["photo"]]["file"]
    assert archive.read(photo_file) == PHOTO and entries[case_with_evidence["video"]]["withdrawn"] is True
    assert run_verify(tmp_path, content).returncode == 0

    flipped = rewrite(content, photo_file, lambda b: b[:100] + bytes([b[100] ^ 1]) + b[101:])
    result = run_verify(tmp_path, flipped)
    assert result.returncode == 1 and "证据文件与登记时的哈希不符" in result.stdout

    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            if name != photo_file:
                target.writestr(name, source.read(name))
    result = run_verify(tmp_path, out.getvalue())
    assert result.returncode == 1 and "证据文件缺失" in result.stdout


def test_export_of_a_changed_or_missing_store_fails_offline(app, case_with_evidence, store, tmp_path):
    replace_object(store, case_with_evidence["photo"], PHOTO[:-1] + b"\x00")
    replace_object(store, case_with_evidence["video"], None)
    with app.app_context():
        _, content = export_case_file(user("a_handler1"), case_with_evidence["case_id"])
        db.session.remove()
    result = run_verify(tmp_path, content)
    assert result.returncode == 1
    assert "证据文件与登记时的哈希不符" in result.stdout and "导出时存储中的证据文件缺失" in result.stdout


def test_evidence_above_the_export_limit_is_listed_with_its_hash(app, case_with_evidence, tmp_path, monkeypatch):
    monkeypatch.setenv("ZHIFA_EXPORT_EVIDENCE_MAX_BYTES", str(len(PHOTO)))  # the photo fits, the video does not
    with app.app_context():
        _, content = export_case_file(user("a_handler1"), case_with_evidence["case_id"])
        db.session.remove()
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(content)).read("manifest.json"))
    listed = {e["sha256"]: e for e in manifest["evidence"]}
    assert listed[case_with_evidence["photo"]]["included"] is True
    assert listed[case_with_evidence["video"]]["included"] is False and listed[case_with_evidence["video"]]["file"] is None
    assert not [n for n in zipfile.ZipFile(io.BytesIO(content)).namelist() if n.endswith(".mp4")]
    assert run_verify(tmp_path, content).returncode == 0
    # A listing edited to another hash no longer matches the registration in the chain.
    forged = json.loads(json.dumps(manifest))
    for entry in forged["evidence"]:
        if entry["sha256"] == case_with_evidence["video"]:
            entry["sha256"] = "0" * 64
    result = run_verify(tmp_path, rewrite(content, "manifest.json", lambda _b: json.dumps(forged).encode()))
    assert result.returncode == 1 and "办案记录中没有该证据登记时的哈希" in result.stdout
