"""Time limits, the holiday calendar, deadline arithmetic, drills (tick) and incidents."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import request
from sqlalchemy import select

from engine import clock
from engine.admin.time_limit_keys import create_time_limit as define_time_limit
from engine.admin.time_limit_keys import delete_time_limit as remove_time_limit
from engine.admin.time_limits import calendar_year, set_calendar_year, set_time_limit
from engine.deadlines.limits import load_calendar
from engine.errors import InvalidInput, NotFound, ZhifaError
from engine.models import Case, ProcessInstance, TimeLimit, db
from engine.policy.permissions import ADMINISTRATORS, DESIGNERS
from engine.runtime import fire_due_timers, retry_instance
from engine.runtime.reapply import apply_limit_change, preview_limit_change

from . import bp, current, json_body, roles_required, text_field
from .present import iso

API_REASON = "通过 API 修改，未说明理由 (changed through the API; no reason given)"


@bp.get("/time-limits")
def list_time_limits() -> dict[str, Any]:
    return {"items": [_limit(t) for t in db.session.scalars(select(TimeLimit).order_by(TimeLimit.key))]}


@bp.post("/time-limits")
@roles_required(*DESIGNERS)
def create_time_limit() -> tuple[dict[str, Any], int]:
    """A new key (designers and administrators): usable by the next deployment at once."""
    return _limit(define_time_limit(current(), json_body())), 201


@bp.delete("/time-limits/<key>")
@roles_required(*DESIGNERS)
def delete_time_limit(key: str) -> dict[str, Any]:
    """A created key nothing uses yet (refused for shipped keys and keys still named anywhere)."""
    body = request.get_json(silent=True)
    remove_time_limit(current(), key, text_field(body, "reason") if isinstance(body, dict) else "")
    return {"key": key, "deleted": True}


@bp.get("/time-limits/<key>")
def read_time_limit(key: str) -> dict[str, Any]:
    limit = db.session.get(TimeLimit, key)
    if limit is None:
        raise NotFound(f"时限 '{key}' 不存在 (unknown time-limit key)")
    return _limit(limit)


@bp.put("/time-limits/<key>")
@roles_required(*ADMINISTRATORS)
def update_time_limit(key: str) -> dict[str, Any]:
    body = json_body()
    # The contract body is {amount, unit}; a reason is recorded when given (the admin UI requires one).
    limit = set_time_limit(current(), key, body.get("amount"), text_field(body, "unit"), text_field(body, "reason") or API_REASON,
                           body.get("warn_before"))
    try:
        affected: int | None = len(preview_limit_change(key))
    except ZhifaError:
        affected = None  # the change is saved; the preview is shown again where it can be fixed (admin)
    return {**_limit(limit), "open_cases_affected": affected}


@bp.get("/time-limits/<key>/preview")
@roles_required(*ADMINISTRATORS)
def preview_time_limit(key: str) -> dict[str, Any]:
    return {"key": key, "changes": [c.to_dict() for c in preview_limit_change(key)]}


@bp.post("/time-limits/<key>/apply")
@roles_required(*ADMINISTRATORS)
def apply_time_limit(key: str) -> dict[str, Any]:
    body = json_body()
    return {"key": key, "applied": [c.to_dict() for c in apply_limit_change(current(), key, text_field(body, "reason"))]}


@bp.get("/calendar/<int:year>")
def read_calendar(year: int) -> dict[str, Any]:
    return calendar_year(year)


@bp.put("/calendar/<int:year>")
@roles_required(*ADMINISTRATORS)
def update_calendar(year: int) -> dict[str, Any]:
    body = json_body()
    return set_calendar_year(current(), year, body.get("days"), text_field(body, "reason") or API_REASON)


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
    if not 0 <= amount <= 3660:
        raise InvalidInput("amount 须在 0–3660 之间 (amount must be 0–3660)")
    calendar = load_calendar()
    deadline = calendar.deadline(start, amount, unit)
    return {"start": start.isoformat(), "amount": amount, "unit": unit,
            "last_day": calendar.period_end(start, amount, unit).isoformat(), "deadline": deadline.isoformat()}


@bp.post("/tick")
@roles_required(*ADMINISTRATORS)
def tick() -> dict[str, Any]:
    body = request.get_json(silent=True)
    body = {} if body is None else body  # no body (or JSON null): fire as of the clock's now
    if not isinstance(body, dict) or not isinstance(body.get("now", ""), str | None):
        raise InvalidInput("请求体须为 {\"now\": ISO 时间} (the body must be {\"now\": ISO datetime})")
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
    return {"key": t.key, "name": t.name, "amount": t.amount, "unit": t.unit, "units": (t.units or t.unit).split(","),
            "legal_basis": t.legal_basis, "min": t.min_amount, "max": t.max_amount, "bound_unit": t.bound_unit or t.unit,
            "warn_before": t.warn_before, "description": t.description,
            "updated_by": t.updated_by, "updated_at": iso(t.updated_at)}


@bp.get("/incidents")
@roles_required(*ADMINISTRATORS)
def list_incidents() -> dict[str, Any]:
    rows = db.session.execute(
        select(ProcessInstance, Case.case_number).join(Case, Case.id == ProcessInstance.case_id)
        .where(ProcessInstance.error.is_not(None)).order_by(ProcessInstance.id)
    )
    return {"items": [{"instance_id": pi.id, "case_id": pi.case_id, "case_number": number, "process_id": pi.process_id,
                       "error": pi.error, "next_timer_at": iso(pi.next_timer_at)} for pi, number in rows]}


@bp.post("/incidents/<int:instance_id>/retry")
@roles_required(*ADMINISTRATORS)
def retry_incident(instance_id: int) -> dict[str, Any]:
    retry_instance(current(), instance_id)
    return {"instance_id": instance_id, "retried": True}
