"""办理意见: an officer's comment on a case or on one of its tasks, part of the case record."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db.session import UTCDateTime, db
from engine.models.org import User


class Comment(db.Model):
    """Never edited or deleted: like every step, an opinion once given stays in the record (法 Art. 47,
    全过程记录); the audit chain holds the same text, so tampering with the row is found by verification."""

    __tablename__ = "comment"
    __table_args__ = (Index("ix_comment_case_created", "case_id", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    task_id: Mapped[str | None] = mapped_column(String(36))  # None: on the case as a whole
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    author: Mapped[User] = relationship(lazy="joined")
