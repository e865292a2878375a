"""The storage contract, run on the folder store and on a real S3-compatible server (moto_server over HTTP):
content-addressed, written once, streamed in and out (ranges included), a missing or changed object detectable."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from engine.evidence.storage import BLOCK, FolderStorage, S3Storage, Storage, TooLarge, get_storage, rehash, set_default_dir, stage
from tests.support.evidence import new_s3_store, s3_endpoint  # noqa: F401  (session fixture: the S3 server process)


@pytest.fixture(params=["folder", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "folder":
        return FolderStorage(tmp_path / "objects")
    return new_s3_store(request.getfixturevalue("s3_endpoint"), tmp_path / "staging")


def blocks(total: int, block: int = 256 * 1024):
    """Deterministic bytes produced block by block (never one big buffer)."""
    seed = hashlib.sha256(b"zhifa").digest()
    made = 0
    while made < total:
        n = min(block, total - made)
        yield (seed * (n // len(seed) + 1))[:n]
        made += n


def whole(total: int) -> bytes:
    return b"".join(blocks(total))


def test_store_is_content_addressed_and_streams_ranges(store: Storage) -> None:
    data = whole(3 * BLOCK + 123)  # several blocks: exercises the streaming and the S3 multipart path is not needed
    staged = stage(store, blocks(len(data)))
    assert staged.sha256 == hashlib.sha256(data).hexdigest() and staged.size == len(data)
    assert store.store(staged) is True
    assert not staged.path.exists(), "the staging file is removed once stored"
    assert store.exists(staged.sha256) and store.size(staged.sha256) == len(data)
    assert b"".join(store.read(staged.sha256)) == data
    assert b"".join(store.read(staged.sha256, 10, 19)) == data[10:20]
    assert b"".join(store.read(staged.sha256, BLOCK - 5, BLOCK + 5)) == data[BLOCK - 5:BLOCK + 6]
    assert b"".join(store.read(staged.sha256, len(data) - 3)) == data[-3:]
    assert rehash(store, staged.sha256) == (staged.sha256, len(data))


def test_store_never_overwrites_an_object(store: Storage) -> None:
    first = stage(store, [b"the original photo bytes"])
    assert store.store(first) is True
    again = stage(store, [b"the original photo bytes"])
    assert store.store(again) is False  # already there: kept as it is, the copy is discarded
    assert not again.path.exists()
    assert b"".join(store.read(first.sha256)) == b"the original photo bytes"


def test_missing_object_is_reported_not_invented(store: Storage) -> None:
    absent = hashlib.sha256(b"never stored").hexdigest()
    assert not store.exists(absent) and store.size(absent) is None
    assert rehash(store, absent) is None
    with pytest.raises(FileNotFoundError):
        b"".join(store.read(absent))


def test_staging_stops_at_the_size_limit_and_leaves_nothing(store: Storage) -> None:
    with pytest.raises(TooLarge):
        stage(store, blocks(2 * BLOCK), max_bytes=BLOCK)
    assert not any(p.is_file() for p in store.staging_dir.rglob("*"))


def test_large_object_goes_to_s3_in_parts_with_flat_memory(s3_endpoint: str, tmp_path: Path) -> None:  # noqa: F811
    store = new_s3_store(s3_endpoint, tmp_path / "staging")
    total = 20 * BLOCK  # above the 8 MB multipart threshold: three parts
    staged = stage(store, blocks(total))
    assert store.store(staged) is True
    parts = store.client.head_object(Bucket=store.bucket, Key=store.key(staged.sha256), PartNumber=1)
    assert parts.get("PartsCount", 1) >= 2, "uploaded as a multipart upload"
    assert rehash(store, staged.sha256) == (staged.sha256, total)


def test_changed_byte_in_folder_store_is_found_by_rehash(tmp_path: Path) -> None:
    store = FolderStorage(tmp_path / "objects")
    staged = stage(store, [b"x" * 1000])
    store.store(staged)
    path = store.path(staged.sha256)
    assert not os.access(path, os.W_OK) or os.geteuid() == 0  # stored read-only
    path.chmod(0o644)
    with path.open("r+b") as f:
        f.seek(500)
        f.write(b"y")
    assert rehash(store, staged.sha256)[0] != staged.sha256


def test_environment_selects_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_endpoint: str) -> None:  # noqa: F811
    set_default_dir(tmp_path / "default")
    for name in ("ZHIFA_S3_BUCKET", "ZHIFA_STORAGE_DIR", "ZHIFA_S3_ENDPOINT", "ZHIFA_STAGING_DIR"):
        monkeypatch.delenv(name, raising=False)
    folder = get_storage()
    assert isinstance(folder, FolderStorage) and folder.root == tmp_path / "default"
    monkeypatch.setenv("ZHIFA_STORAGE_DIR", str(tmp_path / "configured"))
    assert get_storage().root == tmp_path / "configured"  # type: ignore[attr-defined]
    monkeypatch.setenv("ZHIFA_S3_BUCKET", "zhifa-env")
    monkeypatch.setenv("ZHIFA_S3_ENDPOINT", s3_endpoint)
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "ZHIFA_S3_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    s3 = get_storage()
    assert isinstance(s3, S3Storage) and s3.bucket == "zhifa-env"
    s3.client.create_bucket(Bucket="zhifa-env")
    staged = stage(s3, [b"through the environment"])
    assert s3.store(staged) and b"".join(s3.read(staged.sha256)) == b"through the environment"


def test_the_migration_matches_the_models(app) -> None:
    """Autogenerate finds nothing to add or change for the evidence tables (migration 0015)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from engine.models import db

    with app.app_context():
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    flat = []
    stack = list(diff)
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        else:
            flat.append(item)
    ours = [d for d in flat if "'evidence" in repr(d)]
    assert ours == [], ours
