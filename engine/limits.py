"""Time limits and the holiday calendar as stored in the database.

Limits and holidays are administrator data: they are read from the database for each command (a
handful of small rows), so a change applies to the next task or timer at once, in every process,
without a restart.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from . import clock
from .calendar import Calendar, parse_start
from .calendar import CalendarDay as Day
from .errors import InvalidInput
from .models import CalendarDay, CalendarYear, TimeLimit, db

DATA = Path(__file__).parent / "data"


class Deadlines:
    """Deadline arithmetic for one command: loads the calendar and limits once, on first use."""

    def __init__(self) -> None:
        self._calendar: Calendar | None = None
        self._limits: dict[str, TimeLimit] = {}

    @property
    def calendar(self) -> Calendar:
        if self._calendar is None:
            self._calendar = load_calendar()
        return self._calendar

    def limit(self, key: str) -> TimeLimit:
        if key not in self._limits:
            row = db.session.get(TimeLimit, key)
            if row is None:
                raise InvalidInput(f"时限 '{key}' 不存在 (unknown time-limit key)")
            self._limits[key] = row
        return self._limits[key]

    def deadline(self, key: str, start: Any) -> dt.datetime:
        limit = self.limit(key)
        return self.calendar.deadline(_start(start), limit.amount, limit.unit)

    def deadline_iso(self, key: str, start: Any) -> str:
        """The form BPMN timers need: an aware ISO string (``deadline(key, start)`` in expressions)."""
        return self.deadline(key, start).isoformat()

    def task_due(self, key: str, start: dt.datetime) -> tuple[dt.datetime, dt.datetime | None]:
        limit = self.limit(key)
        due = self.calendar.deadline(start, limit.amount, limit.unit)
        warn = self.calendar.warn_at(start, limit.amount, limit.unit, limit.warn_before)
        return due, warn


def load_calendar() -> Calendar:
    """The calendar as stored now; rebuilt only when its rows changed.

    Every command re-reads the (small) rows as plain tuples, so an administrator's edit applies to
    the very next deadline in every process; the Calendar object is reused while the rows match.
    """
    rows = tuple(db.session.execute(select(CalendarDay.day, CalendarDay.kind, CalendarDay.name).order_by(CalendarDay.day)))
    years = tuple(db.session.scalars(select(CalendarYear.year).order_by(CalendarYear.year)))
    key = (rows, years)
    cached = _calendar_cache.get("current")
    if cached is None or cached[0] != key:
        cached = (key, Calendar([Day(d, k, n) for d, k, n in rows], years))  # type: ignore[arg-type]
        _calendar_cache["current"] = cached
    return cached[1]


_calendar_cache: dict[str, tuple[object, Calendar]] = {}


def seed_reference_data(actor: str = "system") -> bool:
    """Load the statutory defaults into an empty database; returns whether anything was added."""
    added = False
    now = clock.now()
    if db.session.scalars(select(TimeLimit.key).limit(1)).first() is None:
        for item in json.loads((DATA / "time_limits.json").read_text(encoding="utf-8")):
            db.session.add(TimeLimit(
                key=item["key"], name=item["name"], amount=item["amount"], unit=item["unit"],
                legal_basis=item.get("legal_basis", ""), min_amount=item["min"], max_amount=item["max"],
                warn_before=item.get("warn_before", 1), description=item.get("description", ""),
                updated_by=actor, updated_at=now,
            ))
        added = True
    if db.session.scalars(select(CalendarYear.year).limit(1)).first() is None:
        seed = json.loads((DATA / "holidays.json").read_text(encoding="utf-8"))
        for year, days in seed["years"].items():
            db.session.add(CalendarYear(year=int(year), entered_by=actor, entered_at=now))
            for d in days:
                db.session.add(CalendarDay(day=dt.date.fromisoformat(d["date"]), kind=d["kind"], name=d.get("name", "")))
        added = True
    return added


def _start(value: Any) -> dt.date | dt.datetime:
    if isinstance(value, dt.datetime | dt.date):
        return value
    if isinstance(value, str):
        return parse_start(value)
    raise InvalidInput(f"无法识别的起算日期 {value!r} (a start date must be a date or 'YYYY-MM-DD')")
