"""执法文书: generated documents (immutable, hashed) and the administrators' document-type settings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event, inspect
from sqlalchemy.orm import Mapped, mapped_column

from engine.db.session import UTCDateTime, db


class Document(db.Model):
    """One issued document. Never updated: a correction is a new document with a new number.

    ``sha256`` covers the stored content, the data snapshot and the identifying columns
    (engine/documents/verify.py); the same hash is also recorded in the case's audit chain.
    The one later change is its voiding (作废, once): a document issued on a path the process then
    refused keeps its content, number and hash, and gains ``voided_at`` and ``void_reason``, which
    the hash does not cover and the chain records (``document.voided``).
    """

    __tablename__ = "document"
    __table_args__ = (
        UniqueConstraint("agency", "doc_type", "year", "serial"),  # one sequence per agency × type × year
        UniqueConstraint("number"),
        Index("ix_document_doc_type", "doc_type"),  # the publication sweep finds new decisions by type
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    doc_type: Mapped[str] = mapped_column(String(40))  # the BPMN ``document`` property, e.g. 行政处罚决定书
    code: Mapped[str] = mapped_column(String(40))
    agency: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column(Integer)
    serial: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(200))
    template: Mapped[str] = mapped_column(String(80))
    content: Mapped[str] = mapped_column(Text)  # the rendered HTML fragment (body of the A4 page)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)  # the snapshot the content was rendered from
    sha256: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    voided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    void_reason: Mapped[str | None] = mapped_column(Text)
    # 核验码: the short unguessable code of the public /verify/<code> page and the QR code (also in ``data``).
    verify_code: Mapped[str | None] = mapped_column(String(16), unique=True)
    # A 送达回证 names the document it is the receipt of; service facts attach to that document.
    serves_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"))
    # 已更正: a later document of the same type replaced this one (set once, recorded in the chain).
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"))
    superseded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    @property
    def status(self) -> str:
        """valid | voided (作废) | superseded (已更正), as the verify page and the print view show it."""
        if self.voided_at is not None:
            return "voided"
        return "superseded" if self.superseded_by_id is not None else "valid"


class DocumentType(db.Model):
    """An administrator's setting for one document type; types without a row use the shipped defaults."""

    __tablename__ = "document_type"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    pattern: Mapped[str] = mapped_column(String(200))
    updated_by: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class DocumentService(db.Model):
    """送达: the facts of serving a document on the party, attached to the document as issued.

    The document itself never changes (it was printed and handed over with blank lines for the
    party); service recorded afterwards is this row and a ``document.served`` event in the case's chain.
    """

    __tablename__ = "document_service"
    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    method: Mapped[str] = mapped_column(String(40))  # the form's enum key (direct, postal, ...)
    method_label: Mapped[str] = mapped_column(String(60))
    served_on: Mapped[str] = mapped_column(String(10))  # ISO date as entered
    effective_on: Mapped[str | None] = mapped_column(String(10))  # postal receipt / public notice + 30 days
    recipient: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    witness: Mapped[str] = mapped_column(String(200), default="")
    recorded_by: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class DocumentTemplate(db.Model):
    """An administrator's text for one document type (the latest row is in force; ``source`` empty =
    the shipped text). Kept as history: every version stays, each change is audited."""

    __tablename__ = "document_template"
    id: Mapped[int] = mapped_column(primary_key=True)
    doc_type: Mapped[str] = mapped_column(String(40), index=True)
    source: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


VOID_COLUMNS = ("voided_at", "void_reason")
SUPERSEDE_COLUMNS = ("superseded_by_id", "superseded_at")


@event.listens_for(Document, "before_update")
def _refuse_update(_mapper: Any, _connection: Any, target: Document) -> None:
    """Only a still-valid document may be voided or superseded (once), and nothing else about it may change."""
    state = inspect(target)
    changed = {attr.key for attr in state.attrs if attr.history.has_changes()}
    first = all(not attr.history.deleted or attr.history.deleted == [None]
                for attr in (state.attrs[key] for key in VOID_COLUMNS + SUPERSEDE_COLUMNS))
    if changed - set(VOID_COLUMNS) - set(SUPERSEDE_COLUMNS) or not first:
        raise RuntimeError(f"文书不可修改，更正须另行制作新文书 (document {target.number} is immutable)")
