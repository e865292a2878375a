"""Officers designated in task forms (承办人, 听证主持人…), checked against the law before they count.

A form field ``{"type": "array", "x-widget": "officers", "x-role": "handler"}`` holds usernames.
Each must be an active officer of the case's unit holding that role and, for handlers, a valid
执法证 on the day (法 Art. 42: investigation by two or more officers with credentials). Accepted
designations are recorded per case, so later tasks can exclude them (separation of duty).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from . import clock
from .errors import InvalidInput
from .models import CaseOfficer, Task, User, db
from .roles import CREDENTIAL_KINDS, LANE_ROLES

# Roles whose members act as enforcement officers and so must hold a 执法证 (法 Art. 42).
CREDENTIAL_FOR_ROLE = {"handler": "law_enforcement", "hearing_host": "law_enforcement"}


def officer_fields(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: prop for name, prop in (schema.get("properties") or {}).items()
            if isinstance(prop, dict) and prop.get("x-widget") == "officers"}


def check_and_record(task: Task, schema: dict[str, Any], data: dict[str, Any]) -> None:
    """Refuse ineligible designations (field errors, nothing recorded) or record them all."""
    fields = officer_fields(schema)
    if not fields:
        return
    today = clock.today_shanghai()
    errors, accepted = [], []
    for name, prop in fields.items():
        usernames = data.get(name) or []
        if not isinstance(usernames, list):
            continue  # the JSON Schema check already reported the type
        role = prop.get("x-role", "handler")
        credential = prop.get("x-credential", CREDENTIAL_FOR_ROLE.get(role))
        separate = [s.strip() for s in str(prop.get("x-separate-from", "")).split(",") if s.strip()]
        users = {u.username: u for u in db.session.scalars(select(User).where(User.username.in_(usernames)))}
        for username in usernames:
            user = users.get(username)
            problem = _why_not(user, task.unit_id, role, credential, today) or _conflict(task.case_id, user, separate)
            if problem:
                errors.append({"field": name, "label": prop.get("title", name), "message": f"{username}：{problem}"})
            else:
                accepted.append((name, user))
        if len(set(usernames)) != len(usernames):
            errors.append({"field": name, "label": prop.get("title", name), "message": "同一人员不能重复指定 (duplicate officer)"})
    if errors:
        raise InvalidInput("指定的人员不符合要求：" + "；".join(e["message"] for e in errors[:5]), details=errors)
    now = clock.now()
    for name, user in accepted:
        exists = db.session.scalars(select(CaseOfficer.id).where(
            CaseOfficer.case_id == task.case_id, CaseOfficer.field == name, CaseOfficer.user_id == user.id)).first()
        if exists is None:
            db.session.add(CaseOfficer(case_id=task.case_id, field=name, user_id=user.id, task_id=task.id, designated_at=now))


def candidates(unit_id: int, role: str, credential: str | None = None) -> list[User]:
    """The people a form may designate for ``role`` in the unit (the list a page offers)."""
    credential = credential or CREDENTIAL_FOR_ROLE.get(role)
    today = clock.today_shanghai()
    users = db.session.scalars(select(User).where(User.unit_id == unit_id, User.active.is_(True)).order_by(User.username))
    return [u for u in users if _why_not(u, unit_id, role, credential, today) is None]


def _conflict(case_id: int, user: User | None, separate: list[str]) -> str | None:
    """``x-separate-from``: who designated or performed these for the case may not be designated here
    (法 Art. 64(4): the hearing host is not an investigator of the case)."""
    if user is None or not separate:
        return None
    fields = [s[1:] for s in separate if s.startswith("@")]
    steps = [s for s in separate if not s.startswith("@")]
    if fields and db.session.scalars(select(CaseOfficer.id).where(
            CaseOfficer.case_id == case_id, CaseOfficer.field.in_(fields), CaseOfficer.user_id == user.id)).first():
        return "系本案指定的承办人员，须回避 (designated officer of this case: separation of duty)"
    if steps and db.session.scalars(select(Task.id).where(
            Task.case_id == case_id, Task.bpmn_id.in_(steps), Task.completed_by == user.id)).first():
        return "曾办理本案调查，须回避 (investigated this case: separation of duty)"
    return None


def _why_not(user: User | None, unit_id: int, role: str, credential: str | None, today: Any) -> str | None:
    if user is None or not user.active:
        return "不存在或已停用 (no such active officer)"
    if user.unit_id != unit_id:
        return "不属于本案承办单位 (not in the case's unit)"
    if not user.has_role(role):
        return f"不具备“{LANE_ROLES.get(role, role)}”角色 (lacks role {role})"
    if credential and not any(c.kind == credential and c.valid_on(today) for c in user.credentials):
        return f"无有效的{CREDENTIAL_KINDS.get(credential, credential)} (no valid {credential})"
    return None
