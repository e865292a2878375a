"""Time limits and deadline arithmetic (read here; administrators edit them in a later step)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import request
from sqlalchemy import select

from engine import clock
from engine.errors import InvalidInput
from engine.limits import load_calendar
from engine.models import TimeLimit, db
from engine.runtime import fire_due_timers

from . import bp, roles_required
from .present import iso


@bp.get("/time-limits")
def list_time_limits() -> dict[str, Any]:
    return {"items": [_limit(t) for t in db.session.scalars(select(TimeLimit).order_by(TimeLimit.key))]}


@bp.get("/calendar/deadline")
def compute_deadline() -> dict[str, Any]:
    try:
        start = dt.date.fromisoformat(request.args.get("start", ""))
        amount = int(request.args.get("amount", ""))
    except ValueError:
        raise InvalidInput("start 须为 YYYY-MM-DD，amount 须为整数 (start=YYYY-MM-DD, amount=integer)")
    unit = request.args.get("unit", "working_days")
    if unit not in ("working_days", "natural_days"):
        raise InvalidInput("unit 须为 working_days 或 natural_days")
    calendar = load_calendar()
    deadline = calendar.deadline(start, amount, unit)
    return {"start": start.isoformat(), "amount": amount, "unit": unit,
            "last_day": calendar.period_end(start, amount, unit).isoformat(), "deadline": deadline.isoformat()}


@bp.post("/tick")
@roles_required("administrator")
def tick() -> dict[str, Any]:
    body = request.get_json(silent=True) or {}
    now = clock.now()
    if body.get("now"):
        try:
            now = dt.datetime.fromisoformat(body["now"])
        except (TypeError, ValueError):
            raise InvalidInput("now 须为带时区的 ISO 时间 (now must be an ISO datetime with offset)")
        if now.tzinfo is None:
            raise InvalidInput("now 须带时区 (now must carry a UTC offset)")
    with clock.use_clock(clock.FrozenClock(now)):
        result = fire_due_timers(now)
    return {"now": iso(now), "fired": result.fired, "failed": result.failed, "near_due": result.near_due,
            "overdue": result.overdue}


def _limit(t: TimeLimit) -> dict[str, Any]:
    return {"key": t.key, "name": t.name, "amount": t.amount, "unit": t.unit, "legal_basis": t.legal_basis,
            "min": t.min_amount, "max": t.max_amount, "warn_before": t.warn_before,
            "updated_by": t.updated_by, "updated_at": iso(t.updated_at)}
