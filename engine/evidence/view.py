"""Reading evidence back: its bytes (ranged, streamed), image thumbnails, and the JSON summary.

Access is the case's: whoever may see the case may see its evidence (engine/evidence/register.py
``get_evidence``), and nothing here is reachable from the public 公示 pages.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine import clock
from engine.evidence import sniff
from engine.evidence.register import get_evidence
from engine.evidence.storage import get_storage
from engine.models import Evidence, User

THUMBNAIL_SOURCE_MAX = 64 * 1024 * 1024  # larger images are not decoded for a thumbnail (a download link instead)
THUMBNAIL_SIZES = (160, 320, 640)


def open_content(actor: User, evidence_id: int, start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """Bytes ``start``..``end`` (inclusive) of an item in blocks; FileNotFoundError when the object is gone
    (which verification reports as tampering)."""
    evidence = get_evidence(actor, evidence_id)
    return get_storage().read(evidence.sha256, start, end)


def thumbnail(actor: User, evidence_id: int, size: int = 320) -> bytes | None:
    """A JPEG of at most ``size`` pixels a side for an image item, made once and kept next to the store's
    staging folder (derived from the bytes, so keyed by sha256); None when the item is not an image."""
    evidence = get_evidence(actor, evidence_id)
    if not sniff.is_image(evidence.content_type) or evidence.size > THUMBNAIL_SOURCE_MAX:
        return None
    size = min(THUMBNAIL_SIZES, key=lambda s: abs(s - size))
    cache = get_storage().staging_dir.parent / "thumbnails" / f"{evidence.sha256}-{size}.jpg"
    if cache.exists():
        return cache.read_bytes()
    data = _make_thumbnail(evidence, size)
    if data is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, cache)
    return data


def _make_thumbnail(evidence: Evidence, size: int) -> bytes | None:
    from PIL import Image, ImageOps, UnidentifiedImageError

    source = io.BytesIO(b"".join(get_storage().read(evidence.sha256)))  # bounded by THUMBNAIL_SOURCE_MAX
    try:
        with Image.open(source) as image:
            image.draft("RGB", (size * 2, size * 2))  # JPEG: decode at a reduced scale, far less memory
            image = ImageOps.exif_transpose(image)  # phones store portrait photos rotated, with an EXIF flag
            image.thumbnail((size, size))
            out = io.BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=80)
            return out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None


def evidence_summary(evidence: Evidence) -> dict[str, Any]:
    """An item as the API returns it (also what pages and the 证据清单 read)."""
    return {
        "id": evidence.id, "case_id": evidence.case_id, "task_id": evidence.task_id, "seq": evidence.seq,
        "kind": evidence.kind, "kind_label": sniff.KINDS.get(evidence.kind, evidence.kind), "description": evidence.description,
        "filename": evidence.filename, "content_type": evidence.content_type, "size": evidence.size, "sha256": evidence.sha256,
        "collected_by": evidence.collected_by, "collected_at": _iso(evidence.collected_at),
        "collected_place": evidence.collected_place, "metadata": evidence.meta or {},
        "registered_by": evidence.registered_by, "registered_at": _iso(evidence.registered_at),
        "withdrawn": evidence.withdrawn, "withdrawn_at": _iso(evidence.withdrawn_at), "withdrawn_by": evidence.withdrawn_by,
        "withdraw_reason": evidence.withdraw_reason, "inline": sniff.is_inline(evidence.content_type),
    }


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(clock.SHANGHAI).isoformat() if value else None


def suffix(evidence: Evidence) -> str:
    """The file name's extension, for names of exported copies (the content type decides how it is served)."""
    return Path(evidence.filename).suffix.lower()[:10]
