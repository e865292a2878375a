"""What a finished step recorded: the data entered, who entered it and when, the documents it issued.

Read from the case's audit chain (the ``task.completed`` event holds the submitted form data as it
was accepted, 全过程记录) rather than from the workflow, whose data later steps overwrite.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from engine.models import AuditEvent, Comment, Document, Task, TaskDraft, User, db


@dataclass
class TaskRecord:
    data: dict[str, Any]
    by: User | None
    at: dt.datetime | None
    documents: list[Document] = field(default_factory=list)


def completed_record(task: Task) -> TaskRecord | None:
    """The record of a completed task (None while it is open, or for a step withdrawn by the process)."""
    if task.status != "completed":
        return None
    event = db.session.scalars(select(AuditEvent).where(
        AuditEvent.chain == f"case:{task.case_id}", AuditEvent.task_id == task.id, AuditEvent.action == "task.completed")
        .order_by(AuditEvent.seq.desc())).first()
    data = (event.data or {}).get("data") if event is not None and isinstance(event.data, dict) else None
    by = db.session.get(User, task.completed_by) if task.completed_by else None
    documents = list(db.session.scalars(select(Document).where(Document.task_id == task.id).order_by(Document.id)))
    return TaskRecord(data if isinstance(data, dict) else {}, by, task.completed_at, documents)


def task_comments(task: Task) -> list[Comment]:
    return list(db.session.scalars(select(Comment).where(Comment.case_id == task.case_id, Comment.task_id == task.id)
                                   .order_by(Comment.created_at, Comment.id)))


def draft_of(task: Task, user: User) -> TaskDraft | None:
    return db.session.get(TaskDraft, (task.id, user.id))
