"""回避 (法 Art. 43): recusal of an officer from one case, requested and decided on the case itself.

An officer with a direct interest in the case, or another relation that may affect a fair
handling, recuses; the party may apply for it. The agency head decides; the recusal of an agency
head is decided by the agency heads together (集体讨论, SAMR). Until the decision the investigation
does not stop (Art. 43: "决定作出之前，不停止调查"): a pending request changes nobody's tasks.

A granted recusal keeps the officer out of every step of the case (engine/policy/access.py), ends their
designations (so the unit head sees the case needs a new handler), and puts the tasks they hold
back in the pool. Each decision issues its 回避决定书 in the same transaction, and is audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select, update

from engine import clock
from engine.db.command import command
from engine.documents import issue_case_document
from engine.errors import Forbidden, InvalidInput, InvalidState, NotFound
from engine.models import CaseOfficer, ProcessInstance, Recusal, User, db
from engine.policy.access import DESIGNATED_HANDLERS, case_facts, get_case
from engine.policy.officers import MIN_HANDLERS, lock_case, notify, release_tasks
from engine.policy.permissions import AGENCY_HEAD, LANE_OFFICERS, UNIT_HEAD, require
from engine.policy.roles import LANE_ROLES
from engine.record import audit

ART_43 = "《行政处罚法》第四十三条"
SOURCES = {"party": "当事人申请回避", "self": "执法人员自行回避"}
DECISIONS = {"granted": "决定回避", "rejected": "决定不予回避"}
DECIDER_ROLE = AGENCY_HEAD
MAX_TEXT = 1000


def recusals_of(case_id: int) -> list[Recusal]:
    """The case's recusal requests in the order they were made."""
    return list(db.session.scalars(select(Recusal).where(Recusal.case_id == case_id).order_by(Recusal.seq)))


def require_decider(actor: User) -> None:
    """Only the agency head decides a recusal; anyone else is told whom to ask."""
    require(actor, "recusal.decide")


def require_officer(actor: User) -> None:
    require(actor, "recusal.request")


@command
def request_recusal(actor: User, case_id: int, officer: Any, source: Any, reason: Any) -> Recusal:
    """Record a recusal request: the party's application (recorded by an officer) or the officer's own
    declaration. The case goes on meanwhile; the agency heads of the unit are told."""
    require_officer(actor)
    case = get_case(actor, case_id)  # another unit's case is a 404 whatever the body
    if source not in SOURCES:
        raise InvalidInput("请选择回避的提出方式：当事人申请回避或执法人员自行回避 (source must be party or self)",
                           details=[{"field": "source", "message": "必选"}])
    reason = _text(reason, "reason", "申请回避的理由")
    target = _officer_of(case.unit_id, officer)
    if source == "self" and target.id != actor.id:
        raise InvalidInput(f"自行回避只能由本人提出（{ART_43}）：当事人的申请请选择“当事人申请回避” "
                           "(only the officer themself declares a recusal; record the party's application as such)",
                           details=[{"field": "source", "message": "只能由本人提出"}])
    lock_case(case)
    if case.status not in ("open", "suspended"):
        raise InvalidState("案件已结束，不能申请回避 (the case has ended)")
    facts = case_facts([case.id])
    if (case.id, actor.id) in facts.recused:
        raise Forbidden(f"您已决定回避本案，不得参与本案任何环节（{ART_43}）：请由其他执法人员登记 "
                        "(you are recused from this case: another officer must record it)")
    for earlier in recusals_of(case.id):
        if earlier.officer_id == target.id and earlier.status == "pending":
            raise InvalidState(f"对{_name(target)}已有待决定的回避申请（第{earlier.seq}项）：请等待行政机关负责人决定 "
                               "(a request for this officer is already waiting for the decision)")
        if earlier.officer_id == target.id and earlier.status == "granted":
            raise InvalidState(f"{_name(target)}已决定回避本案（{earlier.document_number}） (this officer is already recused)")
    now = clock.now()
    seq = (db.session.scalar(select(func.max(Recusal.seq)).where(Recusal.case_id == case.id)) or 0) + 1
    recusal = Recusal(case_id=case.id, seq=seq, officer_id=target.id, source=source, reason=reason,
                      requested_by=actor.username, requested_at=now, status="pending", collective=False)
    db.session.add(recusal)
    db.session.flush()
    audit.record("recusal.requested", actor.username,
                 {"n": seq, "officer": target.username, "source": source, "reason": reason}, case_id=case.id)
    deciders = db.session.scalars(select(User).where(User.unit_id == case.unit_id, User.active.is_(True)))
    for user in deciders:
        if user.has_role(DECIDER_ROLE) and user.id != target.id:
            notify(user.id, case, "recusal", f"回避申请待决定：{case.case_number}，{_name(target)}（{SOURCES[source]}）")
    if target.id != actor.id:
        notify(target.id, case, "recusal", f"有人对您在案件 {case.case_number} 中提出回避申请（{SOURCES[source]}）："
                                           "决定作出之前，您的调查不停止")
    return recusal


@command
def decide_recusal(actor: User, case_id: int, seq: int, decision: Any, reason: Any, collective: bool = False,
                   discussion_on: Any = None, discussion_record: Any = "") -> Recusal:
    """The agency head decides (for an agency head: the heads' collective discussion, recorded with its
    date and participants). Issues the 回避决定书; a granted recusal takes the officer off the case."""
    require_decider(actor)
    case = get_case(actor, case_id)
    if decision not in DECISIONS:
        raise InvalidInput("请选择决定：决定回避或决定不予回避 (decision must be granted or rejected)",
                           details=[{"field": "decision", "message": "必选"}])
    reason = _text(reason, "reason", "决定理由")
    lock_case(case)
    recusal = db.session.scalars(select(Recusal).where(Recusal.case_id == case.id, Recusal.seq == seq)).first()
    if recusal is None:
        raise NotFound("该回避申请不存在 (no such recusal request)")
    if recusal.status != "pending":
        raise InvalidState(f"该回避申请已于 {_day(recusal.decided_at)} {DECISIONS[recusal.status]}，不能再次决定 "
                           "(this request has already been decided)")
    target = recusal.officer
    if target.id == actor.id:
        raise Forbidden(f"本人的回避不能由本人决定或登记（{ART_43}）：请由其他行政机关负责人决定 "
                        "(nobody decides their own recusal: another agency head must)")
    if (case.id, actor.id) in case_facts([case.id]).recused:
        raise Forbidden(f"您已决定回避本案，不得参与本案任何环节（{ART_43}）：请由其他行政机关负责人决定 "
                        "(you are recused from this case)")
    discussed_on: dt.date | None = None
    record = ""
    if target.has_role(DECIDER_ROLE) and not collective:
        raise Forbidden("行政机关负责人的回避由行政机关负责人集体讨论决定（《市场监督管理行政处罚程序规定》）："
                        "请经集体讨论后勾选“经集体讨论决定”，并填写讨论日期和参加人员、讨论意见 "
                        "(an agency head's recusal is decided by the agency heads' collective discussion: "
                        "confirm it and give its date and participants)")
    if collective:
        discussed_on = _date(discussion_on, "discussion_on", "集体讨论日期")
        record = _text(discussion_record, "discussion_record", "集体讨论的参加人员和讨论意见")
    now = clock.now()
    method = "行政机关负责人集体讨论决定" if collective else "行政机关负责人决定"
    fields: list[tuple[str, str, Any]] = [
        ("officer", "被申请回避人员", f"{_name(target)}（{'、'.join(_roles(target))}）"),
        ("source", "提出方式", SOURCES[recusal.source]),
        ("requested_on", "申请日期", _day(recusal.requested_at)),
        ("request_reason", "申请理由", recusal.reason),
        ("decision", "决定", DECISIONS[decision] + ("：自本决定作出之日起不再参与本案的调查处理" if decision == "granted" else "")),
        ("decision_reason", "决定理由", reason),
        ("method", "决定方式", method),
    ]
    if collective:
        fields.append(("discussion", "集体讨论", f"{discussed_on.isoformat() if discussed_on else ''}；{record}"))
    document = issue_case_document(actor, case, "回避决定书", fields, _instance_id(case.id))
    recusal.status = decision
    recusal.decided_by = actor.username
    recusal.decided_at = now
    recusal.decision_reason = reason
    recusal.collective = collective
    recusal.discussion_on = discussed_on
    recusal.discussion_record = record or None
    recusal.document_number = document.number
    released = []
    if decision == "granted":
        db.session.execute(update(CaseOfficer).where(CaseOfficer.case_id == case.id, CaseOfficer.user_id == target.id,
                                                     CaseOfficer.ended_at.is_(None))
                           .values(ended_at=now).execution_options(synchronize_session=False))
        released = release_tasks(case, [target.id], actor.username, f"已决定回避本案（{document.number}）")
    audit.record("recusal.decided", actor.username,
                 {"n": recusal.seq, "officer": target.username, "decision": decision, "reason": reason,
                  "collective": collective, "discussion_on": discussed_on.isoformat() if discussed_on else None,
                  "document": document.number, "released_tasks": [t.name for t in released]}, case_id=case.id)
    notify(target.id, case, "recusal", f"回避申请已{DECISIONS[decision]}：{case.case_number}（{document.number}）")
    if decision == "granted":
        _ask_for_handlers(case)
    return recusal


def handlers_short(case_id: int) -> bool:
    """The case was filed but fewer than two designated handlers remain (after a recusal)."""
    facts = case_facts([case_id])
    filed = any(key[0] == case_id and key[1] == DESIGNATED_HANDLERS for key in facts.designated)
    return filed and len(facts.handlers.get(case_id, set())) < MIN_HANDLERS


def _ask_for_handlers(case: Any) -> None:
    """A recused handler leaves fewer than two: the unit heads are asked to designate again (法 Art. 42)."""
    db.session.flush()
    if not handlers_short(case.id):
        return
    for user in db.session.scalars(select(User).where(User.unit_id == case.unit_id, User.active.is_(True))):
        if user.has_role(UNIT_HEAD):
            notify(user.id, case, "designate", f"案件 {case.case_number} 的指定承办人因回避不足两名：请在案件页面重新指定承办人")


def _officer_of(unit_id: int, username: Any) -> User:
    user = db.session.scalars(select(User).where(User.username == username)).first() if isinstance(username, str) else None
    if user is None or user.unit_id != unit_id or not user.active or not user.has_role(*LANE_OFFICERS):
        raise InvalidInput("请选择本案承办单位的一名执法人员 (officer must be an active officer of the case's unit)",
                           details=[{"field": "officer", "message": "无效"}])
    return user


def _text(value: Any, field: str, title: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > MAX_TEXT:
        raise InvalidInput(f"请填写{title}，不超过 {MAX_TEXT} 字 ({field} is required)",
                           details=[{"field": field, "message": "必填"}])
    return text


def _date(value: Any, field: str, title: str) -> dt.date:
    try:
        on = dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        on = None
    if on is None:
        raise InvalidInput(f"请填写{title}（YYYY-MM-DD） ({field} must be a date)", details=[{"field": field, "message": "必填"}])
    if on > clock.today_shanghai():
        raise InvalidInput(f"{title}不能晚于今天 ({field} cannot be in the future)", details=[{"field": field, "message": "晚于今天"}])
    return on


def _name(user: User) -> str:
    return user.display_name or user.username


def _roles(user: User) -> list[str]:
    return [LANE_ROLES[r] for r in sorted(user.role_names) if r in LANE_ROLES]


def _day(value: dt.datetime | None) -> str:
    return value.astimezone(clock.SHANGHAI).date().isoformat() if value else ""


def _instance_id(case_id: int) -> int | None:
    return db.session.scalars(select(ProcessInstance.id).where(ProcessInstance.case_id == case_id)
                              .order_by(ProcessInstance.id.desc())).first()
