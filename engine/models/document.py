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


class DocumentType(db.Model):
    """An administrator's setting for one document type; types without a row use the shipped defaults."""

    __tablename__ = "document_type"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    pattern: Mapped[str] = mapped_column(String(200))
    updated_by: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


VOID_COLUMNS = ("voided_at", "void_reason")


@event.listens_for(Document, "before_update")
def _refuse_update(_mapper: Any, _connection: Any, target: Document) -> None:
    """Only a still-valid document may be voided, and nothing else about it may change."""
    state = inspect(target)
    changed = {attr.key for attr in state.attrs if attr.history.has_changes()}
    first_void = all(not attr.history.deleted or attr.history.deleted == [None]
                     for attr in (state.attrs[key] for key in VOID_COLUMNS))
    if changed - set(VOID_COLUMNS) or not first_void:
        raise RuntimeError(f"文书不可修改，更正须另行制作新文书 (document {target.number} is immutable)")
