"""Who may see and take what: unit scope, lane roles, credentials, separation of duty.

Every read an officer makes goes through ``cases_in_scope``/``tasks_in_scope`` so that a case of
another unit is indistinguishable from a missing one (404, not 403).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, select

from . import clock
from .errors import NotFound
from .models import WHOLE_USER, Case, CaseOfficer, Task, User, db
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


def eligible_users(task: Task) -> list[User]:
    """Officers of the task's unit who may take it: whom a unit head may reassign it to."""
    users = unit_officers(task.unit_id)
    reasons = eligibility([task], users)
    return [u for u in users if reasons[(task.id, u.id)] is None]


def unit_officers(unit_id: int) -> list[User]:
    """Active officers of the unit, whole (roles and credentials: eligibility reads both), in one query."""
    return list(db.session.scalars(select(User).options(*WHOLE_USER).where(User.unit_id == unit_id, User.active.is_(True))
                                   .order_by(User.username)).unique())


def why_not_eligible(user: User, task: Task) -> str | None:
    """The reason ``user`` may not take ``task``, or None if they may (shown to unit heads)."""
    return eligibility([task], [user])[(task.id, user.id)]


def eligibility(tasks: list[Task], users: list[User]) -> dict[tuple[str, int], str | None]:
    """``why_not_eligible`` for every (task, user) pair with two queries in all, not two per pair:
    an inbox page checks fifty tasks against every officer of the unit."""
    case_ids = {t.case_id for t in tasks if t.separate_from}
    designated: set[tuple[int, str, int]] = set()
    performed: dict[tuple[int, str, int], str] = {}
    if case_ids:
        designated = {tuple(row) for row in db.session.execute(  # type: ignore[misc]
            select(CaseOfficer.case_id, CaseOfficer.field, CaseOfficer.user_id).where(CaseOfficer.case_id.in_(case_ids)))}
        for case_id, bpmn_id, user_id, name in db.session.execute(
            select(Task.case_id, Task.bpmn_id, Task.completed_by, Task.name)
            .where(Task.case_id.in_(case_ids), Task.completed_by.is_not(None))
        ):
            performed.setdefault((case_id, bpmn_id, user_id), name)
    today = clock.today_shanghai()
    # What depends on the officer and the kind of step only is decided once per pair, not once per
    # task: a unit head's page checks 25 tasks against every officer, mostly of a few kinds of step.
    standing: dict[tuple[int, int, str, str | None], str | None] = {}
    out: dict[tuple[str, int], str | None] = {}
    for task in tasks:
        for user in users:
            key = (user.id, task.unit_id, task.role, task.requires_credential)
            if key not in standing:
                standing[key] = _standing(user, task, today)
            out[(task.id, user.id)] = standing[key] or _separation(user, task, designated, performed)
    return out


def _standing(user: User, task: Task, today: dt.date) -> str | None:
    """Whether the officer may take this kind of step at all: active, unit, role, credential."""
    if not user.active:
        return "账号已停用 (account disabled)"
    if task.unit_id != user.unit_id:
        return "不属于本单位 (task belongs to another unit)"
    if not user.has_role(task.role):
        return f"不具备角色“{LANE_ROLES.get(task.role, task.role)}” (lacks role {task.role})"
    if task.requires_credential:
        if not any(c.kind == task.requires_credential and c.valid_on(today) for c in user.credentials):
            label = CREDENTIAL_KINDS.get(task.requires_credential, task.requires_credential)
            return f"无有效的{label} (no valid credential {task.requires_credential})"
    return None


def _separation(user: User, task: Task, designated: set[tuple[int, str, int]],
                performed: dict[tuple[int, str, int], str]) -> str | None:
    """Separation of duty within this task's case (法 Art. 42, 58, 64(4))."""
    if not task.separate_from:
        return None
    separate = [s.strip() for s in (task.separate_from or "").split(",") if s.strip()]
    for field in (s[1:] for s in separate if s.startswith("@")):
        if (task.case_id, field, user.id) in designated:
            return "系本案指定的承办人员，须回避 (designated officer of this case: separation of duty)"
    # Art. 64(4) / Art. 58: a reviewer or hearing host may not have investigated the same case.
    for bpmn_id in (s for s in separate if not s.startswith("@")):
        conflict = performed.get((task.case_id, bpmn_id, user.id))
        if conflict:
            return f"曾办理本案“{conflict}”，须回避 (performed '{conflict}' in this case: separation of duty)"
    return None
