"""Administrator-editable time limits and the holiday calendar they are counted on."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db.session import UTCDateTime, db


class TimeLimit(db.Model):
    __tablename__ = "time_limit"
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    amount: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(20))  # working_days | natural_days | hours
    # Units an administrator may choose; a statutory period keeps the unit the law counts it in
    # (法 Art. 85: short periods are working days). Bounds are in ``bound_unit``.
    units: Mapped[str] = mapped_column(String(80), default="")
    bound_unit: Mapped[str] = mapped_column(String(20), default="")
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    min_amount: Mapped[int] = mapped_column(Integer)
    max_amount: Mapped[int] = mapped_column(Integer)
    warn_before: Mapped[int] = mapped_column(Integer, default=1)
    description: Mapped[str] = mapped_column(Text, default="")
    updated_by: Mapped[str] = mapped_column(String(80), default="system")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class CalendarDay(db.Model):
    """A day that differs from the Mon–Fri rule: a holiday, or a weekend made a working day (调休)."""

    __tablename__ = "calendar_day"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # holiday | workday
    name: Mapped[str] = mapped_column(String(60), default="")


class CalendarYear(db.Model):
    """A year whose State Council holiday notice has been entered; other years are refused."""

    __tablename__ = "calendar_year"
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    entered_by: Mapped[str] = mapped_column(String(80))
    entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
