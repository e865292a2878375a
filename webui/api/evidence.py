"""Evidence over the API: multipart upload, the resumable chunked protocol, listing, ranged content.

Bodies are streamed (``request.stream``, or Werkzeug's spooled-to-disk multipart parts), never read
whole; each route raises the request size limit only as far as it needs: a chunk, or one file for the
multipart route. Content is served so that it can never run in the page: its sniffed type (never
HTML or SVG, refused at upload), ``nosniff``, a sandboxing CSP, and ``attachment`` for anything that
is not an image, a recording or a PDF.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from flask.blueprints import BlueprintSetupState
from sqlalchemy.engine import make_url

from engine.errors import InvalidInput, NotFound
from engine.evidence import (
    chunk_max_bytes,
    complete_upload,
    evidence_summary,
    get_evidence,
    list_evidence,
    put_chunk,
    register_evidence,
    start_upload,
    thumbnail,
    upload_status,
    withdraw_evidence,
)
from engine.evidence.sniff import max_bytes
from engine.evidence.storage import set_default_dir
from engine.policy.access import get_case

from . import bp, current, json_body, text_field

CONTENT_RANGE = re.compile(r"^bytes (\d{1,15})-(\d{1,15})/(\d{1,15}|\*)$")
FORM_OVERHEAD = 1024 * 1024  # multipart boundaries and the text fields next to the file


@bp.record_once
def _configure(state: BlueprintSetupState) -> None:
    """Objects next to the SQLite database (the embedded default), else in the instance folder; and
    the per-route body limits, set before anything (the CSRF check included) reads the body."""
    app: Flask = state.app
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    folder = Path(url.database).parent if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
        else Path(app.instance_path)
    set_default_dir(folder / "objects")
    app.before_request_funcs.setdefault(None, []).insert(0, _body_limit)


def _body_limit() -> None:
    if request.endpoint == "api.upload_evidence":
        request.max_content_length = max_bytes() + FORM_OVERHEAD
    elif request.endpoint == "api.put_upload_chunk":
        request.max_content_length = chunk_max_bytes()


@bp.post("/cases/<int:case_id>/evidence")
def upload_evidence(case_id: int) -> tuple[dict[str, Any], int]:
    """One file as multipart ``file`` with ``kind``, ``description``, ``collected_at``, ``collected_place``, ``task_id``."""
    get_case(current(), case_id)  # another unit's case does not exist, whatever the body holds
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput("请选择要上传的文件（字段 file）(a multipart field 'file' is required)",
                           details=[{"field": "file", "message": "必填"}])
    form = request.form
    evidence = register_evidence(current(), case_id, upload.stream, kind=form.get("kind", ""),
                                 filename=upload.filename or form.get("filename", ""), description=form.get("description", ""),
                                 collected_at=form.get("collected_at") or None, collected_place=form.get("collected_place", ""),
                                 collected_by=form.get("collected_by") or None, task_id=form.get("task_id") or None)
    return evidence_summary(evidence), 201


@bp.get("/cases/<int:case_id>/evidence")
def case_evidence(case_id: int) -> dict[str, Any]:
    items = list_evidence(current(), case_id, task_id=request.args.get("task_id") or None)
    return {"items": [evidence_summary(e) for e in items]}


@bp.post("/cases/<int:case_id>/evidence/uploads")
def start_evidence_upload(case_id: int) -> tuple[dict[str, Any], int]:
    get_case(current(), case_id)
    body = json_body()
    upload = start_upload(current(), case_id, kind=body.get("kind"), filename=body.get("filename"), size=body.get("size"),
                          sha256=body.get("sha256"), description=text_field(body, "description"),
                          collected_at=body.get("collected_at"), collected_place=text_field(body, "collected_place"),
                          collected_by=body.get("collected_by"), task_id=_task_id(body.get("task_id")))
    return _upload(upload.id, upload.received, upload.declared_size), 201


@bp.put("/evidence/uploads/<upload_id>")
def put_upload_chunk(upload_id: str) -> dict[str, Any]:
    """Raw bytes with ``Content-Range: bytes START-END/TOTAL``; START must be the upload's offset."""
    match = CONTENT_RANGE.match(request.headers.get("Content-Range", ""))
    if not match:
        raise InvalidInput("缺少或无效的 Content-Range，应为 bytes 起始-结束/总数 (Content-Range: bytes START-END/TOTAL is required)")
    start, end = int(match.group(1)), int(match.group(2))
    length = end - start + 1
    if length <= 0 or request.content_length != length:
        raise InvalidInput("Content-Range 与请求体长度不符 (Content-Range does not match the body's Content-Length)")
    upload = put_chunk(current(), upload_id, start, request.stream, length)
    return _upload(upload.id, upload.received, upload.declared_size)


@bp.get("/evidence/uploads/<upload_id>")
def read_upload(upload_id: str) -> dict[str, Any]:
    upload = upload_status(current(), upload_id)
    return _upload(upload.id, upload.received, upload.declared_size)


@bp.post("/evidence/uploads/<upload_id>/complete")
def complete_evidence_upload(upload_id: str) -> tuple[dict[str, Any], int]:
    return evidence_summary(complete_upload(current(), upload_id)), 201


@bp.get("/evidence/<int:evidence_id>")
def read_evidence(evidence_id: int) -> dict[str, Any]:
    return evidence_summary(get_evidence(current(), evidence_id))


@bp.post("/evidence/<int:evidence_id>/withdraw")
def withdraw(evidence_id: int) -> dict[str, Any]:
    return evidence_summary(withdraw_evidence(current(), evidence_id, text_field(json_body(), "reason")))


@bp.get("/evidence/<int:evidence_id>/content")
def evidence_content(evidence_id: int) -> Response:
    """The bytes, whole or one ``Range`` (a video player seeks without downloading everything); served exactly
    as the case pages serve them (webui/evidence.py: one way to hand out evidence bytes)."""
    from ..evidence import content_response

    evidence = get_evidence(current(), evidence_id)
    try:
        return content_response(evidence, download=request.args.get("download") == "1")
    except FileNotFoundError:
        raise NotFound("证据文件缺失，请联系系统管理员运行 zhifa audit verify (the stored file is missing)")


@bp.get("/evidence/<int:evidence_id>/thumbnail")
def evidence_thumbnail(evidence_id: int) -> Response:
    data = thumbnail(current(), evidence_id, request.args.get("size", 320, type=int))
    if data is None:
        raise NotFound("该证据没有缩略图 (no thumbnail: not an image)")
    response = Response(data, mimetype="image/jpeg")
    response.headers.update({"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"})
    return response


def _upload(upload_id: str, received: int, size: int) -> dict[str, Any]:
    return {"upload_id": upload_id, "offset": received, "size": size, "chunk_size": chunk_max_bytes()}


def _task_id(value: object) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise InvalidInput("task_id 必须是字符串 (task_id must be a string)", details=[{"field": "task_id", "message": "必须是字符串"}])
    return value




def _openapi() -> None:
    """The evidence routes in the served OpenAPI document (webui/api/openapi.py), kept next to the routes."""
    from . import openapi

    op, error = openapi._op, openapi._ERROR_RESPONSE  # noqa: SLF001  (the document's own builders)
    openapi._PATH_PARAMETERS["evidence_id"] = openapi._ID  # noqa: SLF001
    openapi._PATH_PARAMETERS["upload_id"] = {"type": "string", "minLength": 1, "maxLength": 64}  # noqa: SLF001
    kinds = {"type": "string", "enum": ["photo", "audio", "video", "scan", "electronic", "other"]}
    entry = {"kind": kinds, "description": {"type": "string"}, "collected_at": {"type": "string", "format": "date-time"},
             "collected_place": {"type": "string"}, "collected_by": {"type": "string"}, "task_id": {"type": "string"}}
    binary = {"schema": {"type": "string", "format": "binary"}}
    content_op = op("The item's bytes; Range requests answer 206 (a player seeks without downloading it all). "
                    "Served with its sniffed type, nosniff and a sandboxing CSP; attachment unless image/audio/video/PDF",
                    params=["evidence_id"], query=[("download", {"type": "string", "enum": ["1"]}, False)])
    content_op["responses"] = {"200": {"description": "The whole file", "content": {"*/*": binary}},
                               "206": {"description": "One range", "content": {"*/*": binary}}, "default": error}
    thumb_op = op("A JPEG thumbnail of an image item (404 for other kinds)", params=["evidence_id"],
                  query=[("size", {"type": "integer"}, False)])
    thumb_op["responses"] = {"200": {"description": "JPEG", "content": {"image/jpeg": binary}}, "default": error}
    chunk_op = op("Send one chunk: raw bytes with Content-Range: bytes START-END/TOTAL, START = the upload's offset "
                  "(409 with details.expected_offset otherwise) -> {upload_id, offset}", params=["upload_id"])
    chunk_op["requestBody"] = {"required": True, "content": {"application/octet-stream": binary}}
    chunk_op["parameters"].append({"name": "Content-Range", "in": "header", "required": True, "schema": {"type": "string"}})
    upload_op = op("Register one evidence file (multipart): file, kind, description, collected_at, collected_place, task_id; "
                   "the type is sniffed from the content; refused (422, nothing stored) when the content does not match "
                   "the kind, is HTML/SVG, is empty or over the size limit", "201", params=["case_id"])
    upload_op["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file", "kind"],
        "properties": {"file": {"type": "string", "format": "binary"}, **entry}}}}}
    openapi.SPEC["paths"].update({
        "/cases/{case_id}/evidence": {
            "get": op("The case's evidence items in order (证据编号), withdrawn ones included",
                      params=["case_id"], query=[("task_id", "string", False)]),
            "post": upload_op,
        },
        "/cases/{case_id}/evidence/uploads": {"post": op(
            "Start a resumable chunked upload (large files): declare size and sha256 -> {upload_id, offset, chunk_size}", "201",
            params=["case_id"], body={"type": "object", "required": ["kind", "filename", "size", "sha256"], "properties": {
                "filename": {"type": "string"}, "size": {"type": "integer", "minimum": 1},
                "sha256": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"}, **entry}})},
        "/evidence/uploads/{upload_id}": {
            "get": op("Where an upload stands: {upload_id, offset, size} (resume from offset)", params=["upload_id"]),
            "put": chunk_op,
        },
        "/evidence/uploads/{upload_id}/complete": {"post": op(
            "Finish an upload: the assembled file's size and sha256 are checked (422 and nothing stored on a mismatch), "
            "then it is registered like a multipart upload", "201", params=["upload_id"], body_required=False,
            body={"type": "object", "nullable": True})},
        "/evidence/{evidence_id}": {"get": op("One evidence item (metadata, sha256, withdrawal)", params=["evidence_id"])},
        "/evidence/{evidence_id}/content": {"get": content_op},
        "/evidence/{evidence_id}/thumbnail": {"get": thumb_op},
        "/evidence/{evidence_id}/withdraw": {"post": op(
            "撤回 an item (officers of the case): recorded with who, when and why; the bytes are kept", params=["evidence_id"],
            body={"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string", "minLength": 1}}})},
    })


_openapi()
