"""核验: what the public page /verify/<code> may say about a document, and whether a PDF is the one issued.

The page is public (the party scans the QR code on the paper). It shows only what 公示 may show of
any document: the issuing organ, the type, the number, the date of issue and the status (valid, 作废,
已更正) — never the party, the facts or the content. A PDF uploaded there is compared by sha256 with
the document's PDF as issued and as it is now (both rendered deterministically from the stored content).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from sqlalchemy import select

from engine import clock
from engine.documents.pdf import render_pdf
from engine.models import Case, Document, OrgUnit, db

CODE = re.compile(r"^[A-Z2-9]{10}$")
STATUS_LABELS = {"valid": "有效", "voided": "作废", "superseded": "已更正"}
MAX_UPLOAD = 20 * 1024 * 1024


@dataclass(frozen=True)
class PublicFacts:
    organ: str
    doc_type: str
    number: str
    issued_on: str  # 2026年3月2日
    status: str  # valid | voided | superseded
    status_label: str
    changed_on: str  # the day it was voided or superseded ("" while valid)


def find_by_code(code: str) -> Document | None:
    code = (code or "").strip().upper()
    if not CODE.match(code):
        return None
    return db.session.scalars(select(Document).where(Document.verify_code == code)).first()


def public_facts(document: Document) -> PublicFacts:
    snapshot = document.data or {}
    organ = str((snapshot.get("agency") or {}).get("full_name") or (snapshot.get("case") or {}).get("agency_name") or "")
    issued = document.created_at.astimezone(clock.SHANGHAI).date()
    changed = document.voided_at or document.superseded_at
    changed_on = "" if changed is None else _cn(changed.astimezone(clock.SHANGHAI).date())
    return PublicFacts(organ, document.doc_type, document.number, _cn(issued), document.status,
                       STATUS_LABELS[document.status], changed_on)


def seal_of(document: Document) -> bytes | None:
    """The issuing organ's seal image (drawn on the print view and the PDF), if one is set."""
    unit = db.session.get(OrgUnit, db.session.scalar(select(Case.unit_id).where(Case.id == document.case_id)))
    agency = unit.agency if unit is not None else None
    return agency.seal_png if agency is not None else None


def pdf_matches(document: Document, data: bytes, base_url: str) -> bool:
    """True when ``data`` is byte for byte the document's PDF, as issued or with its current mark."""
    digest = hashlib.sha256(data).hexdigest()
    seal = seal_of(document)
    candidates = {hashlib.sha256(render_pdf(document, base_url, as_issued=True, seal=seal)).hexdigest()}
    if document.status != "valid":
        candidates.add(hashlib.sha256(render_pdf(document, base_url, seal=seal)).hexdigest())
    return digest in candidates


def _cn(day: object) -> str:
    return f"{day.year}年{day.month}月{day.day}日"  # type: ignore[attr-defined]
