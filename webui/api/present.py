"""How engine objects look in the API (one place, so pages and API agree)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from engine import clock
from engine.models import ActiveProcess, AuditEvent, Case, ClockPause, Deployment, Task, User, db
from engine.models.case import PARTY_FIELDS
from engine.runtime.case_clock import days_left
from engine.runtime.party import masked, missing_details


def iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(clock.SHANGHAI).isoformat() if value else None


def deadline_badge(task: Task, now: dt.datetime | None = None) -> str:
    """正常 / 临期 / 超期 from the task's own due and warn instants (never from a stale flag)."""
    now = now or clock.now()
    if task.status != "open":
        return "done"
    if task.due_at is not None and task.due_at <= now:
        return "overdue"
    if task.warn_at is not None and task.warn_at <= now:
        return "near"
    return "normal"


def deployment_summary(deployment: Deployment) -> dict[str, Any]:
    """A new deployment and which deployment each process now runs (deploy, approve)."""
    return {"id": deployment.id, "bundle_hash": deployment.bundle_hash, "created_at": iso(deployment.created_at),
            "active": {a.process_id: a.spec.deployment_id for a in db.session.scalars(select(ActiveProcess))}}


def task_summary(task: Task) -> dict[str, Any]:
    case = task.case
    return {
        "id": task.id,
        "name": task.name,
        "bpmn_id": task.bpmn_id,
        "process_id": task.process_id,
        "role": task.role,
        "status": task.status,
        "assignee": task.assignee.username if task.assignee else None,
        "form": task.form,
        "time_limit": task.time_limit,
        "created_at": iso(task.created_at),
        "due_at": iso(task.due_at),
        "warn_at": iso(task.warn_at),
        # 暂定: counted on weekends alone through a year whose holiday notice is not entered yet.
        "provisional": bool(task.due_provisional and task.status == "open"),
        "deadline_state": deadline_badge(task),
        "completed_at": iso(task.completed_at),
        # Why the process sent this step back (the rule and article), or None.
        "returned_because": task.returned_because,
        "case": {"id": case.id, "case_number": case.case_number, "procedure": case.procedure,
                 "party_name": case.party_name},
    }


def case_summary(case: Case) -> dict[str, Any]:
    return {
        "id": case.id,
        "case_number": case.case_number,
        "procedure": case.procedure,
        "unit": case.unit.code,
        "party": party_summary(case),
        "facts": case.facts,
        "status": case.status,
        "opened_at": iso(case.opened_at),
        "closed_at": iso(case.closed_at),
        "clock": {"state": case.clock_state, "started_on": case.clock_started_on.isoformat() if case.clock_started_on else None,
                  "deadline": iso(case.clock_deadline), "provisional": bool(case.clock_provisional),
                  "days_left": days_left(case), "paused_since": iso(case.paused_since),
                  "paused_days": case.paused_days, "extension_days": case.extension_days, "extensions": case.extensions},
    }


def party_summary(case: Case) -> dict[str, Any]:
    """The party as the API shows it: a citizen's ID number, address and phone masked (as on the case
    page), ``missing`` the details to complete before documents can be served."""
    shown = {key.removeprefix("party_"): masked(case, key) for key in PARTY_FIELDS if key not in ("party_type", "party_name")}
    return {"type": case.party_type, "name": case.party_name, **shown, "id_number": case.party_id_masked or None,
            "missing": missing_details(case)}


def pause_summary(pause: ClockPause) -> dict[str, Any]:
    """One period the case clock does not count (中止, hearing, 检测/检验/检疫/鉴定, 公告)."""
    return {"n": pause.seq, "kind": pause.kind, "started_on": pause.started_on.isoformat(),
            "ended_on": pause.ended_on.isoformat() if pause.ended_on else None, "days": pause.days(),
            "description": pause.description, "started_by": pause.started_by, "ended_by": pause.ended_by}


def audit_entry(ev: AuditEvent) -> dict[str, Any]:
    return {"seq": ev.seq, "at": iso(ev.at), "actor": ev.actor, "action": ev.action, "task_id": ev.task_id,
            "data": ev.data, "hash": ev.hash}


def due_label(value: dt.datetime | None) -> str:
    """A legal deadline ends at 24:00 of its last day: show "2026-03-10 24:00", not "03-11 00:00"."""
    if value is None:
        return ""
    local = value.astimezone(clock.SHANGHAI)
    if (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
        return (local - dt.timedelta(days=1)).strftime("%Y-%m-%d") + " 24:00"
    return local.strftime("%Y-%m-%d %H:%M")


def officer_summary(user: User) -> dict[str, Any]:
    """An officer as a client may show and name them (username is what forms and reassignment take)."""
    return {"username": user.username, "display_name": user.display_name or user.username}
