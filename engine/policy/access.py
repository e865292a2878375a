"""Who may see and take what: unit scope, lane roles, credentials, and the case's own officers.

Every read an officer makes goes through ``cases_in_scope``/``tasks_in_scope`` so that a case of
another unit is indistinguishable from a missing one (404, not 403).

Whether an officer may act on a step of a case is decided here and nowhere else, for a task
(claim, reassign, complete, the inbox) and for an officer named in a form (engine/policy/officers.py):

1. standing — active, of the unit, in the role, holding the credential valid today (法 Art. 42:
   执法证 for enforcement officers; Art. 58: 法律职业资格 for legal reviewers);
2. the case — not recused from it (法 Art. 43); a handler step of a filed case only by the handlers
   designated for it (法 Art. 42, 立案审批); separation of duty (``separate_from``): who designated,
   recommended or investigated may not approve, review or host the hearing of the same case.

Every refusal names the rule and what to do next.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable

from sqlalchemy import Select, select

from engine import clock
from engine.errors import Forbidden, NotFound
from engine.models import WHOLE_USER, Case, Credential, Task, User, db
from engine.policy.case_facts import DESIGNATED, CaseFacts, case_facts
from engine.policy.permissions import CROSS_UNIT, HANDLER
from engine.policy.roles import CREDENTIAL_KINDS, LANE_ROLES

# Supervisors and administrators read across units; officers only their own.
CROSS_UNIT_ROLES = CROSS_UNIT
# Roles whose members act as enforcement officers and so must hold a 执法证 (法 Art. 42), whether or
# not the step names the credential itself.
CREDENTIAL_FOR_ROLE = {HANDLER: "law_enforcement", "hearing_host": "law_enforcement"}
CREDENTIAL_BASIS = {"law_enforcement": "《行政处罚法》第四十二条", "legal_qualification": "《行政处罚法》第五十八条第二款"}
HANDLER_ROLE = HANDLER
# 立案审批 designates the case's handlers (法 Art. 42: two or more); its handler steps go to them only.
DESIGNATED_HANDLERS = DESIGNATED
# Officers' fields a designation may be separated from, by their titles (for the message).
FIELD_TITLES = {"assigned_handlers": "指定承办人", "co_investigators": "共同调查人员", "co_handlers": "共同执法人员"}


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
    """``why_not_eligible`` for every (task, user) pair with three queries in all, not three per pair:
    an inbox page checks fifty tasks against every officer of the unit."""
    facts = case_facts({t.case_id for t in tasks}, steps_of={t.case_id for t in tasks if t.separate_from})
    today = clock.today_shanghai()
    # What depends on the officer and the kind of step only is decided once per pair, not once per
    # task: a unit head's page checks 25 tasks against every officer, mostly of a few kinds of step.
    standing_of: dict[tuple[int, int, str, str | None], str | None] = {}
    out: dict[tuple[str, int], str | None] = {}
    for task in tasks:
        separate = split_separation(task.separate_from)
        for user in users:
            key = (user.id, task.unit_id, task.role, task.requires_credential)
            if key not in standing_of:
                standing_of[key] = standing(user, task.unit_id, task.role, task.requires_credential, today)
            out[(task.id, user.id)] = standing_of[key] or conflict_in_case(
                user, task.case_id, facts, separate=separate, handler_step=task.role == HANDLER_ROLE, step=task.name)
    return out


def standing(user: User, unit_id: int, role: str, credential: str | None, today: dt.date) -> str | None:
    """Whether the officer may take this kind of step at all: active, unit, role, credential valid today."""
    if not user.active:
        return "账号已停用：请由其他在职人员办理，或请系统管理员恢复账号 (account disabled)"
    if unit_id != user.unit_id:
        return "不属于本案承办单位：请由本单位的执法人员办理 (not in the case's unit)"
    if not user.has_role(role):
        return f"不具备“{LANE_ROLES.get(role, role)}”角色：请由具备该角色的人员办理 (lacks role {role})"
    return credential_problem(user.credentials, credential or CREDENTIAL_FOR_ROLE.get(role), today)


def credential_problem(credentials: Iterable[Credential], kind: str | None, today: dt.date) -> str | None:
    """None when one credential of ``kind`` is valid today; else which one lapsed when, and what to do."""
    if kind is None:
        return None
    held = [c for c in credentials if c.kind == kind]
    if any(c.valid_on(today) for c in held):
        return None
    label, basis = CREDENTIAL_KINDS.get(kind, kind), CREDENTIAL_BASIS.get(kind, "")
    basis = f"（{basis}）" if basis else ""
    if held:
        last = max(held, key=lambda c: c.expires_on or dt.date.max)
        expiry = last.expires_on.isoformat() if last.expires_on else ""
        return (f"{label}（编号 {last.number}）有效期至 {expiry}，已过期，不能办理须持{label}的环节{basis}："
                f"请向系统管理员登记换发后的{label}，或由持有有效{label}的人员办理 "
                f"({kind} {last.number} expired on {expiry}: have an administrator record the renewed one, "
                f"or let a colleague holding a valid one do it)")
    return (f"未持有{label}，不能办理须持{label}的环节{basis}：请向系统管理员登记{label}，或由持有有效{label}的人员办理 "
            f"(holds no {kind}: have an administrator record it, or let a colleague holding a valid one do it)")


def conflict_in_case(user: User, case_id: int, facts: CaseFacts, *, separate: Collection[str] = (),
                     handler_step: bool = False, step: str = "") -> str | None:
    """Why the officer may take no part in this step of this case (recusal, designation, separation)."""
    if (case_id, user.id) in facts.recused:
        return _recused(facts.recused[(case_id, user.id)])
    handlers = facts.handlers.get(case_id)
    if handler_step and handlers and user.id not in handlers:
        return ("不是本案指定的承办人，不能办理本案的承办环节（《行政处罚法》第四十二条；承办人在立案审批时指定）："
                "请由指定承办人办理，或请承办机构负责人在案件页面重新指定承办人 "
                "(not a designated handler of this case: ask the unit head to re-designate the handlers on the case page)")
    for name in (s[1:] for s in separate if s.startswith("@")):
        if (case_id, name, user.id) in facts.designated:
            title = FIELD_TITLES.get(name, name)
            return (f"系本案的{title}，须回避{f'“{step}”' if step else '此环节'}：调查人员不得审核、审批或主持听证本案"
                    "（职能分离，《行政处罚法》第五十八条、第六十四条）：请由其他人员办理 "
                    f"(designated as {name} in this case: separation of duty, someone else must do it)")
    for bpmn_id in (s for s in separate if not s.startswith("@")):
        done = facts.performed.get((case_id, bpmn_id, user.id))
        if done:
            return (f"曾办理本案“{done}”，须回避{f'“{step}”' if step else '此环节'}：提出建议或调查的人员不得审批、审核或"
                    "主持听证本案（职能分离）：请由其他人员办理 "
                    f"(performed '{done}' in this case: separation of duty, someone else must do it)")
    return None


def split_separation(value: str | None) -> list[str]:
    """``separate_from="register_lead,@assigned_handlers"`` as its parts (step ids, ``@`` officers' fields)."""
    return [s.strip() for s in (value or "").split(",") if s.strip()]


def refuse_recused(user: User, case_id: int) -> None:
    """A recused officer takes no part in the case: no task, and no action on the case page either
    (中止、恢复、终止调查, 延长办案期限, 不计入期间; 法 Art. 43)."""
    facts = case_facts([case_id])
    if (case_id, user.id) in facts.recused:
        raise Forbidden(_recused(facts.recused[(case_id, user.id)]), details={"reason": "recused"})


def _recused(number: str) -> str:
    return (f"已决定回避本案{f'（{number}）' if number else ''}，不得参与本案任何环节（《行政处罚法》第四十三条）："
            "请由其他人员办理 (recused from this case: someone else must do it)")
