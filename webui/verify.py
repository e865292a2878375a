"""核验 for everyone: /verify/<code>, the page the QR code on every 执法文书 points to.

No login: it shows only what engine.documents.verification.public_facts allows (organ, type, number,
date of issue, status), and compares an uploaded PDF's hash with the document as issued. Requests
are counted per address in a sliding window, so the short codes cannot be enumerated from one place
(50 random bits each besides).
"""

from __future__ import annotations

import threading
import time
from collections import deque

from flask import Blueprint, abort, current_app, render_template, request
from werkzeug.wrappers import Response

from engine.documents.verification import MAX_UPLOAD, find_by_code, pdf_matches, public_facts

bp = Blueprint("verify", __name__)
WINDOW_SECONDS = 60
MAX_LOOKUPS = 30  # per address and minute
MAX_UPLOADS = 5  # per address and minute (each re-renders the PDF)


class RateLimit:
    """At most ``limit`` hits per key in a sliding window (kept on the app object)."""

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, limit: int) -> bool:
        now = time.monotonic()
        with self._lock:
            if len(self._hits) > 10_000:
                self._hits = {k: q for k, q in self._hits.items() if q and now - q[-1] < WINDOW_SECONDS}
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] >= WINDOW_SECONDS:
                hits.popleft()
            if len(hits) >= limit:
                return False
            hits.append(now)
            return True


def _limit(kind: str, limit: int) -> None:
    limiter: RateLimit = current_app.extensions.setdefault("zhifa_verify_limit", RateLimit())
    if not limiter.allow(f"{kind}:{request.remote_addr or ''}", limit):
        abort(429)


def public_base() -> str:
    """The address printed in QR codes: ZHIFA_PUBLIC_URL when configured, else this request's host."""
    return str(current_app.config.get("ZHIFA_PUBLIC_URL") or request.host_url).rstrip("/")


@bp.route("/verify/<code>", methods=["GET", "POST"])
def verify(code: str) -> str | Response:
    _limit("lookup", MAX_LOOKUPS)
    document = find_by_code(code)
    if document is None:
        return Response(render_template("verify/page.html", facts=None, code=code[:20], result=None), status=404)
    result = None
    if request.method == "POST":
        _limit("upload", MAX_UPLOADS)
        upload = request.files.get("pdf")
        data = upload.read(MAX_UPLOAD + 1) if upload else b""
        if not data:
            result = "empty"
        elif len(data) > MAX_UPLOAD:
            result = "too_large"
        else:
            result = "match" if pdf_matches(document, data, public_base()) else "mismatch"
    return render_template("verify/page.html", facts=public_facts(document), code=document.verify_code, result=result)
