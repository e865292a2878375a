"""Statutory time limits (期间) counted on the State Council holiday calendar.

Pure arithmetic, no database: the lead layer stores holidays in tables and builds a ``Calendar``
from rows (or from the seed in ``engine/data/holidays.json``).

How periods are counted, and why:

- The start day is not counted (the day of service, of 立案, of the decision).
- ``working_days``: 《行政处罚法》第八十五条 makes the statute's 二日、三日、五日、七日 working days,
  excluding statutory holidays; 《行政强制法》第六十九条 does the same for periods of ten days or less.
  Working days follow the 国务院办公厅 notice: its holidays are rest days, its make-up days
  (调休上班, weekend days) are working days, other weekends are rest days.
- ``natural_days``: longer periods (15日, 60日, 90日) count every day, but a period whose last day is
  a rest day or holiday ends on the next working day instead.
- ``hours``: an exact span from an instant (e.g. 公安 备案 within 24 hours).
- A period "within N days" ends at 24:00 China Standard Time of its last day (民法典第二百零三条).
  ``deadline`` returns that instant as the next day's 00:00 in Asia/Shanghai (an exclusive end),
  always Shanghai-aware, never in the server's zone.
- A year whose notice has not been entered is counted **provisionally** on weekends alone (暂定):
  the State Council publishes the next year's notice in November or December, and work (立案 in
  December, whose 90-day clock ends in the next year) must not stop until an administrator enters
  it. ``is_provisional`` tells whether a period touched such a year, so that the deadline is shown
  as 暂定 and recomputed when the year is entered (engine/admin/time_limits.py).
- An amount of 0 means the start day itself: its end (24:00) is the deadline, with no roll-forward.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from typing import Any, Literal

from engine.clock import SHANGHAI
from engine.errors import InvalidInput

UNITS = ("working_days", "natural_days", "hours")
DAY_UNITS = ("working_days", "natural_days")
KINDS = ("holiday", "workday")

# A bad setting (a typo of 90000) must fail fast instead of walking the calendar for minutes.
MAX_DAYS = 3660
MAX_HOURS = MAX_DAYS * 24

_DATA_PACKAGE = "engine"
_HOLIDAYS_FILE = "data/holidays.json"
_TIME_LIMITS_FILE = "data/time_limits.json"


@dataclass(frozen=True)
class CalendarDay:
    """One entry of a holiday notice: a day off (``holiday``) or a make-up working day (``workday``)."""

    day: date
    kind: Literal["holiday", "workday"]
    name: str

    def __post_init__(self) -> None:
        if isinstance(self.day, datetime) or not isinstance(self.day, date):
            raise InvalidInput("日历条目的日期必须是日期（YYYY-MM-DD）。", {"day": str(self.day)})
        if self.kind not in KINDS:
            raise InvalidInput(
                f"日历条目类型“{self.kind}”无效，应为 holiday（放假）或 workday（调休上班）。",
                {"day": self.day.isoformat(), "kind": self.kind},
            )


class Calendar:
    """Working-day arithmetic over the years whose holiday notice has been entered."""

    def __init__(self, days: Iterable[CalendarDay], years: Iterable[int]) -> None:
        self._years: frozenset[int] = frozenset(int(y) for y in years)
        self._days: dict[date, CalendarDay] = {}
        for entry in days:
            known = self._days.get(entry.day)
            if known is not None and known.kind != entry.kind:
                raise InvalidInput(
                    f"{entry.day.isoformat()} 在日历中同时被登记为放假和调休上班，请修正后再保存。",
                    {"day": entry.day.isoformat()},
                )
            self._days[entry.day] = entry

    @classmethod
    def from_seed(cls) -> Calendar:
        """The 2025 and 2026 notices shipped in ``engine/data/holidays.json``."""
        days, years = load_seed_days()
        return cls(days, years)

    @property
    def years(self) -> frozenset[int]:
        return self._years

    def entry(self, d: date) -> CalendarDay | None:
        """The notice's entry for ``d`` (holiday name or make-up day), if any."""
        return self._days.get(d)

    def is_working_day(self, d: date) -> bool:
        """A make-up day works, a holiday rests, otherwise Monday–Friday work (国务院 notice)."""
        d = _as_date(d)
        entry = self._days.get(d)
        if entry is not None:
            return entry.kind == "workday"
        return d.weekday() < 5

    def covers(self, year: int) -> bool:
        """Whether ``year``'s holiday notice has been entered (otherwise weekends alone: 暂定)."""
        return year in self._years

    def is_provisional(self, start: date | datetime, end: date | datetime) -> bool:
        """Whether a period from ``start`` to ``end`` (a last day or an exclusive end instant) was
        counted through a year without a notice: its end may move once that year is entered."""
        first = _start_date(start)
        last = _start_date(end - timedelta(microseconds=1)) if isinstance(end, datetime) else _as_date(end)
        return any(y not in self._years for y in range(first.year, max(first.year, last.year) + 1))

    def add_working_days(self, start: date, n: int) -> date:
        """The ``n``-th working day after ``start`` (法 Art. 85: 二日、三日、五日、七日 are working days).

        The start day is not counted, make-up weekend days count, holidays and ordinary weekends
        are skipped. ``n == 0`` returns ``start``.
        """
        start = _as_date(start)
        _check_amount(n, "working_days")
        current = start
        counted = 0
        while counted < n:
            current += timedelta(days=1)
            if self.is_working_day(current):
                counted += 1
        return current

    def add_natural_days(self, start: date, n: int) -> date:
        """``start + n`` days, moved to the next working day if that is a rest day or holiday.

        The roll-forward is the general rule for periods (民法典第二百零三条, applied to 行政处罚 periods
        such as 法 Art. 67's 15 days). ``n == 0`` returns ``start`` unchanged: no period runs.
        """
        start = _as_date(start)
        _check_amount(n, "natural_days")
        end = start + timedelta(days=n)
        if n == 0:
            return end
        while not self.is_working_day(end):
            end += timedelta(days=1)
        return end

    def period_end(self, start: date | datetime, amount: int, unit: str) -> date:
        """The last day of the period (a Shanghai date); not defined for ``hours``."""
        _check_unit(unit)
        if unit == "hours":
            raise InvalidInput("按小时计算的期限没有“最后一日”，请使用截止时刻。", {"unit": unit})
        _check_amount(amount, unit)
        first = _start_date(start)
        if unit == "working_days":
            return self.add_working_days(first, amount)
        return self.add_natural_days(first, amount)

    def deadline(self, start: date | datetime, amount: int, unit: str) -> datetime:
        """The exclusive end of the period as a Shanghai-aware datetime.

        Day units end at 24:00 China Standard Time of the last day, returned as the next day's
        00:00+08:00. ``hours`` is ``start + amount`` hours and needs a datetime start: a bare date
        has no instant to count from.
        """
        _check_unit(unit)
        _check_amount(amount, unit)
        if unit == "hours":
            return (_start_instant_for_hours(start) + timedelta(hours=amount)).astimezone(SHANGHAI)
        return _start_of_day(self.period_end(start, amount, unit) + timedelta(days=1))

    def warn_at(self, start: date | datetime, amount: int, unit: str, warn_before: int) -> datetime | None:
        """The instant a task becomes 临期: when ``warn_before`` units of the period remain.

        - ``working_days``: the start (00:00 Shanghai) of the ``warn_before``-th working day counted
          backwards from the last day, the last day being the first. With ``warn_before=1`` the task
          is 临期 from the start of its last day; rest days in between are skipped, so the warning
          never lands on a weekend or holiday.
        - ``natural_days``: the deadline minus ``warn_before`` days.
        - ``hours``: the deadline minus ``warn_before`` hours.

        Never earlier than the start (a date start counts from its 00:00 Shanghai): a period shorter
        than the lead is 临期 from the outset. ``None`` if ``warn_before <= 0``.
        """
        _check_unit(unit)
        _check_amount(amount, unit)
        if isinstance(warn_before, bool) or not isinstance(warn_before, int):
            raise InvalidInput("临期提醒提前量必须是整数。", {"warn_before": warn_before})
        if warn_before <= 0:
            return None
        _check_amount(warn_before, unit)
        end = self.deadline(start, amount, unit)
        if unit == "hours":
            begin = _start_instant_for_hours(start).astimezone(SHANGHAI)
            return max(end - timedelta(hours=warn_before), begin)
        begin = _start_instant(start)
        if unit == "natural_days":
            return max(end - timedelta(days=warn_before), begin)
        first = _start_date(start)
        current = self.period_end(start, amount, unit)
        found = 0
        while current > first:
            if self.is_working_day(current):
                found += 1
                if found == warn_before:
                    return max(_start_of_day(current), begin)
            current -= timedelta(days=1)
        return begin

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in ``(a, b]``; 0 when ``b <= a`` (e.g. how much of a period has run)."""
        a = _as_date(a)
        b = _as_date(b)
        count = 0
        current = a
        while current < b:
            current += timedelta(days=1)
            if self.is_working_day(current):
                count += 1
        return count


def parse_start(value: str | date | datetime) -> date | datetime:
    """A start as stored in forms and process data: ``YYYY-MM-DD`` or an ISO datetime.

    A datetime string without an offset is read as Asia/Shanghai time (what an officer types);
    a naive ``datetime`` object is rejected because its zone cannot be known.
    """
    if isinstance(value, datetime):
        _require_aware(value)
        return value
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise InvalidInput("起算时间必须是日期或日期时间。", {"value": repr(value)})
    text = value.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"无法识别起算时间“{value}”，请使用 YYYY-MM-DD 或 YYYY-MM-DDTHH:MM:SS+08:00。",
            {"value": value},
        )
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=SHANGHAI)
    return parsed


def load_seed_days() -> tuple[list[CalendarDay], list[int]]:
    """The seed holiday entries and the years they cover (for seeding the calendar tables)."""
    raw = json.loads(_read_data(_HOLIDAYS_FILE))
    days: list[CalendarDay] = []
    years: list[int] = []
    for year_text, entries in raw["years"].items():
        years.append(int(year_text))
        for entry in entries:
            days.append(CalendarDay(date.fromisoformat(entry["date"]), entry["kind"], entry["name"]))
    return days, years


def load_seed_time_limits() -> list[dict[str, Any]]:
    """The default time-limit settings (key, name, amount, unit, legal_basis, min, max, warn_before)."""
    limits: list[dict[str, Any]] = json.loads(_read_data(_TIME_LIMITS_FILE))
    return limits


def _read_data(name: str) -> str:
    return resources.files(_DATA_PACKAGE).joinpath(name).read_text(encoding="utf-8")


def _check_unit(unit: str) -> None:
    if unit not in UNITS:
        raise InvalidInput(
            f"期限单位“{unit}”无效，应为工作日（working_days）、自然日（natural_days）或小时（hours）。",
            {"unit": unit},
        )


def _check_amount(amount: int, unit: str) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidInput("期限数值必须是整数。", {"amount": repr(amount)})
    if amount < 0:
        raise InvalidInput("期限数值不能为负数。", {"amount": amount})
    limit = MAX_HOURS if unit == "hours" else MAX_DAYS
    if amount > limit:
        raise InvalidInput(
            f"期限数值 {amount} 超出允许范围（最多 {limit}），请检查期限设置。", {"amount": amount}
        )


def _require_aware(value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(
            "起算时间缺少时区，无法确定北京时间的日期；请提供带时区的时间。", {"value": value.isoformat()}
        )


def _as_date(value: date) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvalidInput("此处需要日期（YYYY-MM-DD），不是日期时间。", {"value": repr(value)})
    return value


def _start_date(start: date | datetime) -> date:
    """The Shanghai date of the start; a datetime is converted first, whatever the server's zone."""
    if isinstance(start, datetime):
        _require_aware(start)
        return start.astimezone(SHANGHAI).date()
    if isinstance(start, date):
        return start
    raise InvalidInput("起算时间必须是日期或带时区的日期时间。", {"value": repr(start)})


def _start_instant(start: date | datetime) -> datetime:
    """The start as a Shanghai instant; a bare date is taken as its 00:00 Shanghai."""
    if isinstance(start, datetime):
        _require_aware(start)
        return start.astimezone(SHANGHAI)
    return _start_of_day(_start_date(start))


def _start_instant_for_hours(start: date | datetime) -> datetime:
    if not isinstance(start, datetime):
        raise InvalidInput(
            "按小时计算的期限需要精确到时刻的起算时间（带时区的日期时间）。", {"value": repr(start)}
        )
    _require_aware(start)
    return start.astimezone(UTC)


def _start_of_day(d: date) -> datetime:
    return datetime.combine(d, time(0, 0), tzinfo=SHANGHAI)
