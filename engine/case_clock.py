"""The ordinary procedure's case clock (法 Art. 60): 90 natural days from filing (立案).

Hearing, public notice, testing and suspension (中止) periods are not counted, and an extension
needs the agency head's approval (a further one, collective discussion). The deadline is always
recomputed from recorded facts — filing date + limit + paused days + approved extensions — so a
changed limit, a pause or a migration gives the same legal answer, never a drifted one.

BPMN scripts drive it through ``case_clock('start'|'pause'|'resume'|'stop', 'YYYY-MM-DD')``; the
calls are collected while the engine steps and applied in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from . import audit, clock
from .access import get_case
from .errors import Forbidden, InvalidInput, InvalidState
from .limits import Deadlines
from .models import Case, ProcessInstance, User, db
from .transaction import command

ACTIONS = ("start", "pause", "resume", "stop")
CLOCK_KEY = "case_decision"
EXTENSION_KEY = "case_decision_extension"


@dataclass(frozen=True)
class ClockEvent:
    action: str
    on: dt.date


class ClockRecorder:
    """The ``case_clock`` function given to BPMN scripts: records intents, changes nothing yet."""

    def __init__(self) -> None:
        self.events: list[ClockEvent] = []

    def __call__(self, action: str, on: Any = None) -> bool:
        if action not in ACTIONS:
            raise ValueError(f"case_clock action must be one of {ACTIONS}")
        self.events.append(ClockEvent(action, _as_date(on) if on else clock.today_shanghai()))
        return True


def apply_events(case: Case, events: list[ClockEvent], deadlines: Deadlines, actor: str) -> None:
    for event in events:
        _apply(case, event.action, event.on, deadlines, actor)


@command
def extend_case_clock(actor: User, case_id: int, days: int, reason: str, collective_discussion: bool = False) -> Case:
    """Record an approved extension; the first by the agency head, later ones by collective discussion."""
    if not actor.has_role("agency_head"):
        raise Forbidden("延长办案期限须经行政机关负责人批准 (an extension needs the agency head)")
    if not reason or not reason.strip():
        raise InvalidInput("请填写延长理由 (a reason is required)")
    case = get_case(actor, case_id)
    _lock_case(case)
    if case.clock_state not in ("running", "paused", "overdue"):
        raise InvalidState("该案件的办案期限未在计算中 (the case clock is not running)")
    deadlines = Deadlines()
    limit = deadlines.limit(EXTENSION_KEY)
    if not isinstance(days, int) or days < 1 or days > limit.amount:
        raise InvalidInput(f"延长天数须为 1–{limit.amount} 日 (extension must be 1–{limit.amount} days; 《行政处罚法》第六十条)")
    if case.extensions >= 1 and not collective_discussion:
        raise Forbidden("再次延长须经集体讨论决定 (a further extension needs collective discussion)")
    old = case.clock_deadline
    case.extensions += 1
    case.extension_days += days
    _recompute(case, deadlines)
    if case.clock_state == "overdue" and case.clock_deadline and case.clock_deadline > clock.now():
        case.clock_state = "running"
    audit.record("case.clock_extended", actor.username,
                 {"days": days, "reason": reason, "collective_discussion": collective_discussion,
                  "old_deadline": old.isoformat() if old else None,
                  "new_deadline": case.clock_deadline.isoformat() if case.clock_deadline else None},
                 case_id=case.id)
    return case


def pause(case: Case, on: dt.date, actor: str, why: str) -> None:
    _apply(case, "pause", on, Deadlines(), actor, why)


def resume(case: Case, on: dt.date, actor: str, why: str) -> None:
    _apply(case, "resume", on, Deadlines(), actor, why)


def days_left(case: Case, now: dt.datetime | None = None) -> int | None:
    if case.clock_deadline is None or case.clock_state in (None, "stopped"):
        return None
    today = (now or clock.now()).astimezone(clock.SHANGHAI).date()
    last_day = (case.clock_deadline - dt.timedelta(microseconds=1)).astimezone(clock.SHANGHAI).date()
    return (last_day - today).days


def _apply(case: Case, action: str, on: dt.date, deadlines: Deadlines, actor: str, why: str = "") -> None:
    state = case.clock_state
    if action == "start":
        if state is not None:
            return  # filed once; a re-run of the filing step does not restart the clock
        case.clock_started_on = on
        case.clock_state = "running"
        limit = deadlines.limit(CLOCK_KEY)
        case.clock_amount, case.clock_unit = limit.amount, limit.unit
        _recompute(case, deadlines)
    elif action == "pause":
        if state not in ("running", "overdue"):
            return
        case.paused_since = dt.datetime.combine(on, dt.time(), clock.SHANGHAI)
        case.clock_state = "paused"
    elif action == "resume":
        if state != "paused" or case.paused_since is None:
            return
        paused = (on - case.paused_since.astimezone(clock.SHANGHAI).date()).days
        case.paused_days += max(0, paused)
        case.paused_since = None
        case.clock_state = "running"
        _recompute(case, deadlines)
    elif action == "stop":
        if state is None or state == "stopped":
            return
        case.clock_state = "stopped"
        case.decided_at = case.decided_at or clock.now()
    audit.record(f"case.clock_{action}", actor,
                 {"on": on.isoformat(), "why": why, "deadline": case.clock_deadline.isoformat() if case.clock_deadline else None,
                  "paused_days": case.paused_days},
                 case_id=case.id)


def recompute_deadline(case: Case, deadlines: Deadlines) -> dt.datetime | None:
    """The clock's deadline from its recorded facts (filing date, limit at filing, pauses, extensions)."""
    if case.clock_started_on is None:
        return None
    if case.clock_amount is None:
        limit = deadlines.limit(CLOCK_KEY)
        case.clock_amount, case.clock_unit = limit.amount, limit.unit
    total = case.clock_amount + case.paused_days + case.extension_days
    return deadlines.calendar.deadline(case.clock_started_on, total, case.clock_unit or "natural_days")


def _recompute(case: Case, deadlines: Deadlines) -> None:
    set_deadline(case, deadlines)


def set_deadline(case: Case, deadlines: Deadlines) -> None:
    """Recompute the clock's deadline and whether it is 暂定 (counted through a year without a notice)."""
    case.clock_deadline = recompute_deadline(case, deadlines)
    case.clock_provisional = bool(case.clock_deadline and case.clock_started_on
                                  and deadlines.calendar.is_provisional(case.clock_started_on, case.clock_deadline))


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.astimezone(clock.SHANGHAI).date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ValueError(f"case_clock needs a date 'YYYY-MM-DD', got {value!r}")


def _lock_case(case: Case) -> None:
    """Serialize clock changes per case (the instance row is the case's lock), then re-read the case."""
    db.session.execute(select(ProcessInstance.id).where(ProcessInstance.case_id == case.id).with_for_update())
    db.session.refresh(case)
