"""Load a process instance under lock, act on its workflow, and write it back with its projection.

Every command follows ARCHITECTURE.md's rule: lock or version-check the instance, deserialize, act,
``do_engine_steps``, serialize, update the task projection and ``next_timer_at``, append audit
events, commit — all in one transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, insert, select

from engine import clock
from engine.db.writebehind import defer
from engine.deadlines import reference
from engine.deadlines.limits import CASE_CLOCK, Deadlines, start_point
from engine.definitions.serialization import STATE_FORMAT, dump_state, load_state
from engine.definitions.specs import load_specs
from engine.errors import Conflict, NotFound
from engine.expressions import make_script_engine
from engine.forms.schema import SYSTEM_KEYS
from engine.models import Case, ProcessInstance, Task, db
from engine.record import audit
from engine.runtime.assignment import route_new_tasks
from engine.runtime.case_clock import ClockRecorder, apply_events
from engine.runtime.execution import SCRIPT_FUNCTIONS
from engine.runtime.returns import Return, record_return, take_returns, void_refused
from engine.runtime.task_drafts import end_drafts

clock.install_spiff_clock()


@dataclass
class Session:
    """One command's view of one instance: its row, its workflow and its deadline arithmetic."""

    instance: ProcessInstance
    workflow: BpmnWorkflow
    deadlines: Deadlines
    actor: str
    clock: ClockRecorder = field(default_factory=ClockRecorder)
    new: bool = False  # the instance was created in this transaction: it has no projected tasks yet


def new_workflow(process_spec_id: int, deadlines: Deadlines, recorder: ClockRecorder,
                 case_values: Callable[[], Mapping[str, Any]] | None = None) -> BpmnWorkflow:
    spec, subprocess_specs = load_specs(process_spec_id)
    workflow = BpmnWorkflow(spec, subprocess_specs)
    workflow.script_engine = script_engine(deadlines, recorder, case_values)
    return workflow


def script_engine(deadlines: Deadlines, recorder: ClockRecorder,
                  case_values: Callable[[], Mapping[str, Any]] | None = None) -> Any:
    """The restricted engine with zhifa's helpers; set again after every deserialize.

    ``case_values`` gives the data the engine sets from the case row (:func:`system_values`): a
    script that rebinds one of them gets the true value put back (the lint refuses such scripts;
    this is the second line of defence, read only when such a script runs)."""
    return make_script_engine({"deadline": deadlines.deadline_iso, "case_clock": recorder, **SCRIPT_FUNCTIONS},
                              protected=SYSTEM_KEYS, protected_values=case_values)


def system_values(case: Case) -> dict[str, Any]:
    """The task data every case starts with, as the case row says (engine/runtime/cases.py sets it)."""
    return {
        "case_number": case.case_number,
        "party_type": case.party_type,
        "party_name": case.party_name,
        "unit_code": case.unit.code,
        "opened_on": case.opened_at.astimezone(clock.SHANGHAI).date().isoformat(),
    }


# The reference-data revision rides along: every command that locks an instance reads it next.
_LOCK = (select(ProcessInstance, reference.REVISION.scalar_subquery()).where(ProcessInstance.id == bindparam("b_id"))
         .with_for_update(of=ProcessInstance).execution_options(populate_existing=True))


def lock_instance(instance_id: int) -> ProcessInstance:
    """Row-lock the instance (PostgreSQL FOR UPDATE; SQLite holds the database write lock)."""
    row = db.session.execute(_LOCK, {"b_id": instance_id}).first()
    if row is None:
        raise NotFound("流程实例不存在 (process instance not found)")
    instance, revision = row
    reference.seen_revision(int(revision or 0))
    return instance


def open_session(instance: ProcessInstance, actor: str, version: int | None = None) -> Session:
    if version is not None and version != instance.version:
        raise Conflict(
            "该任务已被他人处理，请刷新后查看最新状态 (already handled: the case changed since you opened it)",
            details={"expected_version": version, "current_version": instance.version},
        )
    deadlines, recorder = Deadlines(), ClockRecorder()
    workflow = load_state(instance.state, load_specs(instance.process_spec_id))
    workflow.script_engine = script_engine(deadlines, recorder, lambda: system_values(instance.case))
    return Session(instance, workflow, deadlines, actor, recorder)


def find_task(workflow: BpmnWorkflow, task_id: str) -> SpiffTask | None:
    try:
        return workflow.get_task_from_id(UUID(task_id))
    except (ValueError, KeyError):
        return None


def ready_user_tasks(workflow: BpmnWorkflow) -> list[SpiffTask]:
    """READY manual tasks of the workflow and of every running call activity / subprocess."""
    return [t for t in _all_tasks(workflow) if t.state == TaskState.READY and t.task_spec.manual]


def next_timer(workflow: BpmnWorkflow) -> dt.datetime | None:
    """Earliest pending timer, from the due values SpiffWorkflow stored when the timer started."""
    due = pending_timers(workflow)
    return min(due) if due else None


def pending_timers(workflow: BpmnWorkflow) -> list[dt.datetime]:
    due: list[dt.datetime] = []
    for task in _all_tasks(workflow):
        if task.state == TaskState.WAITING:
            due += _timer_values(task)
    return due


def timers_provisional(due: list[dt.datetime], deadlines: Deadlines) -> bool:
    """A waiting timer ends in a year without a holiday notice: its date is 暂定 (re-armed on entry)."""
    calendar = deadlines.calendar
    return any(not calendar.covers((d - dt.timedelta(microseconds=1)).astimezone(clock.SHANGHAI).year) for d in due)


def _all_tasks(workflow: BpmnWorkflow) -> Iterator[SpiffTask]:
    # The flat task dicts, not TaskIterator: a tree walk with filters costs several times more.
    yield from workflow.tasks.values()
    for sub in workflow.subprocesses.values():
        yield from sub.tasks.values()


def _timer_values(task: SpiffTask) -> list[dt.datetime]:
    event_def = getattr(task.task_spec, "event_definition", None)
    if event_def is None:
        return []
    value = task.internal_data.get("event_value")
    defs = [event_def, *getattr(event_def, "event_definitions", [])]
    if not any(isinstance(d, TimerEventDefinition) for d in defs) or value is None:
        return []
    values = value if isinstance(value, list) else [value]
    out = []
    for v in values:
        try:
            out.append(TimerEventDefinition.get_datetime(v) if isinstance(v, str) else v)
        except (TypeError, ValueError):
            continue
    return [v.astimezone(dt.UTC) for v in out if isinstance(v, dt.datetime)]


def save(session: Session, state: str | None = None) -> None:
    """Serialize (unless ``state`` is the workflow's current dump), sync the projection and timers."""
    instance, workflow = session.instance, session.workflow
    now = clock.now()
    if session.clock.events:
        apply_events(instance.case, session.clock.events, session.deadlines, session.actor)
        session.clock.events.clear()
    ready = ready_user_tasks(workflow)
    # Before serializing: a return's variables leave the data, or every later step would inherit them.
    returns = take_returns(ready)
    state = state if state is not None and not returns else dump_state(workflow)
    due = pending_timers(workflow)
    # Assign only what changed: an untouched row costs no flush work, no UPDATE and no version bump.
    for attr, value in (("state", state), ("state_format", STATE_FORMAT), ("next_timer_at", min(due) if due else None),
                        ("timers_provisional", timers_provisional(due, session.deadlines))):
        if getattr(instance, attr) != value:
            setattr(instance, attr, value)
    if workflow.is_completed() and instance.status == "running":
        instance.status = "completed"
        instance.ended_at = now
        instance.next_timer_at = None
        case = instance.case
        if case.status == "open":
            case.status = "closed"
            case.closed_at = now
        audit.record("case.closed", session.actor, {"process": instance.process_id}, case_id=case.id,
                     instance_id=instance.id)
    sync_tasks(session, now, ready, returns)


_T = Task.__table__.c
# By case first: the (case_id, bpmn_id) index finds a case's few rows without an index of its own.
_KNOWN_TASKS = select(_T.id, _T.status).where(_T.case_id == bindparam("b_case"), _T.instance_id == bindparam("b_instance"))
_INSERT_TASK = insert(Task.__table__).inline()


def sync_tasks(session: Session, now: dt.datetime, ready_tasks: list[SpiffTask] | None = None,
               returns: dict[str, Return] | None = None) -> None:
    instance, case = session.instance, session.instance.case
    if db.session.new or db.session.dirty:
        db.session.flush()  # the Core reads below must see this command's own ORM changes (a completed task)
    conn = db.session.connection()
    known = {} if session.new else {
        tid: status for tid, status in conn.execute(_KNOWN_TASKS, {"b_case": instance.case_id, "b_instance": instance.id})
    }
    ready = {str(t.id): t for t in (ready_user_tasks(session.workflow) if ready_tasks is None else ready_tasks)}
    returns = returns or {}
    new_rows: list[dict[str, Any]] = []
    withdrawn = [task_id for task_id, status in known.items() if status == "open" and task_id not in ready]
    # Withdrawn by the process itself (a boundary timer fired, the case was cancelled).
    for row in db.session.scalars(select(Task).where(Task.id.in_(withdrawn))) if withdrawn else ():
        row.status = "cancelled"
        row.completed_at = now
        end_drafts(row)
        audit.record("task.cancelled", session.actor, {"task": row.name, "bpmn_id": row.bpmn_id},
                     case_id=case.id, instance_id=instance.id, task_id=row.id)
    for task_id, task in ready.items():
        if task_id in known:
            continue  # already projected (open, or completed under this id: never reopened)
        row = _projection_row(session, task, case, now)
        new_rows.append(row)
        audit.record("task.created", session.actor,
                     {"task": row["name"], "bpmn_id": row["bpmn_id"], "role": row["role"],
                      "due_at": row["due_at"].isoformat() if row["due_at"] else None},
                     case_id=case.id, instance_id=instance.id, task_id=row["id"])
        if task_id in returns:
            record_return(row, returns[task_id], session.actor, case.id, instance.id)
    if returns:
        void_refused(returns, session.actor, case, instance.id, session.deadlines)
    route_new_tasks(new_rows, case, session.actor, now, new_case=session.new)  # handler steps to the 主办; the pool told
    if new_rows:
        # Plain rows in one statement, without ORM bookkeeping, sent with the commit (a later read
        # in this transaction writes them first).
        defer(_INSERT_TASK, new_rows)


def _projection_row(session: Session, task: SpiffTask, case: Case, now: dt.datetime) -> dict[str, Any]:
    spec = task.task_spec
    props: dict[str, str] = (getattr(spec, "extensions", {}) or {}).get("properties", {}) or {}
    key = props.get("time_limit")
    due_at = warn_at = None
    provisional = False
    point = start_point(props, task.data, now)
    if point.field == CASE_CLOCK and case.clock_deadline is not None:
        # The decision is due when the case clock runs out (法 Art. 60); it follows the clock.
        due_at, provisional = case.clock_deadline, case.clock_provisional
    elif key:
        due_at, warn_at = session.deadlines.task_due(key, point.start, point.extension)
        provisional = session.deadlines.calendar.is_provisional(point.start, due_at)
    return dict(
        assignee_id=None,
        completed_by=None,
        completed_at=None,
        id=str(task.id),
        instance_id=session.instance.id,
        case_id=case.id,
        process_id=task.workflow.spec.name,
        bpmn_id=getattr(spec, "bpmn_id", None) or spec.name,
        name=getattr(spec, "bpmn_name", None) or spec.name,
        role=spec.lane or "",
        unit_id=case.unit_id,
        form=props.get("form"),
        requires_credential=props.get("requires_credential"),
        separate_from=props.get("separate_from"),
        time_limit=key,
        created_at=now,
        due_at=due_at,
        warn_at=warn_at,
        due_provisional=provisional,
        counts_from=point.field,
        counts_from_label=(props.get("counts_from_label") or None) if point.field not in (None, CASE_CLOCK) else None,
        starts_on=_local_date(point.start) if point.field not in (None, CASE_CLOCK) else None,
        extended_by=point.extension,
        deadline_state="normal",
        returned_because=None,
        status="open",
    )


def _local_date(value: dt.date | dt.datetime) -> dt.date:
    return value.astimezone(clock.SHANGHAI).date() if isinstance(value, dt.datetime) else value
