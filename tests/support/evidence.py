"""Evidence test support: a store per test (folder or a real S3-compatible server process) and sample files.

The S3 path runs against ``moto_server`` started as its own process on a loopback port (HTTP, as a
production store is reached), once per test session; every test gets a fresh bucket.
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.evidence.storage import FolderStorage, S3Storage, set_storage

BIN = Path(sys.executable).parent
S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def moto_server(log: Path) -> Iterator[str]:
    """A standalone S3-compatible server (moto) in its own process group; yields its endpoint URL."""
    port = free_port()
    with log.open("ab") as out:
        proc = subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ, **S3_CREDENTIALS})
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
            if proc.poll() is not None:
                raise RuntimeError(f"moto_server exited: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)
        else:
            raise RuntimeError("moto_server did not start in 30 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 15)
        proc.wait(timeout=10)


def s3_client(endpoint: str):  # noqa: ANN201
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing")  # noqa: S106  (the local test server's fixed credentials)


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with moto_server(tmp_path_factory.mktemp("moto") / "moto.log") as endpoint:
        yield endpoint


def new_s3_store(endpoint: str, staging: Path) -> S3Storage:
    client = s3_client(endpoint)
    bucket = f"zhifa-test-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return S3Storage(bucket, staging, client=client)


@pytest.fixture
def folder_store(tmp_path: Path) -> Iterator[FolderStorage]:
    store = FolderStorage(tmp_path / "objects")
    set_storage(store)
    yield store
    set_storage(None)


# --- sample files ---------------------------------------------------------------------------------

def jpeg_bytes(exif: bool = True, size: tuple[int, int] = (64, 48), color: str = "red") -> bytes:
    """A real JPEG; with EXIF DateTimeOriginal 2026-03-02 10:15 (Beijing), a camera and a GPS position."""
    from PIL import Image

    image = Image.new("RGB", size, color)
    out = io.BytesIO()
    if exif:
        data = Image.Exif()
        data[271], data[272] = "ZhifaCam", "BodyCam 1"
        data.get_ifd(0x8769)[36867] = "2026:03:02 10:15:00"
        data.get_ifd(0x8825).update({1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 30.0)})
        image.save(out, "JPEG", exif=data)
    else:
        image.save(out, "JPEG")
    return out.getvalue()


def png_bytes() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (32, 32), "blue").save(out, "PNG")
    return out.getvalue()


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def mp4_bytes(created_seconds_since_1904: int = 3855456000, padding: int = 4096) -> bytes:
    """A minimal MP4: ftyp, an mdat to seek over, and moov/mvhd with a creation time (default 2026-03-03 UTC)."""
    mvhd = bytes([0, 0, 0, 0]) + struct.pack(">IIII", created_seconds_since_1904, created_seconds_since_1904, 1000, 5000) + bytes(80)
    return (_box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41") + _box(b"mdat", bytes(padding))
            + _box(b"moov", _box(b"mvhd", mvhd)))


def pdf_bytes() -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


# A one-page PDF (a 书证扫描件), shown inline on the evidence page.
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


SVG_WITH_SCRIPT = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'
HTML_WITH_SCRIPT = b"\n\n  <!DOCTYPE html><html><body><script>fetch('/api/v1/cases')</script></body></html>"
