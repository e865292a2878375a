"""号段: pre-numbered forms (预先编号的当场行政处罚决定书) handed to officers, and every number spent.

法 Art. 52 has the officer fill in a form "of a prescribed format and bearing a number" on the spot.
The agency prints the numbers; an administrator hands a block of them (prefix, first, last) to one
officer, and every number ends on exactly one decision or is voided, once, for ever.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.db.session import UTCDateTime, db
from engine.models.org import User


class FormNumberRange(db.Model):
    """A block of pre-numbered forms held by one officer. Never deleted: a withdrawn block stays as
    the record of who held which numbers; its unused numbers may be handed out again."""

    __tablename__ = "form_number_range"
    id: Mapped[int] = mapped_column(primary_key=True)
    prefix: Mapped[str] = mapped_column(String(40))  # printed before the serial; never ends in a digit
    first: Mapped[int] = mapped_column(Integer)
    last: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer, default=0)  # digits printed, zero-padded; 0: no padding
    holder_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    allocated_by: Mapped[str] = mapped_column(String(80))
    allocated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    withdrawn_by: Mapped[str | None] = mapped_column(String(80))
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    withdraw_reason: Mapped[str | None] = mapped_column(Text)

    holder: Mapped[User] = relationship(lazy="joined")

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    def number(self, serial: int) -> str:
        return f"{self.prefix}{str(serial).zfill(self.width)}"


class FormNumber(db.Model):
    """One number spent: used on a decision or voided (作废). (prefix, serial) is unique, so a number
    is spent once whoever holds it and whichever case asks: a voided form can never be used."""

    __tablename__ = "form_number"
    __table_args__ = (UniqueConstraint("prefix", "serial"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    range_id: Mapped[int] = mapped_column(ForeignKey("form_number_range.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(40))
    serial: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(80))  # as printed on the form
    status: Mapped[str] = mapped_column(String(10))  # used | voided
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    reason: Mapped[str] = mapped_column(Text, default="")  # why it was voided
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
