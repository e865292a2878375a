"""Tasks: inbox scopes, a task with its form, claim / unclaim / reassign / complete."""

from __future__ import annotations

import json
from typing import Any

from flask import request
from sqlalchemy import func, select

from engine.definitions.specs import deployment_of
from engine.errors import InvalidInput
from engine.forms.schema import form_schema
from engine.models import ProcessInstance, Task, db
from engine.policy.access import eligibility, get_task, why_not_eligible
from engine.queries.inbox import task_query
from engine.runtime import claim_task, complete_task, reassign_task, unclaim_task
from engine.runtime.instance import find_task, open_session

from . import bp, current, json_body, page_args
from .present import case_summary, start_of_period, task_summary


@bp.get("/tasks")
def list_tasks() -> dict[str, Any]:
    scope = request.args.get("scope", "mine")
    page, per_page = page_args()
    user = current()
    query = task_query(user, scope, procedure=request.args.get("procedure"), q=request.args.get("q"),
                       sort=request.args.get("sort", "due_at"))
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = list(db.session.scalars(query.offset((page - 1) * per_page).limit(per_page)))
    if scope == "available":  # not offered: credentials, designation, recusal, separation of duty
        reasons = eligibility(rows, [user])  # a few queries for the page, not per row
        rows = [t for t in rows if reasons[(t.id, user.id)] is None]
    items = [task_summary(t) for t in rows]
    return {"scope": scope, "items": items, "page": page, "per_page": per_page, "total": total}


@bp.get("/tasks/<task_id>")
def read_task(task_id: str) -> dict[str, Any]:
    user = current()
    task = get_task(user, task_id)
    instance = db.session.get(ProcessInstance, task.instance_id)
    assert instance is not None
    deployment_id = deployment_of(instance.process_spec_id)
    data: dict[str, Any] = {}
    instructions = None
    if task.status == "open":
        session = open_session(instance, user.username)
        spiff_task = find_task(session.workflow, task.id)
        if spiff_task is not None:
            data = _json_data(spiff_task.data)
            instructions = spiff_task.task_spec.extensions.get("instructionsForEndUser")
        db.session.rollback()  # reading never changes the instance
    reason = why_not_eligible(user, task)
    return {
        **task_summary(task),
        "version": instance.version,
        "counts_from": start_of_period(task, deployment_id),
        "form_schema": form_schema(deployment_id, task.form) if task.form else None,
        "data": data,
        "instructions": instructions,
        "can_complete": task.status == "open" and reason is None and task.assignee_id in (None, user.id),
        "not_eligible_reason": reason,
    }


@bp.post("/tasks/<task_id>/claim")
def claim(task_id: str) -> dict[str, Any]:
    return task_summary(claim_task(current(), task_id))


@bp.post("/tasks/<task_id>/unclaim")
def unclaim(task_id: str) -> dict[str, Any]:
    return task_summary(unclaim_task(current(), task_id))


@bp.post("/tasks/<task_id>/reassign")
def reassign(task_id: str) -> dict[str, Any]:
    body = json_body()
    to = body.get("to")
    if not isinstance(to, str) or not to:
        raise InvalidInput("请指定改派对象 (field 'to' is required)")
    return task_summary(reassign_task(current(), task_id, to))


@bp.post("/tasks/<task_id>/complete")
def complete(task_id: str) -> dict[str, Any]:
    body = json_body()
    data = body.get("data", {})
    version = body.get("version")
    if version is not None and not isinstance(version, int):
        raise InvalidInput("version 必须是整数 (version must be an integer)")
    task = complete_task(current(), task_id, data, version)
    # The case as it is now and what comes next; the full record stays at GET /cases/<id> (reading the
    # whole history back on every completion would cost more than the completion).
    open_tasks = db.session.scalars(select(Task).where(Task.case_id == task.case_id, Task.status == "open")
                                    .order_by(Task.created_at))
    return {"task": task_summary(task), "case": case_summary(task.case), "next_tasks": [task_summary(t) for t in open_tasks]}


def _json_data(data: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(data, default=str))


