"""Where evidence bytes live: content-addressed (sha256), written once, streamed both ways.

Two implementations of one contract (``Storage``): a folder (the embedded default, next to the SQLite
database) and any S3-compatible object store (boto3; production). The contract is what makes the
record tamper-evident: an object's name is the sha256 of its bytes, so the hash the case's chain
recorded finds the object; nothing is ever overwritten or deleted, so a withdrawn item keeps its bytes
(全过程记录 keeps what was collected, even when it is no longer relied on).

Bytes are never held whole in memory: uploads are staged to a local file while being hashed (a
request body, a chunked upload's part file), then moved (folder) or streamed by multipart upload (S3)
into place; reads are ranged iterators of 1 MiB blocks.

Configuration (environment): ``ZHIFA_S3_BUCKET`` selects S3 (with ``ZHIFA_S3_ENDPOINT`` for a
non-AWS store, ``ZHIFA_S3_REGION``, ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``); otherwise
``ZHIFA_STORAGE_DIR``, else ``objects/`` next to the SQLite database (``set_default_dir``).
Staging (temporary parts) is always on local disk: ``<folder>/staging`` or ``ZHIFA_STAGING_DIR``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

BLOCK = 1024 * 1024  # read/write block: memory per transfer stays at this, whatever the file size
SHA256 = re.compile(r"^[0-9a-f]{64}$")


class StorageError(Exception):
    """The store refused or failed (misconfigured, unreachable): an operator's problem, not the user's."""


@dataclass(frozen=True)
class Staged:
    """A file staged on local disk with its hash and size, ready to be stored (then deleted)."""

    path: Path
    sha256: str
    size: int


class Storage(Protocol):
    """The contract both stores keep (tests/test_evidence_storage.py runs it on each)."""

    kind: str

    @property
    def staging_dir(self) -> Path:
        """Local folder for partial uploads and staged files (never the final place of an object)."""

    def store(self, staged: Staged) -> bool:
        """Put the staged file in place under its sha256; False when it was already stored (kept as is)."""

    def exists(self, sha256: str) -> bool: ...

    def size(self, sha256: str) -> int | None:
        """The stored object's size, or None when it is missing."""

    def read(self, sha256: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Bytes ``start``..``end`` (inclusive; None = to the end) in blocks; FileNotFoundError when missing."""


def stage(storage: Storage, chunks: Iterable[bytes], max_bytes: int | None = None) -> Staged:
    """Write ``chunks`` to a staging file while hashing; ``TooLarge`` as soon as ``max_bytes`` is passed
    (the rest of the body is never written)."""
    storage.staging_dir.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    fd, name = tempfile.mkstemp(prefix="stage-", dir=storage.staging_dir)
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise TooLarge(size)
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Staged(path, digest.hexdigest(), size)


class TooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


def iter_stream(stream: BinaryIO | Iterable[bytes], block: int = BLOCK) -> Iterator[bytes]:
    """Blocks of a file-like object (``read``) or an iterable of bytes, never the whole at once."""
    read = getattr(stream, "read", None)
    if read is None:
        yield from stream  # type: ignore[misc]
        return
    while True:
        chunk = read(block)
        if not chunk:
            return
        yield chunk


def hash_file(path: Path) -> tuple[str, int]:
    """(sha256, size) of a local file, read in blocks."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as f:
        while chunk := f.read(BLOCK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def rehash(storage: Storage, sha256: str) -> tuple[str, int] | None:
    """(sha256, size) of what is stored under ``sha256`` now, streamed; None when it is missing.
    Verification compares it with the recorded hash: a changed byte or a truncated file shows."""
    digest, size = hashlib.sha256(), 0
    try:
        for chunk in storage.read(sha256):
            digest.update(chunk)
            size += len(chunk)
    except FileNotFoundError:
        return None
    return digest.hexdigest(), size


class FolderStorage:
    """Objects as read-only files ``<root>/ab/cd/<sha256>``; a hard link puts them in place, which
    fails rather than overwrites when the name exists (write once, even between racing uploads)."""

    kind = "folder"

    def __init__(self, root: Path | str, staging: Path | str | None = None) -> None:
        self.root = Path(root)
        self._staging = Path(staging) if staging else self.root / "staging"

    @property
    def staging_dir(self) -> Path:
        return self._staging

    def path(self, sha256: str) -> Path:
        _check(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def store(self, staged: Staged) -> bool:
        target = self.path(staged.sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            staged.path.chmod(0o444)
            os.link(staged.path, target)
        except FileExistsError:
            return False
        except OSError:  # a filesystem without hard links: an exclusive create is just as final
            try:
                with target.open("xb") as out, staged.path.open("rb") as src:
                    while chunk := src.read(BLOCK):
                        out.write(chunk)
                target.chmod(0o444)
            except FileExistsError:
                return False
        finally:
            staged.path.unlink(missing_ok=True)
        return True

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def size(self, sha256: str) -> int | None:
        try:
            return self.path(sha256).stat().st_size
        except FileNotFoundError:
            return None

    def read(self, sha256: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        f = self.path(sha256).open("rb")  # FileNotFoundError now, before the first block is asked for
        return _blocks(f, start, end)


def _blocks(f: BinaryIO, start: int, end: int | None) -> Iterator[bytes]:
    with f:
        f.seek(start)
        left = None if end is None else end - start + 1
        while left is None or left > 0:
            chunk = f.read(BLOCK if left is None else min(BLOCK, left))
            if not chunk:
                return
            if left is not None:
                left -= len(chunk)
            yield chunk


class S3Storage:
    """Objects ``<prefix><sha256>`` in one bucket of an S3-compatible store.

    Write once: an object that exists is never uploaded again; with the bucket's versioning or object
    lock (documented in docs/production.md) the store itself refuses overwrites and deletions too.
    ``upload_file`` streams a staged file in parts (multipart above 8 MB), so memory stays flat.
    """

    kind = "s3"

    def __init__(self, bucket: str, staging: Path | str, *, endpoint_url: str | None = None, region: str | None = None,
                 prefix: str = "evidence/", client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self._staging = Path(staging)
        if client is None:
            import boto3  # only S3 installations need it loaded
            from botocore.config import Config

            client = boto3.client("s3", endpoint_url=endpoint_url or None, region_name=region or None,
                                  config=Config(retries={"max_attempts": 5, "mode": "standard"}))
        self.client = client

    @property
    def staging_dir(self) -> Path:
        return self._staging

    def key(self, sha256: str) -> str:
        _check(sha256)
        return f"{self.prefix}{sha256[:2]}/{sha256}"

    def store(self, staged: Staged) -> bool:
        try:
            if self.exists(staged.sha256):
                return False
            from boto3.s3.transfer import TransferConfig

            config = TransferConfig(multipart_threshold=8 * BLOCK, multipart_chunksize=8 * BLOCK, max_concurrency=2)
            self.client.upload_file(str(staged.path), self.bucket, self.key(staged.sha256), Config=config,
                                    ExtraArgs={"Metadata": {"sha256": staged.sha256}})
            return True
        finally:
            staged.path.unlink(missing_ok=True)

    def exists(self, sha256: str) -> bool:
        return self.size(sha256) is not None

    def size(self, sha256: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.key(sha256))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise StorageError(str(exc)) from exc
        return int(head["ContentLength"])

    def read(self, sha256: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        from botocore.exceptions import ClientError

        args: dict[str, Any] = {"Bucket": self.bucket, "Key": self.key(sha256)}
        if start or end is not None:
            args["Range"] = f"bytes={start}-{'' if end is None else end}"
        try:
            body = self.client.get_object(**args)["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise FileNotFoundError(sha256) from exc
            raise StorageError(str(exc)) from exc
        return _s3_blocks(body)


def _s3_blocks(body: Any) -> Iterator[bytes]:
    with contextlib.closing(body):
        yield from body.iter_chunks(BLOCK)


def _check(sha256: str) -> None:
    if not SHA256.match(sha256 or ""):
        raise ValueError(f"not a sha256: {sha256!r}")


# --- the installation's store ---------------------------------------------------------------------

_lock = threading.Lock()
_default_dir: Path | None = None
_override: Storage | None = None
_from_env: tuple[tuple[str | None, ...], Storage] | None = None
ENV = ("ZHIFA_S3_BUCKET", "ZHIFA_S3_ENDPOINT", "ZHIFA_S3_REGION", "ZHIFA_STORAGE_DIR", "ZHIFA_STAGING_DIR")


def set_default_dir(path: Path | str | None) -> None:
    """The folder used when the environment names none (the app sets ``<instance>/objects``)."""
    global _default_dir
    _default_dir = Path(path) if path else None


def set_storage(storage: Storage | None) -> None:
    """Use ``storage`` for everything (tests, bench); None goes back to the environment's choice."""
    global _override
    _override = storage


def get_storage() -> Storage:
    """The store the environment configures (built once per configuration, shared by threads)."""
    global _from_env
    if _override is not None:
        return _override
    env = tuple(os.environ.get(name) or None for name in ENV) + (str(_default_dir),)
    with _lock:
        if _from_env is None or _from_env[0] != env:
            _from_env = (env, _build(*env[:5]))
        return _from_env[1]


def _build(bucket: str | None, endpoint: str | None, region: str | None, folder: str | None, staging: str | None) -> Storage:
    if bucket:
        base = Path(folder) if folder else _default_dir
        staging_dir = Path(staging) if staging else (base / "staging" if base else Path(tempfile.gettempdir()) / "zhifa-staging")
        return S3Storage(bucket, staging_dir, endpoint_url=endpoint, region=region)
    root = Path(folder) if folder else _default_dir
    if root is None:
        raise StorageError("未配置证据存储位置：请设置 ZHIFA_STORAGE_DIR 或 ZHIFA_S3_BUCKET "
                           "(no evidence storage configured: set ZHIFA_STORAGE_DIR or ZHIFA_S3_BUCKET)")
    return FolderStorage(root, staging)
