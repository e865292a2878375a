"""Administrators' changes to the time-limit registry and the holiday calendar.

Each change is one transaction that validates against the legal bounds, writes an audit event
(old → new, who, when, why) and bumps the configuration revision, so every process computes the
next deadline with the new value at once. Open cases keep their dates until ``engine.runtime.reapply``
is run for the limit; entering a year's holiday notice recomputes every 暂定 (provisional)
deadline in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, select

from engine import clock
from engine.db.command import command
from engine.deadlines.holidays import UNITS
from engine.deadlines.reference import bump_revision, reference
from engine.errors import InvalidInput, NotFound
from engine.models import CalendarDay, CalendarYear, TimeLimit, User, db
from engine.policy.permissions import require
from engine.record import audit
from engine.runtime.reapply import recompute_provisional

UNIT_LABELS = {"working_days": "工作日", "natural_days": "自然日", "hours": "小时"}
DAY_KINDS = ("holiday", "workday")


@command
def set_time_limit(actor: User, key: str, amount: Any, unit: str, reason: str, warn_before: Any = None) -> TimeLimit:
    _require_admin(actor)
    limit = db.session.get(TimeLimit, key)
    if limit is None:
        raise NotFound(f"时限 '{key}' 不存在 (unknown time-limit key)")
    if not reason or not str(reason).strip():
        raise InvalidInput("修改时限须填写理由 (a reason is required)", details=[{"field": "reason", "message": "必填"}])
    allowed = [u for u in (limit.units or limit.unit).split(",") if u]
    if unit not in UNITS or unit not in allowed:
        labels = "、".join(UNIT_LABELS.get(u, u) for u in allowed)
        raise InvalidInput(f"“{limit.name}”只能以{labels}计算（{limit.legal_basis}）(unit must be one of {allowed})",
                           details=[{"field": "unit", "message": f"可选：{labels}"}])
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidInput("期限须为整数 (amount must be an integer)", details=[{"field": "amount", "message": "须为整数"}])
    if not limit.min_amount <= amount <= limit.max_amount:
        bound = f"{limit.min_amount}–{limit.max_amount} {UNIT_LABELS.get(limit.bound_unit or limit.unit, '')}"
        raise InvalidInput(
            f"“{limit.name}”须在 {bound} 之间，依据：{limit.legal_basis} "
            f"(amount must be within {limit.min_amount}–{limit.max_amount}: {limit.legal_basis})",
            details=[{"field": "amount", "message": f"允许范围 {bound}", "min": limit.min_amount, "max": limit.max_amount,
                      "legal_basis": limit.legal_basis}],
        )
    if warn_before is not None and (isinstance(warn_before, bool) or not isinstance(warn_before, int) or warn_before < 0):
        raise InvalidInput("预警提前量须为非负整数 (warn_before must be a non-negative integer)")
    old = {"amount": limit.amount, "unit": limit.unit, "warn_before": limit.warn_before}
    limit.amount, limit.unit = amount, unit
    if warn_before is not None:
        limit.warn_before = warn_before
    limit.updated_by, limit.updated_at = actor.username, clock.now()
    new = {"amount": limit.amount, "unit": limit.unit, "warn_before": limit.warn_before}
    audit.record("time_limit.changed", actor.username, {"key": key, "old": old, "new": new, "reason": reason})
    bump_revision()
    return limit


def calendar_year(year: int) -> dict[str, Any]:
    if not dt.MINYEAR <= year <= dt.MAXYEAR:  # dt.date(year, 1, 1) would raise ValueError: a 500
        raise NotFound(f"没有 {year} 年的日历 (no calendar for year {year})")
    entered = db.session.get(CalendarYear, year)
    days = db.session.scalars(
        select(CalendarDay).where(CalendarDay.day >= dt.date(year, 1, 1), CalendarDay.day <= dt.date(year, 12, 31))
        .order_by(CalendarDay.day)
    )
    return {
        "year": year,
        "entered": entered is not None,
        "entered_by": entered.entered_by if entered else None,
        "entered_at": entered.entered_at.isoformat() if entered else None,
        "days": [{"date": d.day.isoformat(), "kind": d.kind, "name": d.name} for d in days],
    }


@command
def set_calendar_year(actor: User, year: int, days: Any, reason: str) -> dict[str, Any]:
    """Replace one year's holidays and make-up working days (the State Council notice for that year)."""
    _require_admin(actor)
    if not reason or not str(reason).strip():
        raise InvalidInput("修改日历须填写理由 (a reason is required)")
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise InvalidInput("年份无效 (invalid year)")
    parsed = _parse_days(year, days)
    old = calendar_year(year)
    db.session.execute(delete(CalendarDay).where(CalendarDay.day >= dt.date(year, 1, 1), CalendarDay.day <= dt.date(year, 12, 31)))
    for day, kind, name in parsed:
        db.session.add(CalendarDay(day=day, kind=kind, name=name))
    entered = db.session.get(CalendarYear, year)
    if entered is None:
        db.session.add(CalendarYear(year=year, entered_by=actor.username, entered_at=clock.now()))
    else:
        entered.entered_by, entered.entered_at = actor.username, clock.now()
    new_days = [{"date": d.isoformat(), "kind": k, "name": n} for d, k, n in parsed]
    audit.record("calendar.changed", actor.username,
                 {"year": year, "reason": reason, "old": old["days"], "new": new_days, "was_entered": old["entered"]})
    bump_revision()
    db.session.flush()  # the reference data below is read with Core: it must see the new rows
    recomputed = recompute_provisional(actor.username, f"录入 {year} 年节假日安排：{reason}")
    return {"year": year, "entered": True, "days": new_days, "recomputed": [c.to_dict() for c in recomputed]}


WARN_FROM_MONTH = 11  # the State Council publishes next year's notice in November or December


def missing_years() -> list[int]:
    """Years whose notice administrators and unit heads are warned about: this year whenever it is
    missing, next year from 1 November (deadlines running into it are 暂定 until it is entered)."""
    today = clock.today_shanghai()
    covered = reference().calendar
    assert covered is not None
    wanted = [today.year] + ([today.year + 1] if today.month >= WARN_FROM_MONTH else [])
    return [y for y in wanted if not covered.covers(y)]


def _parse_days(year: int, days: Any) -> list[tuple[dt.date, str, str]]:
    if not isinstance(days, list):
        raise InvalidInput("days 须为列表 (days must be a list of {date, kind, name})")
    out: dict[dt.date, tuple[dt.date, str, str]] = {}
    errors = []
    for i, item in enumerate(days):
        if not isinstance(item, dict):
            errors.append({"field": f"days.{i}", "message": "须为对象"})
            continue
        try:
            day = dt.date.fromisoformat(str(item.get("date", "")))
        except ValueError:
            errors.append({"field": f"days.{i}.date", "message": f"日期“{str(item.get('date', ''))[:20]}”格式应为 YYYY-MM-DD"})
            continue
        kind, name = item.get("kind"), str(item.get("name", ""))[:60]
        if day.year != year:
            errors.append({"field": f"days.{i}.date", "message": f"{day} 不属于 {year} 年"})
        elif kind not in DAY_KINDS:
            errors.append({"field": f"days.{i}.kind", "message": "类型须为放假（holiday）或调休上班（workday）"})
        elif kind == "workday" and day.weekday() < 5:
            errors.append({"field": f"days.{i}.kind", "message": f"{day} 本是工作日，调休上班只能是周末"})
        elif day in out:
            errors.append({"field": f"days.{i}.date", "message": f"{day} 重复"})
        else:
            out[day] = (day, kind, name)
    if errors:
        rows = "；".join(f"第 {int(e['field'].split('.')[1]) + 1} 行：{e['message']}" for e in errors[:5])
        raise InvalidInput(f"日历数据有误，请修改后再保存 (invalid calendar rows)：{rows}", details=errors)
    return sorted(out.values())


def _require_admin(actor: User) -> None:
    require(actor, "time_limits.edit")
