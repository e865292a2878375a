"""Evidence items (证据) of a case and the chunked uploads that bring large ones in.

An item is never deleted and its bytes never change: the row names the stored object by sha256
(engine/evidence/storage.py), and the case's hash chain recorded the same sha256, size, kind and
metadata when it was registered. Withdrawing (撤回) an item sets who, when and why, once; nothing
else about it may change afterwards (checked below, like a document's void mark).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event, inspect
from sqlalchemy.orm import Mapped, mapped_column

from engine.db.session import UTCDateTime, db


class Evidence(db.Model):
    __tablename__ = "evidence"
    __table_args__ = (
        UniqueConstraint("case_id", "seq"),  # 证据编号: 1, 2, 3 … per case, in the order registered
        Index("ix_evidence_sha256", "sha256"),  # verification finds every item that names an object
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36), index=True)  # the step it was collected at (Task.id)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # photo | audio | video | scan | electronic | other
    description: Mapped[str] = mapped_column(Text, default="")
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))  # sniffed from the content, never taken from the name
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    collected_by: Mapped[str] = mapped_column(String(200), default="")
    collected_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    collected_place: Mapped[str] = mapped_column(String(300), default="")
    # "metadata" is reserved on declarative classes: the attribute is ``meta``, the column keeps the name.
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    registered_by: Mapped[str] = mapped_column(String(80))
    registered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by: Mapped[str | None] = mapped_column(String(80))
    withdraw_reason: Mapped[str | None] = mapped_column(Text)

    @property
    def withdrawn(self) -> bool:
        return self.withdrawn_at is not None


class UploadSession(db.Model):
    """A resumable upload in progress: what was declared up front and how many bytes have arrived.

    The bytes themselves are in a part file on local disk (the store's staging folder) until the
    upload completes; ``received`` moves only after a whole chunk was written, so a dropped
    connection resumes from the last complete chunk.
    """

    __tablename__ = "evidence_upload"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # unguessable token, also the part file's name
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    collected_by: Mapped[str] = mapped_column(String(200), default="")
    collected_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    collected_place: Mapped[str] = mapped_column(String(300), default="")
    declared_size: Mapped[int] = mapped_column(BigInteger)
    declared_sha256: Mapped[str] = mapped_column(String(64))
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | complete | failed
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    evidence_id: Mapped[int | None] = mapped_column(ForeignKey("evidence.id"))


WITHDRAW_COLUMNS = ("withdrawn_at", "withdrawn_by", "withdraw_reason")


@event.listens_for(Evidence, "before_update")
def _refuse_update(_mapper: Any, _connection: Any, target: Evidence) -> None:
    """Only withdrawing, once, may change an item; what was collected and recorded stays as it was."""
    state = inspect(target)
    changed = {attr.key for attr in state.attrs if attr.history.has_changes()}
    first = all(not attr.history.deleted or attr.history.deleted == [None] for attr in (state.attrs[k] for k in WITHDRAW_COLUMNS))
    if changed - set(WITHDRAW_COLUMNS) or not first:
        raise RuntimeError(f"证据不可修改 (evidence {target.id} is immutable; only withdrawing it once is recorded)")
