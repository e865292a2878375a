"""Evidence in the exported case file (案卷): the files themselves, or above the administrator's size
limit only their hashes and a listing, so that ``verify.py`` can check either offline.

``ZHIFA_EXPORT_EVIDENCE_MAX_BYTES`` (default 100 MiB) bounds the evidence bytes one export carries:
items are included in the order registered while they fit; the rest are listed with their sha256,
size and kind, to be checked against the store with ``zhifa audit verify``. A stored file that is
missing is listed as missing, and a changed one is exported as it is now: the offline check then
finds that its hash is not the one the chain recorded.
"""

from __future__ import annotations

import os
import zipfile
from typing import Any

from sqlalchemy import select

from engine.evidence.sniff import KINDS
from engine.evidence.storage import get_storage
from engine.evidence.view import suffix
from engine.models import Evidence, db

DEFAULT_EXPORT_MAX_BYTES = 100 * 1024 * 1024


def export_max_bytes() -> int:
    try:
        return int(os.environ.get("ZHIFA_EXPORT_EVIDENCE_MAX_BYTES") or DEFAULT_EXPORT_MAX_BYTES)
    except ValueError:
        return DEFAULT_EXPORT_MAX_BYTES


def export_entries(case_id: int) -> list[dict[str, Any]]:
    """One manifest entry per item; ``file`` names the copy in the zip, or is None (listed only / missing)."""
    storage = get_storage()
    budget = export_max_bytes()
    entries = []
    for item in db.session.scalars(select(Evidence).where(Evidence.case_id == case_id).order_by(Evidence.seq)):
        entry: dict[str, Any] = {
            "evidence_id": item.id, "seq": item.seq, "kind": item.kind, "kind_label": KINDS.get(item.kind, item.kind),
            "description": item.description, "filename": item.filename, "content_type": item.content_type, "size": item.size,
            "sha256": item.sha256, "collected_by": item.collected_by,
            "collected_at": item.collected_at.isoformat() if item.collected_at else None, "collected_place": item.collected_place,
            "withdrawn": item.withdrawn, "withdraw_reason": item.withdraw_reason, "file": None, "included": False,
        }
        stored = storage.size(item.sha256)
        if stored is None:
            entry["missing"] = True
        elif item.size <= budget:
            entry["file"] = f"evidence/{item.seq:04d}-{item.sha256[:12]}{suffix(item)}"
            entry["included"] = True
            budget -= item.size
        entries.append(entry)
    return entries


def write_files(archive: zipfile.ZipFile, entries: list[dict[str, Any]]) -> None:
    """Copy each included item into the zip block by block (stored, not deflated: media do not compress)."""
    storage = get_storage()
    for entry in entries:
        if not entry["file"]:
            continue
        info = zipfile.ZipInfo(entry["file"])
        info.compress_type = zipfile.ZIP_STORED
        with archive.open(info, "w", force_zip64=True) as out:
            try:
                for block in storage.read(entry["sha256"]):
                    out.write(block)
            except FileNotFoundError:
                pass  # removed while exporting: the empty copy fails the offline check, as it should
