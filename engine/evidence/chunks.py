"""Resumable chunked upload for large evidence (body-camera video up to 4 GB).

Protocol: ``start_upload`` declares the size and sha256 up front (and every check that can be made
before a byte moves: the case, the kind, the name, the size limit) → ``put_chunk`` at an offset that
must equal the bytes received so far (anything else is refused with the offset expected, so a client
that lost track resumes exactly) → ``upload_status`` after a dropped connection → ``complete_upload``
hashes the assembled part file (streaming) and registers it like any other item; a size or hash that
does not match the declaration stores nothing.

The part file lives on local disk in the store's staging folder. ``received`` moves only after a
whole chunk was written, and a chunk is always written from ``received`` (the file is cut back there
first), so the bytes of a chunk whose connection dropped half-way are simply written again. One chunk
of an upload is written at a time (an exclusive lock on the part file). Chunks are progress of a
transfer, not facts of the case: the chain records the start (what was declared) and the registered
item, not each chunk.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import update

from engine import clock
from engine.db.command import command
from engine.errors import Conflict, InvalidInput, InvalidState, NotFound
from engine.evidence import sniff
from engine.evidence.register import check_may_add, entry_fields, register_staged
from engine.evidence.storage import BLOCK, SHA256, Staged, get_storage, hash_file
from engine.models import Evidence, UploadSession, User, db
from engine.record import audit

DEFAULT_CHUNK_BYTES = 16 * 1024 * 1024
UPLOAD_LIFETIME = dt.timedelta(days=7)


def chunk_max_bytes() -> int:
    """The largest chunk one request may carry (``ZHIFA_EVIDENCE_CHUNK_BYTES``): bounds a request, not a file."""
    try:
        return max(64 * 1024, int(os.environ.get("ZHIFA_EVIDENCE_CHUNK_BYTES") or DEFAULT_CHUNK_BYTES))
    except ValueError:
        return DEFAULT_CHUNK_BYTES


@command
def start_upload(actor: User, case_id: int, *, kind: object, filename: object, size: object, sha256: object,
                 description: object = "", collected_at: object = None, collected_place: object = "",
                 collected_by: object = None, task_id: str | None = None) -> UploadSession:
    case = check_may_add(actor, case_id, task_id)
    fields = entry_fields(kind=kind, filename=filename, description=description, collected_at=collected_at,
                          collected_place=collected_place, collected_by=collected_by)
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        raise InvalidInput("size 必须是正整数（文件的字节数）(size must be the file's length in bytes)",
                           details=[{"field": "size", "message": "必须是正整数"}])
    sniff.check_size(size)
    if not isinstance(sha256, str) or not SHA256.match(sha256.lower()):
        raise InvalidInput("sha256 必须是 64 位十六进制的文件哈希 (sha256 must be the file's hex SHA-256)",
                           details=[{"field": "sha256", "message": "格式无效"}])
    now = clock.now()
    upload = UploadSession(id=secrets.token_urlsafe(32), case_id=case.id, task_id=task_id, kind=fields["kind"],
                           filename=fields["filename"], description=fields["description"], collected_at=fields["collected_at"],
                           collected_place=fields["collected_place"], collected_by=fields["collected_by"] or "",
                           declared_size=size, declared_sha256=sha256.lower(), received=0, status="open",
                           created_by=actor.username, created_at=now, expires_at=now + UPLOAD_LIFETIME)
    db.session.add(upload)
    part = part_path(upload.id)
    part.parent.mkdir(parents=True, exist_ok=True)
    part.touch()
    audit.record("evidence.upload_started", actor.username, {"kind": upload.kind, "filename": upload.filename,
                                                             "size": size, "sha256": upload.declared_sha256}, case_id=case.id,
                 task_id=task_id)
    return upload


def put_chunk(actor: User, upload_id: str, offset: int, stream: BinaryIO, length: int) -> UploadSession:
    """Append ``length`` bytes read from ``stream`` at ``offset`` (which must be where the upload stands)."""
    upload = upload_status(actor, upload_id)
    if offset != upload.received:
        raise Conflict(f"分块顺序不对：应从第 {upload.received} 字节继续上传 (chunk out of order: resume at offset {upload.received})",
                       details={"expected_offset": upload.received})
    if length <= 0 or length > chunk_max_bytes():
        raise InvalidInput(f"每块大小须在 1 字节到 {chunk_max_bytes()} 字节之间 (a chunk must be 1..{chunk_max_bytes()} bytes)",
                           details={"chunk_max_bytes": chunk_max_bytes()})
    if offset + length > upload.declared_size:
        raise InvalidInput(f"分块超出声明的文件大小 {upload.declared_size} 字节 (the chunk goes past the declared size)",
                           details={"expected_offset": upload.received, "size": upload.declared_size})
    db.session.commit()  # no transaction stays open while the bytes arrive (nothing was written)
    with _locked(part_path(upload.id)) as part:
        part.truncate(offset)
        part.seek(offset)
        written = 0
        while written < length:
            block = stream.read(min(BLOCK, length - written))
            if not block:
                break
            part.write(block)
            written += len(block)
        part.flush()
        if written != length:
            part.truncate(offset)
            raise InvalidInput(f"分块不完整：收到 {written} 字节，声明 {length} 字节；请从第 {offset} 字节重新上传该块 "
                               f"(incomplete chunk: resume at offset {offset})", details={"expected_offset": offset})
        return _advance(upload.id, offset, offset + length)


@command
def _advance(upload_id: str, offset: int, received: int) -> UploadSession:
    moved = db.session.execute(update(UploadSession).where(UploadSession.id == upload_id, UploadSession.received == offset,
                                                           UploadSession.status == "open").values(received=received))
    if moved.rowcount != 1:
        raise Conflict("上传状态已变化，请查询进度后继续 (the upload moved on: ask for its offset and resume)")
    upload = db.session.get(UploadSession, upload_id, populate_existing=True)
    assert upload is not None
    return upload


def upload_status(actor: User, upload_id: str) -> UploadSession:
    """The upload (only its uploader sees it), open and not expired; ``received`` is where to resume."""
    upload = db.session.get(UploadSession, upload_id, populate_existing=True) if isinstance(upload_id, str) else None
    if upload is None or upload.created_by != actor.username:
        raise NotFound("上传不存在或已失效：请重新开始上传 (upload not found: start again)")
    if upload.status == "complete":
        raise InvalidState(f"该上传已完成，已登记为证据 {upload.evidence_id} (already complete)",
                           details={"evidence_id": upload.evidence_id})
    if upload.status != "open" or upload.expires_at <= clock.now():
        raise InvalidState("该上传已失效（哈希不符或已过期）：请重新开始上传 (the upload failed or expired: start again)")
    return upload


def complete_upload(actor: User, upload_id: str) -> Evidence:
    """Check the assembled file against the declaration, then register it (nothing stored on a mismatch)."""
    upload = upload_status(actor, upload_id)
    if upload.received != upload.declared_size:
        raise InvalidState(f"尚未收齐：已收到 {upload.received} / {upload.declared_size} 字节，请从第 {upload.received} 字节继续上传 "
                           f"(not all bytes received: resume at offset {upload.received})",
                           details={"expected_offset": upload.received})
    db.session.commit()  # read only so far; the hashing below holds no transaction
    path = part_path(upload.id)
    with _locked(path):
        sha256, size = hash_file(path)
        if (sha256, size) != (upload.declared_sha256, upload.declared_size):
            path.unlink(missing_ok=True)
            _fail(upload.id)
            raise InvalidInput(f"文件哈希不符：声明 {upload.declared_sha256}，实际收到 {sha256}；文件未保存，请重新上传 "
                               "(the file's hash does not match the declared sha256: nothing was stored, upload it again)",
                               details={"declared": upload.declared_sha256, "received": sha256})
        staged_path = path.with_suffix(".staged")
        os.replace(path, staged_path)
    try:
        return register_staged(actor, upload.case_id, Staged(staged_path, sha256, size), kind=upload.kind,
                               filename=upload.filename, description=upload.description, collected_at=upload.collected_at,
                               collected_place=upload.collected_place, collected_by=upload.collected_by or None,
                               task_id=upload.task_id, upload_id=upload.id)
    except InvalidInput:
        _fail(upload.id)
        raise
    finally:
        staged_path.unlink(missing_ok=True)


@command
def _fail(upload_id: str) -> None:
    db.session.execute(update(UploadSession).where(UploadSession.id == upload_id).values(status="failed"))


def part_path(upload_id: str) -> Path:
    return get_storage().staging_dir / "uploads" / f"{upload_id}.part"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[BinaryIO]:
    """The part file, opened for writing and locked: a second request for the same upload is told to wait."""
    if not path.exists():
        raise InvalidState("上传的临时文件已不存在：请重新开始上传 (the upload's part file is gone: start again)")
    with path.open("r+b") as part:
        try:
            fcntl.flock(part, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Conflict("该上传的另一分块正在写入，请稍后查询进度再继续 (another chunk of this upload is being written)")
        try:
            yield part
        finally:
            fcntl.flock(part, fcntl.LOCK_UN)
