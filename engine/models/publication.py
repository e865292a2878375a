"""公示: the public record of an ordinary-procedure penalty decision (DOMAIN.md §6)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db.session import UTCDateTime, db


class Publication(db.Model):
    """One decision's publication: pending → published → withdrawn | expired (or never, with the reason).

    ``content`` is the masked text the public sees; ``sha256`` covers it and the identifying columns,
    and the same hash is recorded in the case's audit chain when it is published.
    """

    __tablename__ = "publication"
    __table_args__ = (
        Index("ix_publication_status_due", "status", "due_by"),
        Index("ix_publication_status_expires", "status", "expires_at"),
        Index("ix_publication_decided_on", "decided_on"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), unique=True)
    decision_number: Mapped[str] = mapped_column(String(200))
    party: Mapped[str] = mapped_column(String(200))  # as published (never an ID number)
    violation: Mapped[str] = mapped_column(Text)
    penalty: Mapped[str] = mapped_column(Text)
    agency: Mapped[str] = mapped_column(String(200))
    decided_on: Mapped[dt.date] = mapped_column(Date)
    low_fine: Mapped[bool] = mapped_column(Boolean, default=False)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12))  # pending | published | withdrawn | expired | withheld
    withheld_reason: Mapped[str | None] = mapped_column(String(200))
    due_by: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # publish by (7 working days after the decision)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    withdraw_requested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    withdraw_due_by: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # 3 working days (法 Art. 48)
    withdraw_reason: Mapped[str | None] = mapped_column(Text)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
