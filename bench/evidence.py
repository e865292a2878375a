"""Evidence upload benchmark (issue 16): a large file through the API in chunks, the connection dropped
half-way through a chunk and the upload resumed, on the embedded folder store and on an S3-compatible
store (moto_server over HTTP), with the server's peak RSS sampled all along.

    .venv/bin/python -m bench.evidence [--size-mb 1024] [--chunk-mb 16] [--store folder|s3|both]

The server is ``zhifa run`` (waitress, as embedded installations run it) on a throwaway SQLite database;
the file is generated on disk (never held in memory here either) and its sha256 declared up front.
Printed per store: MB/s of the chunk uploads (wall time, the dropped chunk included), the time to
complete (hash check + store), the server's RSS before and its peak during the upload.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.suite import server  # noqa: E402
from tests.support.evidence import S3_CREDENTIALS, free_port, moto_server, s3_client  # noqa: E402

MB = 1024 * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--chunk-mb", type=int, default=16)
    parser.add_argument("--store", choices=["folder", "s3", "both"], default="both")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="zhifa-bench-evidence-"))
    try:
        source, digest = make_file(work / "body-camera.mp4", args.size_mb * MB)
        results = []
        for store in (["folder", "s3"] if args.store == "both" else [args.store]):
            results.append(run_store(store, work / store, source, digest, args.chunk_mb * MB))
        print()
        print(f"evidence upload: {args.size_mb} MB in {args.chunk_mb} MB chunks, dropped half-way and resumed "
              f"(load average {os.getloadavg()[0]:.2f})")
        print(f"{'store':8} {'upload MB/s':>12} {'complete s':>11} {'RSS before MB':>14} {'peak RSS MB':>12} {'sha256 ok':>10}")
        for r in results:
            print(f"{r['store']:8} {r['mbps']:12.1f} {r['complete_s']:11.1f} {r['rss_before']:14.1f} {r['rss_peak']:12.1f} "
                  f"{str(r['ok']):>10}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def make_file(path: Path, size: int) -> tuple[Path, str]:
    """Deterministic, incompressible-looking content starting like an MP4, written block by block."""
    digest = hashlib.sha256()
    header = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
    block = hashlib.sha512(b"zhifa").digest() * (MB // 64)
    with path.open("wb") as out:
        written = 0
        first = header + block[len(header):]
        while written < size:
            piece = (first if written == 0 else block)[: size - written]
            piece = piece[:-8] + written.to_bytes(8, "big") if len(piece) > 8 else piece  # no two blocks alike
            out.write(piece)
            digest.update(piece)
            written += len(piece)
    return path, digest.hexdigest()


def run_store(store: str, folder: Path, source: Path, digest: str, chunk: int) -> dict[str, Any]:
    folder.mkdir(parents=True)
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{folder / 'zhifa.db'}", "ZHIFA_SECRET_KEY": "bench-not-for-production",
           "ZHIFA_EVIDENCE_CHUNK_BYTES": str(chunk),
           # the mini test procedure only: the shipped library is not what is measured here
           "ZHIFA_PROCESSES_DIR": str(REPO / "tests/data/mini/processes"), "ZHIFA_FORMS_DIR": str(REPO / "tests/data/mini/forms")}
    for name in ("ZHIFA_TEST_DATABASE_URL", "ZHIFA_S3_BUCKET", "ZHIFA_STORAGE_DIR"):
        env.pop(name, None)
    with contextlib.ExitStack() as stack:
        if store == "s3":
            endpoint = stack.enter_context(moto_server(folder / "moto.log"))
            s3_client(endpoint).create_bucket(Bucket="zhifa-bench")
            env.update(S3_CREDENTIALS, ZHIFA_S3_BUCKET="zhifa-bench", ZHIFA_S3_ENDPOINT=endpoint, ZHIFA_S3_REGION="us-east-1",
                       ZHIFA_STAGING_DIR=str(folder / "staging"))
        token, case_id = set_up(env)
        port = free_port()
        stack.enter_context(server([str(REPO / ".venv/bin/zhifa"), "run", "--no-demo", "--host", "127.0.0.1", "--port", str(port)],
                                   env, port, ready_timeout=120))
        pid = server_pid(port)
        sampler = RssSampler(pid)
        before = sampler.now()
        with sampler.running():
            t0 = time.monotonic()
            upload_id, dropped_at = upload(port, token, case_id, source, digest, chunk)
            t1 = time.monotonic()
            status, item = call(port, token, "POST", f"/api/v1/evidence/uploads/{upload_id}/complete", b"{}")
            t2 = time.monotonic()
        ok = status == 201 and item.get("sha256") == digest
        if not ok:
            print(f"[{store}] complete answered {status}: {item}", file=sys.stderr)
        size = source.stat().st_size
        print(f"[{store}] dropped at byte {dropped_at}, resumed; {size / MB / (t1 - t0):.1f} MB/s; complete {t2 - t1:.1f} s; "
              f"RSS {before / MB:.1f} -> peak {sampler.peak / MB:.1f} MB")
        return {"store": store, "mbps": size / MB / (t1 - t0), "complete_s": t2 - t1, "rss_before": before / MB,
                "rss_peak": sampler.peak / MB, "ok": ok}


def set_up(env: dict[str, str]) -> tuple[str, int]:
    """Schema, one handler with a token, the mini procedure and one case, through the engine."""
    import datetime as dt

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        from engine.admin.users import create_user, ensure_unit, issue_token
        from engine.models import Credential, db
        from engine.runtime import start_case
        from webui import create_app
        from webui.cli import prepare_database

        app = create_app({"SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"]})
        with app.app_context():
            prepare_database(app, with_demo=False)
            ensure_unit("bench", "基准单位", "基准")
            user, _ = create_user("bench_handler", "bench", ["handler"], None, actor="bench")
            db.session.add(Credential(user_id=user.id, kind="law_enforcement", number="B-1", expires_on=dt.date(2099, 1, 1)))
            db.session.commit()
            token = issue_token(user)
            db.session.commit()
            case = start_case(user, "mini", {"party_type": "organization", "party_name": "某某公司"}, {"proposed_fine": 100})
            case_id = case.id
            db.session.remove()
            db.engine.dispose()
        return token, case_id
    finally:
        os.environ.clear()
        os.environ.update(saved)


def upload(port: int, token: str, case_id: int, source: Path, digest: str, chunk: int) -> tuple[str, int]:
    size = source.stat().st_size
    body = json.dumps({"kind": "video", "filename": source.name, "size": size, "sha256": digest,
                       "description": "执法记录仪录像（基准）"}).encode()
    status, started = call(port, token, "POST", f"/api/v1/cases/{case_id}/evidence/uploads", body)
    assert status == 201, started
    upload_id = started["upload_id"]
    half = (size // 2) // chunk * chunk
    dropped = False
    offset = 0
    with source.open("rb") as f:
        while offset < size:
            length = min(chunk, size - offset)
            f.seek(offset)
            if offset == half and not dropped:
                drop_mid_chunk(port, token, upload_id, f, offset, length, size)
                dropped = True
                status, state = call(port, token, "GET", f"/api/v1/evidence/uploads/{upload_id}")
                assert status == 200 and state["offset"] == offset, state  # the half-sent chunk did not count
                f.seek(offset)
            status, state = put(port, token, upload_id, f, offset, length, size)
            assert status == 200, state
            offset = state["offset"]
    return upload_id, half


def put(port: int, token: str, upload_id: str, f: Any, offset: int, length: int, size: int) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.putrequest("PUT", f"/api/v1/evidence/uploads/{upload_id}")
    for name, value in (("Authorization", f"Bearer {token}"), ("Content-Type", "application/octet-stream"),
                        ("Content-Length", str(length)), ("Content-Range", f"bytes {offset}-{offset + length - 1}/{size}")):
        conn.putheader(name, value)
    conn.endheaders()
    left = length
    while left:
        block = f.read(min(MB, left))
        conn.send(block)
        left -= len(block)
    response = conn.getresponse()
    answer = json.loads(response.read() or b"{}")
    conn.close()
    return response.status, answer


def drop_mid_chunk(port: int, token: str, upload_id: str, f: Any, offset: int, length: int, size: int) -> None:
    """Send the headers and half the chunk's bytes, then cut the connection (a train entering a tunnel)."""
    sock = socket.create_connection(("127.0.0.1", port))
    head = (f"PUT /api/v1/evidence/uploads/{upload_id} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {length}\r\n"
            f"Content-Range: bytes {offset}-{offset + length - 1}/{size}\r\n\r\n").encode()
    sock.sendall(head)
    sock.sendall(f.read(length // 2))
    sock.close()
    time.sleep(0.5)


def call(port: int, token: str, method: str, path: str, body: bytes | None = None) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    conn.request(method, path, body=body, headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    response = conn.getresponse()
    answer = json.loads(response.read() or b"{}")
    conn.close()
    return response.status, answer


def server_pid(port: int) -> int:
    for conn in psutil.net_connections("tcp"):
        if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN and conn.pid:
            return conn.pid
    raise RuntimeError(f"no process listens on {port}")


class RssSampler:
    """Peak resident memory of the server process (and any children), sampled every 20 ms."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0

    def now(self) -> int:
        return sum(p.memory_info().rss for p in [self.process, *self.process.children(recursive=True)])

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                with contextlib.suppress(psutil.Error):
                    self.peak = max(self.peak, self.now())
                stop.wait(0.02)

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()


if __name__ == "__main__":
    main()
