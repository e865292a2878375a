"""Officers named in task forms (承办人, 共同调查人员, 听证主持人…) and the case's designated handlers.

A form field ``{"type": "array", "x-widget": "officers", "x-role": "handler"}`` holds usernames.
Two kinds of field:

- a designation (``assigned_handlers`` at 立案, the hearing host): each officer must have the
  standing for ``x-role`` (active, of the unit, the role, a valid 执法证 for enforcement roles), not
  be recused from the case, and not be separated from it (``x-separate-from``);
- co-officers (``"x-co-officers": true``: 共同调查人员, 共同执法人员), who do this very step together
  with whoever completes it (法 Art. 42: two or more officers). Each must be someone other than the
  performer and than each other, and someone who could take the step themselves (engine/policy/access.py).

Accepted names are recorded per case, so later steps can exclude them (separation of duty). The
unit head may re-designate a filed case's handlers (``designate_handlers``): handler steps then go
to the new designation, and tasks held by those no longer designated go back to the pool.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select, update

from engine import clock
from engine.db.command import command
from engine.errors import InvalidInput, InvalidState
from engine.models import WHOLE_USER, Case, CaseOfficer, Notification, ProcessInstance, Task, User, db
from engine.policy.access import (
    CREDENTIAL_FOR_ROLE,
    DESIGNATED_HANDLERS,
    HANDLER_ROLE,
    case_facts,
    conflict_in_case,
    get_case,
    split_separation,
    standing,
    unit_officers,
)
from engine.policy.permissions import UNIT_HEAD, require
from engine.record import audit

MIN_HANDLERS = 2  # 法 Art. 42: investigation by two or more officers
DESIGNATOR_ROLE = UNIT_HEAD
MAX_REASON = 1000
ART_42 = "《行政处罚法》第四十二条：执法人员不得少于两人"


def officer_fields(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: prop for name, prop in (schema.get("properties") or {}).items()
            if isinstance(prop, dict) and prop.get("x-widget") == "officers"}


def check_and_record(task: Task, schema: dict[str, Any], data: dict[str, Any], performer: User | None = None) -> None:
    """Refuse ineligible officers (field errors, nothing recorded) or record them all."""
    fields = officer_fields(schema)
    if not fields:
        return
    named = {u for name in fields for u in (data.get(name) or []) if isinstance(u, str)}
    users = {u.username: u for u in db.session.scalars(select(User).options(*WHOLE_USER).where(User.username.in_(named))).unique()}
    facts = case_facts([task.case_id], steps_of=[task.case_id])
    today = clock.today_shanghai()
    errors, accepted = [], []
    for name, prop in fields.items():
        usernames = data.get(name) or []
        if not isinstance(usernames, list):
            continue  # the JSON Schema check already reported the type
        label = prop.get("title", name)
        for username in usernames:
            user = users.get(username)
            problem = _why_not(user, task, prop, performer, facts, today)
            if problem:
                errors.append({"field": name, "label": label, "message": f"{username}：{problem}"})
            elif user is not None:
                accepted.append((name, user))
        if len(set(usernames)) != len(usernames):
            errors.append({"field": name, "label": label,
                           "message": f"同一人员不能重复指定（{ART_42}）：每人只选一次 (the same officer is named twice)"})
    if errors:
        raise InvalidInput("指定的人员不符合要求：" + "；".join(e["message"] for e in errors[:5]), details=errors)
    now = clock.now()
    for name, user in accepted:
        _designate(task.case_id, name, user.id, task.id, now)


def field_choices(task: Task, schema: dict[str, Any], performer: User) -> dict[str, list[User]]:
    """The officers each officers' field of ``task`` may name (the lists the task page offers)."""
    fields = officer_fields(schema)
    if not fields:
        return {}
    officers = unit_officers(task.unit_id)
    facts = case_facts([task.case_id], steps_of=[task.case_id])
    today = clock.today_shanghai()
    return {name: [u for u in officers if _why_not(u, task, prop, performer, facts, today) is None]
            for name, prop in fields.items()}


@command
def designate_handlers(actor: User, case_id: int, usernames: Any, reason: str) -> Case:
    """重新指定承办人: the unit head replaces the handlers designated at 立案 (法 Art. 42: two or more
    credentialed officers). Later handler steps go to the new designation only; open tasks held by
    an officer no longer designated return to the pool, and that officer is told. Audited."""
    require_designator(actor)
    case = get_case(actor, case_id)  # another unit's case is a 404 whatever the body
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason or len(reason) > MAX_REASON:
        raise InvalidInput(f"请填写重新指定的理由，不超过 {MAX_REASON} 字 (a reason is required)",
                           details=[{"field": "reason", "message": "必填"}])
    if not isinstance(usernames, list) or not all(isinstance(u, str) for u in usernames):
        raise InvalidInput("handlers 必须是用户名列表 (handlers must be a list of usernames)",
                           details=[{"field": "handlers", "message": "无效"}])
    usernames = [u.strip() for u in usernames if u.strip()]
    if len(set(usernames)) != len(usernames) or len(usernames) < MIN_HANDLERS:
        raise InvalidInput(f"须指定两名以上不同的承办人（{ART_42}）：请选择至少两名执法人员，每人只选一次 "
                           "(designate two or more different officers)", details=[{"field": "handlers", "message": "至少两人"}])
    lock_case(case)
    if case.status not in ("open", "suspended"):
        raise InvalidState("案件已结束，不能重新指定承办人 (the case has ended)")
    facts = case_facts([case.id])
    if not any(key[0] == case.id and key[1] == DESIGNATED_HANDLERS for key in facts.designated):
        raise InvalidState("本案尚未立案，承办人在立案审批时指定：请先完成立案审批 (the case is not filed yet: handlers are "
                           "designated when it is filed)")
    users = {u.username: u for u in db.session.scalars(select(User).options(*WHOLE_USER).where(User.username.in_(usernames))).unique()}
    today = clock.today_shanghai()
    errors = []
    for username in usernames:
        user = users.get(username)
        problem = ("不存在或已停用 (no such active officer)" if user is None else
                   standing(user, case.unit_id, HANDLER_ROLE, CREDENTIAL_FOR_ROLE[HANDLER_ROLE], today)
                   or conflict_in_case(user, case.id, facts))
        if problem:
            errors.append({"field": "handlers", "message": f"{username}：{problem}"})
    if errors:
        raise InvalidInput("指定的人员不符合要求：" + "；".join(e["message"] for e in errors[:5]), details=errors)
    before = sorted(facts.handlers.get(case.id, set()))
    after = [users[u].id for u in usernames]
    now = clock.now()
    db.session.execute(update(CaseOfficer).where(
        CaseOfficer.case_id == case.id, CaseOfficer.field == DESIGNATED_HANDLERS, CaseOfficer.ended_at.is_(None),
        CaseOfficer.user_id.not_in(after)).values(ended_at=now).execution_options(synchronize_session=False))
    for user_id in after:
        _designate(case.id, DESIGNATED_HANDLERS, user_id, "", now)
    names = {u.id: u.username for u in db.session.scalars(select(User).where(User.id.in_(set(before) | set(after))))}
    audit.record("case.handlers_designated", actor.username,
                 {"from": [names[i] for i in before], "to": usernames, "reason": reason}, case_id=case.id)
    removed = set(before) - set(after)
    release_tasks(case, removed, actor.username, "不再是本案指定的承办人（承办机构负责人已重新指定）", role=HANDLER_ROLE)
    for user_id in set(after) - set(before):
        notify(user_id, case, "designated", f"您已被指定为案件 {case.case_number} 的承办人")
    return case


def require_designator(actor: User) -> None:
    """The unit head designates the case's handlers (立案审批), and so re-designates them."""
    require(actor, "case.designate_handlers")


def designated_handlers(case_id: int) -> list[User]:
    """The case's current designated handlers (empty before 立案)."""
    return list(db.session.scalars(select(User).join(CaseOfficer, CaseOfficer.user_id == User.id).where(
        CaseOfficer.case_id == case_id, CaseOfficer.field == DESIGNATED_HANDLERS, CaseOfficer.ended_at.is_(None))
        .order_by(User.username)))


def release_tasks(case: Case, user_ids: Iterable[int], actor: str, why: str, role: str | None = None) -> list[Task]:
    """Open tasks of the case held by these officers go back to the pool (unassigned); each officer
    is told why. Returns the tasks released."""
    user_ids = set(user_ids)
    if not user_ids:
        return []
    query = select(Task).where(Task.case_id == case.id, Task.status == "open", Task.assignee_id.in_(user_ids))
    if role is not None:
        query = query.where(Task.role == role)
    released = list(db.session.scalars(query))
    for task in released:
        previous = task.assignee
        db.session.execute(update(Task).where(Task.id == task.id, Task.status == "open")
                           .values(assignee_id=None).execution_options(synchronize_session=False))
        audit.record("task.released", actor, {"task": task.name, "previous": previous.username if previous else None,
                                              "reason": why},
                     case_id=case.id, instance_id=task.instance_id, task_id=task.id)
        if previous is not None:
            notify(previous.id, case, "released", f"任务“{task.name}”（{case.case_number}）已退回待办池：{why}", task_id=task.id)
        db.session.refresh(task)
    return released


def notify(user_id: int, case: Case, kind: str, message: str, task_id: str | None = None) -> None:
    db.session.add(Notification(user_id=user_id, kind=kind, task_id=task_id, case_id=case.id, message=message,
                                created_at=clock.now()))


def lock_case(case: Case) -> None:
    """Serialize changes to the case's officers with its commands (the instance rows are the case's
    lock, as for every command), then re-read the case."""
    list(db.session.scalars(select(ProcessInstance.id).where(ProcessInstance.case_id == case.id)
                            .order_by(ProcessInstance.id).with_for_update()))
    db.session.refresh(case)


def _why_not(user: User | None, task: Task, prop: dict[str, Any], performer: User | None, facts: Any,
             today: Any) -> str | None:
    if user is None:
        return "不存在或已停用 (no such active officer)"
    if prop.get("x-co-officers") is True:
        # Officers who do this step with its performer: another person, who could take the step.
        if performer is not None and user.id == performer.id:
            return (f"不能指定本人：共同执法的须是您以外的另一名执法人员（{ART_42}）：请选择另一名执法人员 "
                    "(you cannot name yourself: the law needs two different officers)")
        return (standing(user, task.unit_id, task.role, task.requires_credential, today)
                or conflict_in_case(user, task.case_id, facts,
                                    separate=split_separation(task.separate_from) + split_separation(prop.get("x-separate-from")),
                                    handler_step=task.role == HANDLER_ROLE, step=task.name))
    role = prop.get("x-role", HANDLER_ROLE)
    return (standing(user, task.unit_id, role, prop.get("x-credential"), today)
            or conflict_in_case(user, task.case_id, facts, separate=split_separation(prop.get("x-separate-from"))))


def _designate(case_id: int, name: str, user_id: int, task_id: str, now: Any) -> None:
    row = db.session.scalars(select(CaseOfficer).where(
        CaseOfficer.case_id == case_id, CaseOfficer.field == name, CaseOfficer.user_id == user_id)).first()
    if row is None:
        db.session.add(CaseOfficer(case_id=case_id, field=name, user_id=user_id, task_id=task_id, designated_at=now))
    elif row.ended_at is not None:
        row.ended_at = None  # designated again
        row.designated_at = now
