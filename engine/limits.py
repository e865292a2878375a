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
from .errors import InvalidInput
from .models import CalendarDay, CalendarYear, TimeLimit, db
from .reference import Limit, Reference, bump_revision, reference

DATA = Path(__file__).parent / "data"


class Deadlines:
    """Deadline arithmetic for one command, on the reference data in force when it started."""

    def __init__(self) -> None:
        self._reference: Reference | None = None

    @property
    def reference(self) -> Reference:
        if self._reference is None:
            self._reference = reference()
        return self._reference

    @property
    def calendar(self) -> Calendar:
        calendar = self.reference.calendar
        assert calendar is not None
        return calendar

    def limit(self, key: str) -> Limit:
        limit = self.reference.limits.get(key)
        if limit is None:
            raise InvalidInput(f"时限 '{key}' 不存在 (unknown time-limit key)")
        return limit

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
    """The calendar in force now."""
    return Deadlines().calendar


def seed_reference_data(actor: str = "system") -> bool:
    """Load the statutory defaults into an empty database; returns whether anything was added."""
    added = False
    now = clock.now()
    if db.session.scalars(select(TimeLimit.key).limit(1)).first() is None:
        for item in json.loads((DATA / "time_limits.json").read_text(encoding="utf-8")):
            db.session.add(TimeLimit(
                key=item["key"], name=item["name"], amount=item["amount"], unit=item["unit"],
                units=",".join(item.get("units") or [item["unit"]]), bound_unit=item["unit"],
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
    if added:
        bump_revision()
    return added


def _start(value: Any) -> dt.date | dt.datetime:
    if isinstance(value, dt.datetime | dt.date):
        return value
    if isinstance(value, str):
        return parse_start(value)
    raise InvalidInput(f"无法识别的起算日期 {value!r} (a start date must be a date or 'YYYY-MM-DD')")
