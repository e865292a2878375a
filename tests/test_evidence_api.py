"""Evidence over /api/v1: multipart and chunked uploads, what is recorded, how content is served, and every
refusal (wrong kind, too large, content not matching its kind, HTML/SVG with script, chunk out of order,
hash mismatch) storing nothing."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from engine.evidence.storage import FolderStorage
from engine.models import AuditEvent, Case, Evidence, UploadSession, db
from tests.conftest import PASSWORD
from tests.support.evidence import (  # noqa: F401  (fixtures)
    HTML_WITH_SCRIPT,
    SVG_WITH_SCRIPT,
    folder_store,
    jpeg_bytes,
    mp4_bytes,
    pdf_bytes,
    png_bytes,
    s3_endpoint,
)
from tests.support.web import start


@pytest.fixture
def case(app: Flask, people: dict[str, int], mini: int, frozen: Any, folder_store: FolderStorage) -> dict[str, Any]:  # noqa: F811
    case_id, task_id = start(app)
    return {"id": case_id, "task_id": task_id}


def post_file(client: Any, headers: dict[str, str], case_id: int, content: bytes, name: str, kind: str, **fields: str) -> Any:
    data = {"file": (io.BytesIO(content), name), "kind": kind, **fields}
    return client.post(f"/api/v1/cases/{case_id}/evidence", headers=headers, data=data, content_type="multipart/form-data")


def nothing_stored(app: Flask, store: FolderStorage) -> None:
    with app.app_context():
        assert db.session.scalar(select(Evidence.id)) is None, "no evidence row"
        assert not db.session.scalars(select(AuditEvent).where(AuditEvent.action == "evidence.registered")).first()
        db.session.remove()
    objects = [p for p in store.root.rglob("*") if p.is_file() and store.staging_dir not in p.parents]
    assert objects == [], f"objects stored: {objects}"
    assert not [p for p in store.staging_dir.rglob("*") if p.is_file() and p.suffix != ".part"], "staging left behind"


def test_photo_is_registered_with_its_hash_exif_and_an_event_in_the_case_chain(app, api, case, folder_store):  # noqa: F811
    handler = api("a_handler1")
    photo = jpeg_bytes()
    r = post_file(handler.client, handler.headers, case["id"], photo, "现场照片.jpg", "photo", description="仓库现场",
                  collected_place="某市某区仓库", task_id=case["task_id"])
    assert r.status_code == 201, r.get_json()
    item = r.get_json()
    assert item["sha256"] == hashlib.sha256(photo).hexdigest() and item["size"] == len(photo)
    assert item["content_type"] == "image/jpeg" and item["kind_label"] == "照片" and item["seq"] == 1
    assert item["collected_at"] == "2026-03-02T10:15:00+08:00", "taken from EXIF DateTimeOriginal"
    assert item["metadata"]["gps"] == {"lat": 39.9075, "lon": 116.391667} and item["task_id"] == case["task_id"]
    assert folder_store.path(item["sha256"]).read_bytes() == photo
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "evidence.registered")).one()
        assert event.chain == f"case:{case['id']}" and event.actor == "a_handler1"
        assert (event.data["sha256"], event.data["size"], event.data["kind"]) == (item["sha256"], len(photo), "photo")
        assert event.data["metadata"]["make"] == "ZhifaCam"
        db.session.remove()
    status, listed = handler.get(f"/cases/{case['id']}/evidence")
    assert status == 200 and [i["id"] for i in listed["items"]] == [item["id"]]
    status, one = api("a_reviewer").get(f"/evidence/{item['id']}")  # anyone who may see the case may see its evidence
    assert status == 200 and one["sha256"] == item["sha256"]


def test_content_is_served_ranged_and_never_as_a_page(app, api, case):
    handler = api("a_handler1")
    video = mp4_bytes(padding=100_000)
    item = post_file(handler.client, handler.headers, case["id"], video, "执法记录仪.mp4", "video").get_json()
    url = f"/api/v1/evidence/{item['id']}/content"
    whole = handler.client.get(url, headers=handler.headers)
    assert whole.status_code == 200 and whole.data == video
    assert whole.headers["Content-Type"] == "video/mp4" and whole.headers["X-Content-Type-Options"] == "nosniff"
    assert whole.headers["Content-Disposition"].startswith("inline;") and "sandbox" in whole.headers["Content-Security-Policy"]
    assert whole.headers["Accept-Ranges"] == "bytes"
    part = handler.client.get(url, headers={**handler.headers, "Range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.data == video[1000:2000]
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{len(video)}"
    tail = handler.client.get(url, headers={**handler.headers, "Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.data == video[-10:]
    assert handler.client.get(url, headers={**handler.headers, "Range": f"bytes={len(video) + 5}-"}).status_code == 416
    assert item["collected_at"] is not None and item["metadata"]["duration"] == 5.0  # the movie header's time and length

    text = post_file(handler.client, handler.headers, case["id"], "聊天记录导出\n".encode(), "chat.txt", "electronic").get_json()
    served = handler.client.get(f"/api/v1/evidence/{text['id']}/content", headers=handler.headers)
    assert served.headers["Content-Type"] == "application/octet-stream"  # only images, recordings and PDF are shown
    disposition = served.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''chat.txt" in disposition
    png = post_file(handler.client, handler.headers, case["id"], png_bytes(), "a.png", "photo").get_json()
    thumb = handler.client.get(f"/api/v1/evidence/{png['id']}/thumbnail", headers=handler.headers)
    assert thumb.status_code == 200 and thumb.data[:3] == b"\xff\xd8\xff"


@pytest.mark.parametrize(("content", "name", "kind", "expect"), [
    (pdf_bytes(), "photo.jpg", "photo", "与所选证据种类“照片”不符"),  # a PDF named .jpg, declared a photo
    (jpeg_bytes(), "clip.mp4", "video", "与所选证据种类“录像”不符"),
    (jpeg_bytes(), "x.jpg", "weapon", "证据种类无效"),
    (SVG_WITH_SCRIPT, "notes.txt", "other", "网页或 SVG"),  # named .txt: the bytes decide
    (HTML_WITH_SCRIPT, "chat.log", "electronic", "网页或 SVG"),
    (b"just text", "page.html", "electronic", "不接受可执行脚本的文件类型"),
    (b"", "empty.txt", "other", "文件为空"),
], ids=["pdf-as-photo", "jpeg-as-video", "unknown-kind", "svg-script", "html-script", "html-name", "empty"])
def test_bad_files_are_refused_with_a_clear_message_and_nothing_is_stored(app, api, case, folder_store, content, name, kind, expect):  # noqa: F811
    handler = api("a_handler1")
    r = post_file(handler.client, handler.headers, case["id"], content, name, kind)
    assert r.status_code == 422, r.get_json()
    assert expect in r.get_json()["message"]
    nothing_stored(app, folder_store)


def test_over_the_size_limit_is_refused_and_nothing_is_stored(app, api, case, folder_store, monkeypatch):  # noqa: F811
    monkeypatch.setenv("ZHIFA_EVIDENCE_MAX_BYTES", "1000")
    handler = api("a_handler1")
    r = post_file(handler.client, handler.headers, case["id"], jpeg_bytes(size=(400, 400)), "big.jpg", "photo")
    assert r.status_code in (413, 422)
    assert r.status_code == 413 or "文件过大" in r.get_json()["message"]
    status, body = handler.post(f"/cases/{case['id']}/evidence/uploads", {"kind": "video", "filename": "v.mp4", "size": 5000,
                                                                         "sha256": "0" * 64})
    assert status == 422 and "文件过大" in body["message"] and "上限为" in body["message"]
    nothing_stored(app, folder_store)


def put_chunk(api_client: Any, upload_id: str, data: bytes, start: int, total: int) -> Any:
    return api_client.client.put(f"/api/v1/evidence/uploads/{upload_id}", data=data, headers={
        **api_client.headers, "Content-Type": "application/octet-stream",
        "Content-Range": f"bytes {start}-{start + len(data) - 1}/{total}"})


def test_chunked_upload_resumes_after_a_dropped_connection_and_checks_the_hash(app, api, case, folder_store):  # noqa: F811
    handler = api("a_handler1")
    video = mp4_bytes(padding=300_000)
    digest = hashlib.sha256(video).hexdigest()
    status, started = handler.post(f"/cases/{case['id']}/evidence/uploads", {
        "kind": "video", "filename": "执法记录仪.mp4", "size": len(video), "sha256": digest, "description": "现场检查录像",
        "collected_place": "某仓库", "task_id": case["task_id"]})
    assert status == 201 and started["offset"] == 0
    upload_id = started["upload_id"]
    chunk = 100_000
    assert put_chunk(handler, upload_id, video[:chunk], 0, len(video)).get_json()["offset"] == chunk
    # Out of order: told where to resume.
    r = put_chunk(handler, upload_id, video[2 * chunk:3 * chunk], 2 * chunk, len(video))
    assert r.status_code == 409 and r.get_json()["details"]["expected_offset"] == chunk
    assert "应从第 100000 字节继续" in r.get_json()["message"]
    # The connection drops half-way through the second chunk: its bytes do not count.
    dropped = handler.client.put(f"/api/v1/evidence/uploads/{upload_id}", input_stream=io.BytesIO(video[chunk:chunk + 40_000]),
                                 headers={**handler.headers, "Content-Type": "application/octet-stream", "Content-Length": str(chunk),
                                          "Content-Range": f"bytes {chunk}-{2 * chunk - 1}/{len(video)}"})
    assert dropped.status_code >= 400
    status, progress = handler.get(f"/evidence/uploads/{upload_id}")
    assert status == 200 and progress["offset"] == chunk
    status, early = handler.post(f"/evidence/uploads/{upload_id}/complete")
    assert status == 409 and early["details"]["expected_offset"] == chunk
    offset = chunk
    while offset < len(video):
        r = put_chunk(handler, upload_id, video[offset:offset + chunk], offset, len(video))
        assert r.status_code == 200, r.get_json()
        offset = r.get_json()["offset"]
    status, item = handler.post(f"/evidence/uploads/{upload_id}/complete")
    assert status == 201, item
    assert item["sha256"] == digest and item["size"] == len(video) and item["task_id"] == case["task_id"]
    assert folder_store.path(digest).read_bytes() == video
    assert not list((folder_store.staging_dir / "uploads").iterdir()), "the part file is gone"
    assert handler.get(f"/evidence/uploads/{upload_id}")[0] == 409  # complete: nothing more to send
    assert api("a_handler2").get(f"/evidence/uploads/{upload_id}")[0] == 404  # someone else's upload does not exist for them


def test_final_hash_mismatch_stores_nothing(app, api, case, folder_store):  # noqa: F811
    handler = api("a_handler1")
    video = mp4_bytes()
    status, started = handler.post(f"/cases/{case['id']}/evidence/uploads", {
        "kind": "video", "filename": "v.mp4", "size": len(video), "sha256": hashlib.sha256(b"something else").hexdigest()})
    assert status == 201
    assert put_chunk(handler, started["upload_id"], video, 0, len(video)).status_code == 200
    status, body = handler.post(f"/evidence/uploads/{started['upload_id']}/complete")
    assert status == 422 and "文件哈希不符" in body["message"] and body["details"]["received"] == hashlib.sha256(video).hexdigest()
    nothing_stored(app, folder_store)
    assert not list((folder_store.staging_dir / "uploads").iterdir())
    with app.app_context():
        assert db.session.get(UploadSession, started["upload_id"]).status == "failed"
        db.session.remove()
    assert put_chunk(handler, started["upload_id"], video, 0, len(video)).status_code == 409  # the upload is over


def test_chunked_upload_refuses_bad_declarations(api, case):
    handler = api("a_handler1")
    base = {"kind": "video", "filename": "v.mp4", "size": 10, "sha256": "a" * 64}
    for change, text in (({"sha256": "xyz"}, "sha256"), ({"size": -1}, "size"), ({"size": "10"}, "size"),
                         ({"kind": "movie"}, "证据种类无效"), ({"filename": "a.svg"}, "不接受")):
        status, body = handler.post(f"/cases/{case['id']}/evidence/uploads", {**base, **change})
        assert status == 422 and text in body["message"], (change, body)
    status, started = handler.post(f"/cases/{case['id']}/evidence/uploads", base)
    r = put_chunk(handler, started["upload_id"], b"x" * 11, 0, 11)
    assert r.status_code == 422 and "超出声明的文件大小" in r.get_json()["message"]
    r = handler.client.put(f"/api/v1/evidence/uploads/{started['upload_id']}", data=b"xx", headers=handler.headers)
    assert r.status_code == 422 and "Content-Range" in r.get_json()["message"]


def test_who_may_add_and_withdraw(app, api, case, folder_store):  # noqa: F811
    photo = jpeg_bytes(exif=False)
    other_unit = api("b_handler1")
    r = post_file(other_unit.client, other_unit.headers, case["id"], photo, "a.jpg", "photo")
    assert r.status_code == 404
    assert other_unit.get(f"/cases/{case['id']}/evidence")[0] == 404
    designer = api("designer")
    r = post_file(designer.client, designer.headers, case["id"], photo, "a.jpg", "photo")
    assert r.status_code == 403 and "只有本案承办单位的执法人员" in r.get_json()["message"]
    nothing_stored(app, folder_store)

    handler = api("a_handler1")
    item = post_file(handler.client, handler.headers, case["id"], photo, "a.jpg", "photo").get_json()
    assert other_unit.get(f"/evidence/{item['id']}")[0] == 404
    assert other_unit.client.get(f"/api/v1/evidence/{item['id']}/content", headers=other_unit.headers).status_code == 404
    status, body = handler.post(f"/evidence/{item['id']}/withdraw", {"reason": "  "})
    assert status == 422 and "撤回理由" in body["message"]
    status, body = handler.post(f"/evidence/{item['id']}/withdraw", {"reason": "拍摄对象有误，另行补拍"})
    assert status == 200 and body["withdrawn"] and body["withdrawn_by"] == "a_handler1"
    assert handler.client.get(f"/api/v1/evidence/{item['id']}/content", headers=handler.headers).data == photo  # bytes kept
    assert handler.post(f"/evidence/{item['id']}/withdraw", {"reason": "again"})[0] == 409
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "evidence.withdrawn")).one()
        assert event.data["reason"] == "拍摄对象有误，另行补拍" and event.data["sha256"] == item["sha256"]
        db.session.get(Case, case["id"]).status = "closed"
        db.session.commit()
        db.session.remove()
    r = post_file(handler.client, handler.headers, case["id"], png_bytes(), "b.png", "photo")
    assert r.status_code == 409 and "已结案" in r.get_json()["message"]


def test_session_user_needs_csrf_for_uploads(app, case):
    client = app.test_client()
    from tests.support.web import form_inputs

    token = form_inputs(client.get("/login").get_data(as_text=True))["csrf_token"]
    client.post("/login", data={"username": "a_handler1", "password": PASSWORD, "csrf_token": token})
    token = form_inputs(client.get("/login").get_data(as_text=True))["csrf_token"]  # the logged-in session's token
    data = {"file": (io.BytesIO(png_bytes()), "a.png"), "kind": "photo"}
    assert client.post(f"/api/v1/cases/{case['id']}/evidence", data=data, content_type="multipart/form-data").status_code == 400
    data = {"file": (io.BytesIO(png_bytes()), "a.png"), "kind": "photo"}
    r = client.post(f"/api/v1/cases/{case['id']}/evidence", data=data, content_type="multipart/form-data",
                    headers={"X-CSRFToken": token})
    assert r.status_code == 201


def test_openapi_documents_the_evidence_routes(api):
    status, spec = api("a_handler1").get("/openapi.json")
    assert status == 200
    for path in ("/cases/{case_id}/evidence", "/cases/{case_id}/evidence/uploads", "/evidence/uploads/{upload_id}",
                 "/evidence/uploads/{upload_id}/complete", "/evidence/{evidence_id}", "/evidence/{evidence_id}/content",
                 "/evidence/{evidence_id}/withdraw"):
        assert path in spec["paths"], path


def test_body_limits_are_set_per_route(app, api, case, monkeypatch):
    """The multipart route takes one file above the app's general 20 MB limit; a chunk above the chunk size is 413."""
    monkeypatch.setenv("ZHIFA_EVIDENCE_CHUNK_BYTES", str(256 * 1024))
    handler = api("a_handler1")
    big = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(25 * 1024 * 1024)
    r = post_file(handler.client, handler.headers, case["id"], big, "long.mp4", "video")
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["size"] == len(big) and r.get_json()["sha256"] == hashlib.sha256(big).hexdigest()
    status, started = handler.post(f"/cases/{case['id']}/evidence/uploads", {"kind": "video", "filename": "v.mp4",
                                                                            "size": 1024 * 1024, "sha256": "b" * 64})
    assert status == 201 and started["chunk_size"] == 256 * 1024
    r = put_chunk(handler, started["upload_id"], bytes(256 * 1024 + 1), 0, 1024 * 1024)
    assert r.status_code == 413


@pytest.mark.slow
def test_bench_uploads_through_a_real_server_with_a_dropped_connection() -> None:
    """bench/evidence.py end to end, small: ``zhifa run``, a socket cut half-way through a chunk, resumed, hash checked."""
    import subprocess
    import sys

    from tests.serving import ROOT

    out = subprocess.run([sys.executable, "-m", "bench.evidence", "--size-mb", "8", "--chunk-mb", "1", "--store", "folder"],
                         cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    row = [line for line in out.stdout.splitlines() if line.startswith("folder ")]
    assert row and row[0].split()[-1] == "True", out.stdout


def test_chunked_upload_lands_in_the_s3_store(app, api, people, mini, frozen, s3_endpoint, tmp_path):  # noqa: F811
    """The same protocol with the S3-compatible store (moto_server over HTTP): staged locally, then stored in S3."""
    from engine.evidence.storage import rehash, set_storage
    from tests.support.evidence import new_s3_store

    store = new_s3_store(s3_endpoint, tmp_path / "staging")
    set_storage(store)
    try:
        case_id, _ = start(app)
        handler = api("a_handler1")
        video = mp4_bytes(padding=200_000)
        digest = hashlib.sha256(video).hexdigest()
        status, started = handler.post(f"/cases/{case_id}/evidence/uploads", {"kind": "video", "filename": "v.mp4",
                                                                           "size": len(video), "sha256": digest})
        assert status == 201
        for offset in range(0, len(video), 65_536):
            assert put_chunk(handler, started["upload_id"], video[offset:offset + 65_536], offset, len(video)).status_code == 200
        status, item = handler.post(f"/evidence/uploads/{started['upload_id']}/complete")
        assert status == 201 and item["sha256"] == digest
        assert rehash(store, digest) == (digest, len(video))
        part = handler.client.get(f"/api/v1/evidence/{item['id']}/content", headers={**handler.headers, "Range": "bytes=100-199"})
        assert part.status_code == 206 and part.data == video[100:200]
        assert not [p for p in store.staging_dir.rglob("*") if p.is_file()], "nothing left on local disk"
    finally:
        set_storage(None)
