"""Re-apply a changed time limit to open cases: an explicit, previewed, audited action.

A changed limit governs new tasks and timers at once; open ones keep the date they were given
until an administrator previews the effect here and applies it. Task deadlines are recomputed
from the instant the task became ready; timers re-evaluate their own expression on the recorded
facts (e.g. ``deadline('statement_period', served_on)``), never from "now".
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine import clock
from engine.db.command import command, user_error
from engine.deadlines.limits import CASE_CLOCK, Deadlines
from engine.deadlines.reference import uncommitted
from engine.definitions.procedures import procedures
from engine.definitions.specs import load_specs
from engine.errors import InvalidInput, NotFound, ZhifaError
from engine.models import Case, ProcessInstance, Task, TimeLimit, User, db
from engine.policy.permissions import require
from engine.record import audit
from engine.runtime.case_clock import set_deadline
from engine.runtime.instance import lock_instance, open_session, save


@dataclass(frozen=True)
class Change:
    kind: str  # task | timer
    case_id: int
    case_number: str
    name: str
    old_due: str | None
    new_due: str | None
    task_id: str | None = None
    instance_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def preview_limit_change(key: str) -> list[Change]:
    """Every open task and waiting timer whose date would change under the current value of ``key``."""
    if db.session.get(TimeLimit, key) is None:
        raise NotFound(f"时限 '{key}' 不存在 (unknown time-limit key)")
    return _task_changes(key) + _timer_changes(key) + _clock_changes(key)


@command
def apply_limit_change(actor: User, key: str, reason: str) -> list[Change]:
    require(actor, "time_limits.reapply")
    if not reason or not reason.strip():
        raise InvalidInput("请填写理由 (a reason is required)")
    changes = preview_limit_change(key)
    deadlines = Deadlines()
    for change in changes:
        if change.kind == "error":
            continue  # shown in the preview; left as it is
        if change.kind == "clock":
            case = db.session.get(Case, change.case_id)
            assert case is not None
            limit = deadlines.limit(key)
            case.clock_amount, case.clock_unit = limit.amount, limit.unit
            set_deadline(case, deadlines)
        elif change.kind == "task":
            task = db.session.get(Task, change.task_id)
            assert task is not None
            task.due_at, task.warn_at, task.due_provisional = task_deadline(deadlines, task)
            task.deadline_state = "normal"
        else:
            _rearm_timers(change.instance_id or 0, key)
        audit.record("deadline.reapplied", actor.username, {"key": key, "reason": reason, **change.to_dict()},
                     case_id=change.case_id, task_id=change.task_id, instance_id=change.instance_id)
    audit.record("time_limit.reapplied", actor.username, {"key": key, "reason": reason, "changes": len(changes)})
    return changes


def recompute_provisional(actor: str, reason: str) -> list[Change]:
    """Recompute every 暂定 deadline on the calendar now in force (a year's notice was just entered).

    Runs inside the command that entered the year, so the new calendar and every moved deadline
    commit together. Only rows marked provisional are read: tasks and case clocks by their flag,
    and only the instances whose waiting timers fell in a year without a notice are deserialized.
    Timers re-evaluate their own ``deadline(...)`` expression on the recorded facts; a timer that
    does not count on the calendar (``'PT5D'``) keeps its date.
    """
    uncommitted()  # the calendar just entered, for this transaction only
    deadlines = Deadlines()
    changes: list[Change] = []
    tasks = db.session.execute(
        select(Task, Case.case_number).join(Case, Case.id == Task.case_id)
        .where(Task.status == "open", Task.due_provisional.is_(True)).order_by(Task.created_at)
    ).all()
    for task, number in tasks:
        if task.time_limit is None or task.time_limit not in deadlines.reference.limits or task.counts_from == CASE_CLOCK:
            continue  # a step due with the case clock moves with the clock, below
        old = task.due_at
        task.due_at, task.warn_at, task.due_provisional = task_deadline(deadlines, task)
        if task.deadline_state != "normal" and task.due_at != old:
            task.deadline_state = "normal"  # the next sweep flags it again against the new dates
        changes.append(Change("task", task.case_id, number, task.name, _iso(old), _iso(task.due_at), task_id=task.id))
    for case in db.session.scalars(select(Case).where(Case.clock_provisional.is_(True))):
        old = case.clock_deadline
        set_deadline(case, deadlines)
        if case.clock_state == "overdue" and case.clock_deadline and case.clock_deadline > clock.now():
            case.clock_state = "running"
        changes.append(Change("clock", case.id, case.case_number, "办案期限", _iso(old), _iso(case.clock_deadline)))
    instance_ids = list(db.session.scalars(
        select(ProcessInstance.id).where(ProcessInstance.timers_provisional.is_(True),
                                         ProcessInstance.status.in_(("running", "suspended")))
    ))
    pattern = re.compile(r"\bdeadline\(")
    for instance_id in instance_ids:
        instance = lock_instance(instance_id)
        session = open_session(instance, actor)
        for task in _waiting_timers(session.workflow, _timer_specs(instance.process_spec_id, pattern)):
            old_value = task.internal_data.get("event_value")
            task.internal_data["event_value"] = _evaluate(session.workflow, task)
            if not _same_instant(old_value, task.internal_data["event_value"]):
                changes.append(Change("timer", instance.case_id, instance.case.case_number,
                                      task.task_spec.bpmn_name or task.task_spec.name, str(old_value),
                                      task.internal_data["event_value"], instance_id=instance_id))
        save(session)
    for change in changes:
        audit.record("deadline.recomputed", actor, {"reason": reason, **change.to_dict()},
                     case_id=change.case_id, task_id=change.task_id, instance_id=change.instance_id)
    return changes


def task_deadline(deadlines: Deadlines, task: Task) -> tuple[dt.datetime, dt.datetime | None, bool]:
    """A task's due and 临期 instants and 暂定 flag, counted again from its recorded legal start."""
    assert task.time_limit is not None
    start: dt.date | dt.datetime = task.starts_on if task.starts_on is not None else task.created_at
    due, warn = deadlines.task_due(task.time_limit, start, task.extended_by)
    return due, warn, deadlines.calendar.is_provisional(start, due)


def _task_changes(key: str) -> list[Change]:
    deadlines = Deadlines()
    out = []
    rows = db.session.execute(
        select(Task, Case.case_number).join(Case, Case.id == Task.case_id)
        .where(Task.status == "open", Task.time_limit == key, Task.counts_from.is_distinct_from(CASE_CLOCK))
        .order_by(Task.created_at)
    )
    for task, number in rows:
        due, _warn, _provisional = task_deadline(deadlines, task)
        if due != task.due_at:
            out.append(Change("task", task.case_id, number, task.name, _iso(task.due_at), _iso(due), task_id=task.id))
    return out


def _clock_changes(key: str) -> list[Change]:
    """Case clocks (法 Art. 60) keep the limit they started with until it is re-applied here."""
    counted = [pid for pid, p in procedures().items() if p.clock_key == key]  # each procedure names its clock's limit
    if not counted:
        return []
    deadlines = Deadlines()
    limit = deadlines.limit(key)
    out = []
    for case in db.session.scalars(select(Case).where(Case.status.in_(("open", "suspended")), Case.procedure.in_(counted),
                                                     Case.clock_state.in_(("running", "paused", "overdue")))):
        if (case.clock_amount, case.clock_unit) == (limit.amount, limit.unit):
            continue
        total = limit.amount + case.paused_days + case.extension_days
        new = deadlines.calendar.deadline(case.clock_started_on, total, limit.unit) if case.clock_started_on else None
        out.append(Change("clock", case.id, case.case_number, "办案期限", _iso(case.clock_deadline), _iso(new)))
    return out


def _timer_changes(key: str) -> list[Change]:
    out = []
    spec_ids = set(db.session.scalars(
        select(ProcessInstance.process_spec_id).where(ProcessInstance.status == "running",
                                                      ProcessInstance.next_timer_at.is_not(None)).distinct()
    ))
    relevant = [sid for sid in spec_ids if _timer_specs(sid, key)]
    if not relevant:
        return out
    instances = db.session.execute(
        select(ProcessInstance.id, Case.case_number).join(Case, Case.id == ProcessInstance.case_id)
        .where(ProcessInstance.process_spec_id.in_(relevant), ProcessInstance.status == "running",
               ProcessInstance.next_timer_at.is_not(None))
        .order_by(ProcessInstance.id)
    )
    for instance_id, number in instances:
        instance = db.session.get(ProcessInstance, instance_id)
        assert instance is not None
        try:
            session = open_session(instance, "preview")
            names = _timer_specs(instance.process_spec_id, key)
            for task in _waiting_timers(session.workflow, names):
                old, new = task.internal_data.get("event_value"), _evaluate(session.workflow, task)
                if _same_instant(old, new):
                    continue
                out.append(Change("timer", instance.case_id, number, task.task_spec.bpmn_name or task.task_spec.name,
                                  old, new, instance_id=instance_id))
        except (ZhifaError, SpiffWorkflowException) as exc:
            # One case that cannot be recomputed (e.g. a year without calendar) is listed, not fatal.
            out.append(Change("error", instance.case_id, number, str(user_error(exc).message), None, None,
                              instance_id=instance_id))
    return out


def _rearm_timers(instance_id: int, key: str) -> None:
    instance = lock_instance(instance_id)
    session = open_session(instance, "reapply")
    for task in _waiting_timers(session.workflow, _timer_specs(instance.process_spec_id, key)):
        task.internal_data["event_value"] = _evaluate(session.workflow, task)
    save(session)


def _timer_specs(process_spec_id: int, key: str | re.Pattern[str]) -> set[str]:
    """Names of timer task specs whose expression calls ``deadline('<key>', ...)`` (or matches ``key``)."""
    pattern = key if isinstance(key, re.Pattern) else re.compile(r"deadline\(\s*['\"]" + re.escape(key) + r"['\"]")
    spec, subprocess_specs = load_specs(process_spec_id)
    names = set()
    for process in (spec, *subprocess_specs.values()):
        for ts in process.task_specs.values():
            event = getattr(ts, "event_definition", None)
            if isinstance(event, TimerEventDefinition) and pattern.search(event.expression or ""):
                names.add(ts.name)
    return names


def _waiting_timers(workflow: Any, names: set[str]) -> list[Any]:
    tasks = list(workflow.get_tasks(state=TaskState.WAITING))
    for sub in workflow.subprocesses.values():
        tasks += sub.get_tasks(state=TaskState.WAITING)
    return [t for t in tasks if t.task_spec.name in names]


def _evaluate(workflow: Any, task: Any) -> str:
    return str(workflow.script_engine.evaluate(task, task.task_spec.event_definition.expression))


def _same_instant(a: Any, b: Any) -> bool:
    try:
        return dt.datetime.fromisoformat(str(a)) == dt.datetime.fromisoformat(str(b))
    except ValueError:
        return a == b


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(clock.SHANGHAI).isoformat() if value else None
