"""回避 (法 Art. 43): a request that an officer step aside from one case, and its decision."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db.session import UTCDateTime, db
from engine.models.org import User


class Recusal(db.Model):
    """One recusal request for one officer of one case, and the agency head's decision on it.

    The party applies (recorded by an officer) or the officer declares it; until it is decided the
    officer goes on (法 Art. 43: "决定作出之前，不停止调查"). Granted, the officer takes no further
    part in the case (engine/policy/access.py reads the granted rows). Never deleted: the request, who
    decided, how (the agency head, or for an agency head the heads' collective discussion) and the
    回避决定书 are part of the case record.
    """

    __tablename__ = "recusal"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, … within the case (the API's <n>)
    officer_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    source: Mapped[str] = mapped_column(String(10))  # party | self
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(80))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10))  # pending | granted | rejected
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    # For an agency head the heads decide together (SAMR): the record of that discussion.
    collective: Mapped[bool] = mapped_column(Boolean, default=False)
    discussion_on: Mapped[dt.date | None] = mapped_column(Date)
    discussion_record: Mapped[str | None] = mapped_column(Text)
    document_number: Mapped[str | None] = mapped_column(String(80))

    officer: Mapped[User] = relationship(lazy="joined")
