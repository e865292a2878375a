"""Time limits and the holiday calendar as stored in the database.

Limits and holidays are administrator data: they are read from the database for each command (a
handful of small rows), so a change applies to the next task or timer at once, in every process,
without a restart.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from engine import clock
from engine.db.command import command
from engine.deadlines.holidays import Calendar, load_seed_time_limits, parse_start
from engine.deadlines.reference import Limit, Reference, bump_revision, reference
from engine.errors import InvalidInput
from engine.models import CalendarDay, CalendarYear, TimeLimit, db
from engine.policy.actor import SYSTEM, Actor
from engine.record import audit

DATA = Path(__file__).resolve().parent.parent / "data"


# A user task's ``counts_from`` property names the recorded date its period counts from (法 Art. 61:
# 送达 within 7 working days of the decision; Art. 64: the hearing report after the hearing date …),
# or ``case_clock``: the step is due when the case clock (法 Art. 60) runs out. ``extended_by`` reads
# "<time-limit key> if <field>": an approved extension (e.g. SAMR Art. 18's 15 more working days).
CASE_CLOCK = "case_clock"
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,79}")
EXTENSION = re.compile(r"([A-Za-z_][A-Za-z0-9_]{0,79}) if ([A-Za-z_][A-Za-z0-9_]{0,79})")


@dataclass(frozen=True)
class StartPoint:
    """Where a task's period starts: the recorded field and its date, or the task's own creation."""

    field: str | None  # None: counted from the moment the task was created
    start: dt.date | dt.datetime
    extension: str | None = None  # the time-limit key of an approved extension, if one applies


def start_point(props: dict[str, str], data: dict[str, Any], created: dt.datetime) -> StartPoint:
    """The legal start of a task's period from its properties and the case data recorded so far.

    A field that is missing or not a date falls back to the task's creation, so that a designer's
    slip never stops the work; the task then says it counts from its creation.
    """
    extension = None
    if (match := EXTENSION.fullmatch(props.get("extended_by") or "")) and data.get(match.group(2)) is True:
        extension = match.group(1)
    field = props.get("counts_from")
    if not field or field == CASE_CLOCK:
        return StartPoint(field or None, created, extension)
    value = data.get(field)
    try:
        start = parse_start(value) if isinstance(value, str) else None
    except InvalidInput:
        start = None
    if start is None:
        return StartPoint(None, created, extension)
    return StartPoint(field, start, extension)


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

    def task_due(self, key: str, start: dt.date | dt.datetime,
                 extension: str | None = None) -> tuple[dt.datetime, dt.datetime | None]:
        """Due and 临期 instants of a period of ``key`` from ``start``, plus an approved extension of
        the same unit (an extension in another unit runs on from the end of the first period)."""
        limit = self.limit(key)
        amount = limit.amount
        if extension is not None:
            extra = self.limit(extension)
            if extra.unit != limit.unit:
                end = self.calendar.deadline(start, limit.amount, limit.unit)
                due = self.calendar.deadline(end - dt.timedelta(microseconds=1), extra.amount, extra.unit)
                return due, self.calendar.warn_at(start, limit.amount, limit.unit, limit.warn_before)
            amount += extra.amount
        due = self.calendar.deadline(start, amount, limit.unit)
        warn = self.calendar.warn_at(start, amount, limit.unit, limit.warn_before)
        return due, warn


def load_calendar() -> Calendar:
    """The calendar in force now."""
    return Deadlines().calendar


@command
def seed_reference_data(actor: Actor = SYSTEM) -> bool:
    """Load the statutory defaults; returns whether anything was added. One transaction.

    Time limits are added key by key: a key shipped later (a new step of a procedure, e.g. 催告 and
    强制执行) reaches an existing database at its next start or ``zhifa db upgrade``, while a key
    already there keeps the value an administrator gave it (and a key a designer created keeps its
    definition even if a later release ships the same key). The keys added are recorded on the
    system chain as the platform's act (``time_limit.shipped``), so the registry's history says when
    each default arrived; a start that adds nothing records nothing. The holiday calendar is seeded
    into an empty database only.
    """
    added = False
    now = clock.now()
    known = set(db.session.scalars(select(TimeLimit.key)))
    shipped = []
    for item in load_seed_time_limits():
        if item["key"] in known:
            continue
        db.session.add(TimeLimit(
            key=item["key"], name=item["name"], amount=item["amount"], unit=item["unit"],
            units=",".join(item.get("units") or [item["unit"]]), bound_unit=item["unit"],
            legal_basis=item.get("legal_basis", ""), min_amount=item["min"], max_amount=item["max"],
            warn_before=item.get("warn_before", 1), description=item.get("description", ""),
            updated_by=actor.username, updated_at=now,
        ))
        shipped.append({k: item.get(k) for k in SHIPPED_FIELDS})
    if shipped:
        audit.record("time_limit.shipped", actor.username, {"source": "engine/data/time_limits.json", "added": shipped})
        added = True
    if db.session.scalars(select(CalendarYear.year).limit(1)).first() is None:
        seed = json.loads((DATA / "holidays.json").read_text(encoding="utf-8"))
        for year, days in seed["years"].items():
            db.session.add(CalendarYear(year=int(year), entered_by=actor.username, entered_at=now))
            for d in days:
                db.session.add(CalendarDay(day=dt.date.fromisoformat(d["date"]), kind=d["kind"], name=d.get("name", "")))
        added = True
    if added:
        bump_revision()
    return added


SHIPPED_FIELDS = ("key", "name", "amount", "unit", "min", "max", "warn_before", "legal_basis")


def _start(value: Any) -> dt.date | dt.datetime:
    if isinstance(value, dt.datetime | dt.date):
        return value
    if isinstance(value, str):
        return parse_start(value)
    raise InvalidInput(f"无法识别的起算日期 {value!r} (a start date must be a date or 'YYYY-MM-DD')")
