"""暂存: an officer saves a task's form half-filled and finds it again when reopening the task.

Kept per officer and task (a co-handler never sees the other's unfinished text) and removed when the
task is completed or withdrawn. A draft is not part of the record and is not validated: it holds
what was typed, as typed, so that nothing is lost; only submitting checks it (complete_task).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import bindparam, delete, select

from engine import clock
from engine.db.command import command
from engine.db.writebehind import defer
from engine.errors import Conflict, InvalidInput
from engine.models import Task, TaskDraft, User, db
from engine.policy.access import get_task

MAX_DRAFT_BYTES = 256 * 1024  # far above any form; bounds what one officer can park in the database


@command
def save_draft(actor: User, task_id: str, data: dict[str, Any]) -> TaskDraft:
    task = get_task(actor, task_id)
    if task.status != "open":
        raise Conflict("该任务已办结或已撤销，不能再暂存 (the task is no longer open)")
    if not isinstance(data, dict):
        raise InvalidInput("暂存的内容须为表单字段 (a draft is an object of form fields)")
    try:
        size = len(json.dumps(data, ensure_ascii=False, allow_nan=False).encode())
    except (TypeError, ValueError) as exc:
        raise InvalidInput("暂存的内容无法保存：请检查填写的内容 (the draft is not plain JSON)") from exc
    if size > MAX_DRAFT_BYTES:
        raise InvalidInput(f"暂存内容过大（{size // 1024} KB，上限 {MAX_DRAFT_BYTES // 1024} KB）：请精简后再暂存 (draft too large)")
    task.has_draft = True  # the task's end then deletes the drafts (end_drafts)
    draft = db.session.get(TaskDraft, (task.id, actor.id))
    if draft is None:
        draft = TaskDraft(task_id=task.id, user_id=actor.id, data=data, saved_at=clock.now())
        db.session.add(draft)
    else:
        draft.data, draft.saved_at = data, clock.now()
    return draft


def load_draft(actor: User, task_id: str) -> TaskDraft | None:
    return db.session.scalars(select(TaskDraft).where(TaskDraft.task_id == task_id, TaskDraft.user_id == actor.id)).first()


@command
def discard_draft(actor: User, task_id: str) -> None:
    get_task(actor, task_id)
    clear_drafts(task_id, actor.id)


def end_drafts(task: Task) -> None:
    """Inside the caller's transaction: a completed or withdrawn task's drafts (every officer's) go with it.

    Only a task marked ``has_draft`` sends the DELETE; it is queued with the commit (write-behind):
    nobody inspects what it deletes, and a synchronous statement here would also push the
    completion's own writes out early, one round trip each."""
    if task.has_draft:
        defer(_CLEAR_ALL, {"task": task.id})


def clear_drafts(task_id: str, user_id: int) -> None:
    """One officer's draft, with the commit (as ``end_drafts``)."""
    defer(_CLEAR_ONE, {"task": task_id, "user": user_id})


_CLEAR_ALL = delete(TaskDraft.__table__).where(TaskDraft.__table__.c.task_id == bindparam("task"))
_CLEAR_ONE = _CLEAR_ALL.where(TaskDraft.__table__.c.user_id == bindparam("user"))
