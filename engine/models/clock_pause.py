"""Periods the case clock does not count (法 Art. 60; SAMR): one row per interval."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db.session import UTCDateTime, db


class ClockPause(db.Model):
    """One interval not counted in the ordinary procedure's 90 days: a 中止, a hearing, or an excluded
    period (检测、检验、检疫、鉴定, 公告) recorded by an officer.

    Intervals are kept apart rather than summed in place because they may overlap (a testing period
    that runs on into a suspension): the case's ``paused_days`` is the length of their union, so no
    day is ever subtracted twice (engine/runtime/case_clock.py). ``started_on``/``ended_on`` are dates in
    China Standard Time; the interval is [started_on, ended_on), as the law counts days (the start
    day of a period is not counted, 法 Art. 85).
    """

    __tablename__ = "clock_pause"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, … within the case (the API's <n>)
    # suspension | hearing | procedure | testing | inspection | quarantine | appraisal | public_notice
    kind: Mapped[str] = mapped_column(String(20))
    started_on: Mapped[dt.date] = mapped_column(Date)
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text, default="")
    started_by: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_by: Mapped[str | None] = mapped_column(String(80))
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_open(self) -> bool:
        return self.ended_on is None

    def days(self) -> int | None:
        """Days this interval alone covers; None while it is open."""
        return None if self.ended_on is None else max(0, (self.ended_on - self.started_on).days)
