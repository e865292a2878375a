"""办理意见: an officer's written opinion on a case or on one of its steps.

An opinion is part of the full-process record (全过程记录, 法 Art. 47): it is written to the case's
audit chain in the same transaction as its row, shown in the timeline, and never edited or deleted
(a correction is a further opinion). Whoever may see the case may comment on it, except an officer
recused from it (法 Art. 43: takes no further part).
"""

from __future__ import annotations

from sqlalchemy import select

from engine import clock
from engine.db.command import command
from engine.errors import InvalidInput
from engine.models import Comment, User, db
from engine.policy.access import get_case, get_task, refuse_recused
from engine.record import audit

MAX_COMMENT = 2000


@command
def add_comment(actor: User, case_id: int, body: str, task_id: str | None = None) -> Comment:
    """Record the opinion on the case (``task_id``: on that step of it)."""
    case = get_case(actor, case_id)  # another unit's case is a 404 whatever the body
    task = get_task(actor, task_id) if task_id else None
    if task is not None and task.case_id != case.id:
        raise InvalidInput("该任务不属于本案：请在任务所属案件中发表意见 (the task belongs to another case)",
                           details=[{"field": "task_id", "message": "不属于本案"}])
    text = body.strip() if isinstance(body, str) else ""
    if not text or len(text) > MAX_COMMENT:
        raise InvalidInput(f"请填写办理意见，不超过 {MAX_COMMENT} 字 (write the opinion, at most {MAX_COMMENT} characters)",
                           details=[{"field": "body", "message": "必填" if not text else f"不超过 {MAX_COMMENT} 字"}])
    refuse_recused(actor, case.id)
    comment = Comment(case_id=case.id, task_id=task.id if task else None, author_id=actor.id, body=text,
                      created_at=clock.now())
    db.session.add(comment)
    db.session.flush()
    audit.record("comment.added", actor.username, {"comment": text, "comment_id": comment.id,
                                                   **({"task": task.name} if task else {})},
                 case_id=case.id, instance_id=task.instance_id if task else None, task_id=task.id if task else None)
    return comment


def comments_of(case_id: int, task_id: str | None = None) -> list[Comment]:
    """A case's opinions (or one step's), oldest first, as the record reads."""
    query = select(Comment).where(Comment.case_id == case_id)
    if task_id is not None:
        query = query.where(Comment.task_id == task_id)
    return list(db.session.scalars(query.order_by(Comment.created_at, Comment.id)))
