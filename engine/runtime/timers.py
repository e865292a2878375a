"""The scheduler's sweep: fire due BPMN timers, mark near-due and overdue tasks.

Only due rows are read (indexed ``next_timer_at``, ``warn_at``, ``due_at``), so a sweep costs the
same with a thousand or a hundred thousand waiting cases. On PostgreSQL each due instance is taken
with ``FOR UPDATE SKIP LOCKED``: any number of workers share the work and no timer fires twice.
A failing instance records its error (an incident) and the sweep goes on.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError

from engine import clock
from engine.db.command import command, unit_of_work
from engine.db.session import writing
from engine.models import Case, Notification, ProcessInstance, Role, Task, User, db
from engine.policy.actor import Actor, as_actor
from engine.policy.permissions import HEADS, UNIT_HEAD, require
from engine.publication.publish import PublicationSweep, sweep_publications
from engine.record import audit
from engine.runtime.instance import open_session, save

log = logging.getLogger(__name__)
SYSTEM_ACTOR = "system"


@dataclass
class SweepResult:
    fired: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    near_due: int = 0
    overdue: int = 0
    clocks_overdue: int = 0
    publications: PublicationSweep = field(default_factory=PublicationSweep)


def fire_due_timers(now: dt.datetime | None = None, batch: int = 100) -> SweepResult:
    """Fire every timer due by ``now``; each instance is its own unit of work (one broken case never
    undoes another's firing)."""
    with writing():  # whatever the sweep leaves open (a read that found nothing due) ends with it
        return _sweep(now or clock.now(), batch)


def _sweep(now: dt.datetime, batch: int) -> SweepResult:
    result = SweepResult()
    skip: set[int] = set()
    while len(skip) < batch:
        instance_id: int | None = None
        try:
            with unit_of_work():
                instance = _take_due_instance(now, skip)
                if instance is None:
                    break
                instance_id = instance.id
                _fire(instance, now)
            result.fired.append(instance_id)
        except DBAPIError as exc:
            if instance_id is None:
                raise
            # A lock timeout or deadlock is the database's, not the case's: try again next sweep.
            log.warning("timer sweep: database error on instance %s, retried next sweep: %s", instance_id, exc)
            result.failed[instance_id] = f"retry: {type(exc).__name__}"
        except Exception as exc:  # noqa: BLE001 - one broken case must never stop the sweep
            if instance_id is None:
                raise
            _record_incident(instance_id, exc)
            result.failed[instance_id] = str(exc)
        skip.add(instance_id)
    mark_deadlines(now, result)
    result.publications = sweep_publications(now)
    return result


def mark_deadlines(now: dt.datetime, result: SweepResult | None = None) -> SweepResult:
    """临期 / 超期: flip deadline states of open tasks and notify assignee and unit head once.

    Each task (and each case clock) is its own unit of work, taken with SKIP LOCKED: a task another
    worker is marking, or a case a command holds, is left to that worker or to the next sweep."""
    with writing():
        return _mark_all(now, result or SweepResult())


def _mark_all(now: dt.datetime, result: SweepResult) -> SweepResult:
    for state, column, label in (("overdue", Task.due_at, "已超期"), ("near", Task.warn_at, "即将到期")):
        due = (Task.status == "open", column <= now,
               Task.deadline_state.in_(("normal",) if state == "near" else ("normal", "near")))
        marked = 0
        for task_id in list(db.session.scalars(select(Task.id).where(*due).limit(1000))):
            with unit_of_work():
                task = db.session.scalars(select(Task).where(Task.id == task_id, *due).with_for_update(skip_locked=True, of=Task)
                                          .execution_options(populate_existing=True)).first()
                if task is None:
                    continue
                _mark(task, state, label, now)
                marked += 1
        if state == "overdue":
            result.overdue += marked
        else:
            result.near_due += marked
    result.clocks_overdue = _mark_case_clocks(now)
    return result


def _mark(task: Task, state: str, label: str, now: dt.datetime) -> None:
    task.deadline_state = state
    for user_id in _notify_targets(task):
        db.session.add(Notification(user_id=user_id, kind=state, task_id=task.id, case_id=task.case_id,
                                    message=f"任务{label}：{task.name}（{task.case.case_number}）", created_at=now))
    audit.record(f"task.{state}", SYSTEM_ACTOR, {"task": task.name, "due_at": task.due_at.isoformat() if task.due_at else None},
                 case_id=task.case_id, instance_id=task.instance_id, task_id=task.id)


def _mark_case_clocks(now: dt.datetime) -> int:
    """办案期限届满: flag running case clocks past their deadline once, and tell the unit and agency heads."""
    due = (Case.status == "open", Case.clock_state == "running", Case.clock_deadline <= now)
    marked = 0
    for case_id in list(db.session.scalars(select(Case.id).where(*due).limit(1000))):
        with unit_of_work():
            case = db.session.scalars(select(Case).where(Case.id == case_id, *due).with_for_update(skip_locked=True, of=Case)
                                      .execution_options(populate_existing=True)).first()
            if case is None:
                continue
            case.clock_state = "overdue"
            heads = db.session.scalars(select(User.id).where(
                User.unit_id == case.unit_id, User.active.is_(True), User.roles.any(Role.name.in_(HEADS))
            ))
            for user_id in heads:
                db.session.add(Notification(user_id=user_id, kind="clock_overdue", case_id=case.id,
                                            message=f"办案期限已届满：{case.case_number}", created_at=now))
            audit.record("case.clock_overdue", SYSTEM_ACTOR,
                         {"deadline": case.clock_deadline.isoformat() if case.clock_deadline else None}, case_id=case.id)
            marked += 1
    return marked


def _take_due_instance(now: dt.datetime, skip: set[int]) -> ProcessInstance | None:
    query = (
        select(ProcessInstance)
        .where(ProcessInstance.status == "running", ProcessInstance.error.is_(None),
               ProcessInstance.next_timer_at <= now)
        .order_by(ProcessInstance.next_timer_at)
        .limit(1)
        .with_for_update(skip_locked=True, of=ProcessInstance)
        .execution_options(populate_existing=True)
    )
    if skip:
        query = query.where(ProcessInstance.id.not_in(skip))
    return db.session.scalars(query).first()


def _fire(instance: ProcessInstance, now: dt.datetime) -> None:  # noqa: ARG001
    session = open_session(instance, SYSTEM_ACTOR)
    before = instance.next_timer_at
    session.workflow.refresh_timers()
    session.workflow.do_engine_steps()
    audit.record("timer.fired", SYSTEM_ACTOR, {"due_at": before.isoformat() if before else None},
                 case_id=instance.case_id, instance_id=instance.id)
    save(session)


def _record_incident(instance_id: int, exc: Exception) -> None:
    log.exception("timer failed for instance %s", instance_id)
    with unit_of_work():
        instance = db.session.get(ProcessInstance, instance_id)
        if instance is None:
            return
        db.session.execute(
            update(ProcessInstance).where(ProcessInstance.id == instance_id)
            .values(error=f"{type(exc).__name__}: {exc}"[:2000]).execution_options(synchronize_session=False)
        )
        audit.record("incident.opened", SYSTEM_ACTOR, {"error": f"{type(exc).__name__}: {exc}"[:500]},
                     case_id=instance.case_id, instance_id=instance_id)


def _notify_targets(task: Task) -> set[int]:
    targets = {task.assignee_id} if task.assignee_id else set()
    heads = db.session.scalars(
        select(User.id).where(User.unit_id == task.unit_id, User.active.is_(True), User.roles.any(Role.name == UNIT_HEAD))
    )
    targets.update(heads)
    return {t for t in targets if t is not None}


@command
def retry_instance(actor: Actor | str, instance_id: int) -> None:
    """Clear an incident so the next sweep tries the instance again (``actor``: an administrator, or
    the name of a script acting as the platform)."""
    actor = as_actor(actor)
    require(actor, "incident.retry")
    instance = db.session.get(ProcessInstance, instance_id)
    if instance is None or instance.error is None:
        return
    audit.record("incident.retried", actor.username, {"error": instance.error}, case_id=instance.case_id,
                 instance_id=instance.id)
    instance.error = None
