"""Inbox queries over the task projection (indexed; no workflow is deserialized)."""

from __future__ import annotations

from sqlalchemy import Select, or_
from sqlalchemy.orm import defaultload

from engine.errors import InvalidInput
from engine.models import Case, Task, User
from engine.policy.access import tasks_in_scope

SCOPES = ("mine", "available", "done", "unit", "all")
SORTS = {
    "due_at": (Task.due_at.asc().nulls_last(), Task.created_at.asc()),
    "-due_at": (Task.due_at.desc().nulls_last(), Task.created_at.desc()),
    "created_at": (Task.created_at.asc(),),
    "-created_at": (Task.created_at.desc(),),
}


def task_query(user: User, scope: str, procedure: str | None = None, q: str | None = None,
               sort: str = "due_at") -> Select[tuple[Task]]:
    """我的待办 / 可认领 / 已办 / 本单位 (unit heads) / all visible."""
    query = tasks_in_scope(user)
    if scope == "mine":
        query = query.where(Task.assignee_id == user.id, Task.status == "open")
    elif scope == "available":
        query = query.where(Task.unit_id == user.unit_id, Task.status == "open", Task.assignee_id.is_(None),
                            Task.role.in_(sorted(user.role_names)))
    elif scope == "done":
        query = query.where(Task.completed_by == user.id, Task.status == "completed")
    elif scope in ("unit", "all"):
        query = query.where(Task.status == "open")
    else:
        raise InvalidInput(f"未知的范围 '{scope}' (scope must be one of {', '.join(SCOPES)})")
    if procedure or q:
        query = query.join(Case, Case.id == Task.case_id)
        if procedure:
            query = query.where(Case.procedure == procedure)
        if q:
            like = f"%{q}%"
            query = query.where(or_(Case.case_number.like(like), Case.party_name.like(like)))
    if sort not in SORTS:
        raise InvalidInput(f"未知的排序 '{sort}' (sort must be one of {', '.join(SORTS)})")
    # A list shows who holds each task, not their roles and credentials: two queries less per page.
    query = query.options(*(defaultload(Task.assignee).lazyload(rel) for rel in (User.roles, User.credentials)))
    if scope == "done":
        return query.order_by(Task.completed_at.desc())
    return query.order_by(*SORTS[sort])
