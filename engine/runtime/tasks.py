"""Claim, unclaim, reassign and complete user tasks."""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select, update

from engine import clock
from engine.db.command import command
from engine.definitions.specs import deployment_of
from engine.documents import produce_document
from engine.documents.numbering import record_form_numbers
from engine.errors import Conflict, Forbidden, InvalidInput, InvalidState, NotFound
from engine.evidence.listing import attach_evidence_list
from engine.expressions import refuse_non_finite
from engine.forms.rules import check_case_rules
from engine.forms.schema import form_schema, validate_form_data
from engine.models import Notification, Task, User, db
from engine.policy.access import get_task, why_not_eligible
from engine.policy.officers import check_and_record
from engine.policy.permissions import require
from engine.record import audit
from engine.runtime.assignment import takes_over
from engine.runtime.instance import find_task, lock_instance, open_session, save
from engine.runtime.task_drafts import end_drafts

ALREADY_HANDLED = "该任务已被他人处理 (already handled: someone else completed this task)"


@command
def claim_task(actor: User, task_id: str) -> Task:
    task = _open_task(actor, task_id)
    if task.assignee_id == actor.id:
        return task
    reason = why_not_eligible(actor, task)
    if reason:
        raise Forbidden(f"不能认领该任务：{reason}", details={"reason": reason})
    # 接手: a designated co-handler takes over a handler step from the case's other designated handler.
    previous = task.assignee if task.assignee_id is not None and takes_over(actor, task) else None
    held = Task.assignee_id.is_(None) if previous is None else Task.assignee_id == previous.id
    # Compare-and-set: of two officers claiming at once exactly one row update succeeds.
    result = db.session.execute(
        update(Task).where(Task.id == task.id, Task.status == "open", held)
        .values(assignee_id=actor.id).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict("该任务已被他人认领 (already claimed by someone else)")
    audit.record("task.claimed", actor.username, {"task": task.name, **({"from": previous.username} if previous else {})},
                 case_id=task.case_id, instance_id=task.instance_id, task_id=task.id)
    if previous is not None:
        db.session.add(Notification(user_id=previous.id, kind="taken_over", task_id=task.id, case_id=task.case_id,
                                    message=f"任务“{task.name}”（{task.case.case_number}）已由协办承办人 "
                                            f"{actor.display_name or actor.username} 接手办理", created_at=clock.now()))
    db.session.refresh(task)
    return task


@command
def unclaim_task(actor: User, task_id: str) -> Task:
    task = _open_task(actor, task_id)
    if task.assignee_id is None:
        return task
    if task.assignee_id != actor.id:
        require(actor, "task.release_others", task=task)
    previous = task.assignee.username if task.assignee else None
    _set_assignee(task, None)
    audit.record("task.unclaimed", actor.username, {"task": task.name, "previous": previous},
                 case_id=task.case_id, instance_id=task.instance_id, task_id=task.id)
    return task


@command
def reassign_task(actor: User, task_id: str, to_username: str) -> Task:
    """A unit head hands a task to an eligible officer of the unit."""
    task = _open_task(actor, task_id)
    require(actor, "task.reassign", task=task)
    target = db.session.scalars(select(User).where(User.username == to_username)).first()
    if target is None or target.unit_id != task.unit_id:
        raise NotFound("该人员不存在或不属于本单位 (officer not found in this unit)")
    reason = why_not_eligible(target, task)
    if reason:
        raise InvalidInput(f"{target.display_name or target.username} 不能办理该任务：{reason}", details={"reason": reason})
    previous = task.assignee.username if task.assignee else None
    _set_assignee(task, target.id)
    audit.record("task.reassigned", actor.username, {"task": task.name, "from": previous, "to": target.username},
                 case_id=task.case_id, instance_id=task.instance_id, task_id=task.id)
    db.session.add(Notification(user_id=target.id, kind="assigned", task_id=task.id, case_id=task.case_id,
                                message=f"新任务：{task.name}（{task.case.case_number}）", created_at=clock.now()))
    return task


@command
def complete_task(actor: User, task_id: str, data: dict[str, Any], version: int | None = None) -> Task:
    """Validate the form, run the task, advance the process, all or nothing.

    The instance row is locked before the task's status is re-read, so of many concurrent
    completions exactly one runs and the others get "already handled".
    """
    task = get_task(actor, task_id)
    instance = lock_instance(task.instance_id)
    db.session.refresh(task, ["status", "assignee_id"])  # what another command may have changed meanwhile
    if task.status != "open":
        raise Conflict(ALREADY_HANDLED)
    if instance.status != "running":
        raise InvalidState("案件已中止或结束，不能办理任务 (the case is suspended or has ended)")
    if task.assignee_id not in (None, actor.id):
        raise Conflict("该任务已由他人认领 (the task is claimed by someone else)")
    reason = why_not_eligible(actor, task)
    if reason:
        raise Forbidden(f"不能办理该任务：{reason}", details={"reason": reason})
    refuse_non_finite(data)  # NaN passes "minimum"/"maximum" and would be emitted as invalid JSON
    if task.form:
        schema = form_schema(deployment_of(instance.process_spec_id), task.form)
        data = validate_form_data(schema, data)
        check_case_rules(task.case, schema, data)  # bounds that depend on the party or a time limit
        check_and_record(task, schema, data, actor)  # officers named with the performer (法 Art. 42)
        record_form_numbers(actor, task, schema, data)  # 号段: a pre-numbered form is spent once
    session = open_session(instance, actor.username, version)
    spiff_task = find_task(session.workflow, task.id)
    if spiff_task is None or spiff_task.state != TaskState.READY or not spiff_task.task_spec.manual:
        # SpiffWorkflow's Task.run() would "complete" a task in any state: never let it.
        raise Conflict(ALREADY_HANDLED)
    now = clock.now()
    spiff_task.data.update(data)
    spiff_task.run()
    session.workflow.do_engine_steps()
    task.status = "completed"
    task.assignee = actor
    task.completed_by = actor.id
    task.completed_at = now
    end_drafts(task)  # 暂存: work in progress ends with the task
    audit.record("task.completed", actor.username, {"task": task.name, "bpmn_id": task.bpmn_id, "data": data},
                 case_id=task.case_id, instance_id=instance.id, task_id=task.id)
    document = produce_document(actor, task, instance, spiff_task, data)  # the task's 执法文书, numbered in this transaction
    attach_evidence_list(actor, task, instance, spiff_task, document)  # 证据清单 where the spec asks for it (issue 16)
    save(session)
    return task


def _set_assignee(task: Task, user_id: int | None) -> None:
    """Change the assignee only if the task is still open and still held by whom we read: a claim,
    a completion or another reassignment that got there first wins, and this one is refused."""
    seen = task.assignee_id
    held = Task.assignee_id.is_(None) if seen is None else Task.assignee_id == seen
    result = db.session.execute(
        update(Task).where(Task.id == task.id, Task.status == "open", held)
        .values(assignee_id=user_id).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict("该任务刚被他人处理或改派，请刷新 (the task changed meanwhile; reload it)")
    db.session.refresh(task)


def _open_task(actor: User, task_id: str) -> Task:
    task = get_task(actor, task_id)
    if task.status != "open":
        raise Conflict(ALREADY_HANDLED)
    return task
