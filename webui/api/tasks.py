"""Tasks: inbox scopes, a task with its form, claim / unclaim / reassign / complete."""

from __future__ import annotations

from typing import Any

from flask import request
from sqlalchemy import select

from engine.errors import InvalidInput
from engine.models import Task, db
from engine.queries.inbox import task_page
from engine.queries.task_detail import resolved_schema, task_detail
from engine.runtime import claim_task, complete_task, reassign_task, unclaim_task

from . import bp, current, json_body, page_args
from .present import case_summary, iso, officer_summary, task_summary


@bp.get("/tasks")
def list_tasks() -> dict[str, Any]:
    scope = request.args.get("scope", "mine")
    page, per_page = page_args()
    user = current()
    # available: only what the user may take (credentials, designation, recusal, separation of duty),
    # decided before paging, as the inbox page does (engine/queries/inbox.py).
    listing = task_page(user, scope, procedure=request.args.get("procedure"), q=request.args.get("q"),
                        sort=request.args.get("sort", "due_at"), page=page, per_page=per_page)
    items = [task_summary(t) for t in listing.items]
    return {"scope": scope, "items": items, "page": page, "per_page": per_page, "total": listing.total,
            "has_next": listing.has_next}


@bp.get("/tasks/<task_id>")
def read_task(task_id: str) -> dict[str, Any]:
    """The task with its form (officers' fields resolved to whom they may name), data and what the
    user may do; ``eligible_officers`` says who may take it, so a client can hand the step on."""
    detail = task_detail(current(), task_id, with_eligible=True)  # the same view the task page renders
    task = detail.task
    return {
        **task_summary(task),
        "version": detail.version,
        "counts_from": detail.counts_from,
        # An open task's officers' fields name whom they may (a done task keeps the form as designed).
        "form_schema": detail.schema if detail.schema is None or task.status != "open"
        else resolved_schema(detail.schema, detail.officer_choices),
        "data": detail.data,
        "instructions": detail.instructions,
        "can_complete": detail.can_complete,
        "not_eligible_reason": detail.reason,
        "actions": detail.actions,
        "eligible_officers": [officer_summary(u) for u in detail.eligible],
        "documents": [document_summary(d) for d in detail.documents],
        # A completed task: the data as it was entered, by whom and when (the page shows the same record).
        "record": {"data": detail.record.data, "by": detail.record.by.username if detail.record.by else None,
                   "at": iso(detail.record.at)} if detail.record else None,
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


def document_summary(document: Any) -> dict[str, Any]:
    from ..documents import document_summary as summary  # webui.documents adds its routes to this blueprint

    return summary(document)
