"""Who may see and take what: unit scope, lane roles, credentials, separation of duty.

Every read an officer makes goes through ``cases_in_scope``/``tasks_in_scope`` so that a case of
another unit is indistinguishable from a missing one (404, not 403).
"""

from __future__ import annotations

from sqlalchemy import Select, select

from . import clock
from .errors import NotFound
from .models import Case, Task, User, db
from .officers import designated
from .roles import CREDENTIAL_KINDS, LANE_ROLES

# Supervisors and administrators read across units; officers only their own.
CROSS_UNIT_ROLES = ("supervisor", "administrator")


def cases_in_scope(user: User) -> Select[tuple[Case]]:
    query = select(Case)
    if not user.has_role(*CROSS_UNIT_ROLES):
        query = query.where(Case.unit_id == user.unit_id)
    return query


def tasks_in_scope(user: User) -> Select[tuple[Task]]:
    query = select(Task)
    if not user.has_role(*CROSS_UNIT_ROLES):
        query = query.where(Task.unit_id == user.unit_id)
    return query


def get_case(user: User, case_id: int) -> Case:
    case = db.session.scalars(cases_in_scope(user).where(Case.id == case_id)).first()
    if case is None:
        raise NotFound("案件不存在或无权查看 (case not found)")
    return case


def get_task(user: User, task_id: str) -> Task:
    task = db.session.scalars(tasks_in_scope(user).where(Task.id == task_id)).first()
    if task is None:
        raise NotFound("任务不存在或无权查看 (task not found)")
    return task


def why_not_eligible(user: User, task: Task) -> str | None:
    """The reason ``user`` may not take ``task``, or None if they may (shown to unit heads)."""
    if not user.active:
        return "账号已停用 (account disabled)"
    if task.unit_id != user.unit_id:
        return "不属于本单位 (task belongs to another unit)"
    if not user.has_role(task.role):
        return f"不具备角色“{LANE_ROLES.get(task.role, task.role)}” (lacks role {task.role})"
    if task.requires_credential:
        today = clock.today_shanghai()
        if not any(c.kind == task.requires_credential and c.valid_on(today) for c in user.credentials):
            label = CREDENTIAL_KINDS.get(task.requires_credential, task.requires_credential)
            return f"无有效的{label} (no valid credential {task.requires_credential})"
    separate = [s.strip() for s in (task.separate_from or "").split(",") if s.strip()]
    for field in (s[1:] for s in separate if s.startswith("@")):
        if designated(task.case_id, field, user.id):
            return "系本案指定的承办人员，须回避 (designated officer of this case: separation of duty)"
    separate = [s for s in separate if not s.startswith("@")]
    if separate:
        # Art. 64(4) / Art. 58: a reviewer or hearing host may not have investigated the same case.
        conflict = db.session.scalars(
            select(Task.name).where(
                Task.case_id == task.case_id,
                Task.bpmn_id.in_(separate),
                Task.completed_by == user.id,
            ).limit(1)
        ).first()
        if conflict:
            return f"曾办理本案“{conflict}”，须回避 (performed '{conflict}' in this case: separation of duty)"
    return None
