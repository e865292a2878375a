"""One permission policy: which roles may do what, written down once and checked inside the engine.

Every engine command that only some roles may run calls ``require(actor, action, ...)`` before it
touches anything, so a script calling the engine meets the same rule as a page or the API (the web
layer may ask ``allowed`` first to hide a button, never instead). The role groups below are the
only definition of who belongs to which group; web pages import them from here.

What this module does not decide: who may take one step of one case (standing, credentials,
recusal, separation of duty) — that depends on the case and is decided in engine/policy/access.py.
Each refusal names the rule and says whom to ask, in Chinese and English.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.errors import Forbidden
from engine.models import Case, Task
from engine.policy.actor import Actor, SystemActor
from engine.policy.roles import LANE_ROLES

# Role groups, defined once.
HANDLER = "handler"
UNIT_HEAD = "unit_head"
AGENCY_HEAD = "agency_head"
ADMINISTRATOR = "administrator"
ADMINISTRATORS: tuple[str, ...] = (ADMINISTRATOR,)
DESIGNERS: tuple[str, ...] = ("process_designer", ADMINISTRATOR)  # edit, deploy and roll back procedures
CROSS_UNIT: tuple[str, ...] = ("supervisor", ADMINISTRATOR)  # read every unit's cases and tasks
SUPERVISION: tuple[str, ...] = ("supervisor", AGENCY_HEAD, ADMINISTRATOR)  # the supervision statistics
HEADS: tuple[str, ...] = (UNIT_HEAD, AGENCY_HEAD)  # see the unit's whole work; told when a case clock runs out
CASE_STARTERS: tuple[str, ...] = (HANDLER, UNIT_HEAD)  # 立案登记
CASE_OFFICERS: tuple[str, ...] = (HANDLER, UNIT_HEAD, AGENCY_HEAD)  # record facts of a case (不计入期间)
LANE_OFFICERS: tuple[str, ...] = tuple(LANE_ROLES)  # everyone who works on cases
DECIDERS: tuple[str, ...] = (AGENCY_HEAD,)  # 中止/恢复/终止, 延长办案期限, 回避
DESIGNATORS: tuple[str, ...] = (UNIT_HEAD,)  # 指定承办人, 改派任务
# Four-eyes deployment: the legal office (法制审核) or an administrator approves a designer's submitted version.
DEPLOYMENT_REVIEWERS: tuple[str, ...] = ("legal_reviewer", ADMINISTRATOR)


@dataclass(frozen=True)
class Rule:
    roles: tuple[str, ...]
    refusal: str  # bilingual; may name ``{what}`` (the action as the caller words it)
    own_unit: bool = False  # the case or task must also belong to the actor's unit


RULES: dict[str, Rule] = {
    "case.start": Rule(CASE_STARTERS, refusal=(
        "只有承办人或承办机构负责人可以立案 "
        "(only handlers and unit heads start cases)")),
    "case.correct_party": Rule(CASE_STARTERS, refusal=(
        "只有承办人或承办机构负责人可以更正当事人信息 "
        "(only handlers and unit heads correct the party)")),
    "case.decide": Rule(DECIDERS, refusal=(
        "{what}须经行政机关负责人批准（《市场监督管理行政处罚程序规定》）：请报行政机关负责人在案件页面"
        "办理 "
        "(this needs the agency head's approval: ask the agency head to do it from the case page)")),
    "case.extend_clock": Rule(DECIDERS, refusal=(
        "延长办案期限须经行政机关负责人批准（《行政处罚法》第六十条）：请报行政机关负责人在案件页面办理 "
        "(an extension needs the agency head's approval: ask the agency head to extend it from the case page)")),
    "case.record_excluded_period": Rule(CASE_OFFICERS, refusal=(
        "只有承办人、承办机构负责人或行政机关负责人可以登记不计入办案期限的期间：请由本案承办人登记 "
        "(only handlers, unit heads and agency heads record excluded periods: ask the case's handler)")),
    "case.designate_handlers": Rule(DESIGNATORS, refusal=(
        "承办人由承办机构负责人指定（《行政处罚法》第四十二条；立案审批时指定）：请报承办机构负责人在案件页面"
        "重新指定 "
        "(handlers are designated by the unit head: ask the unit head to re-designate them on the case page)")),
    "recusal.request": Rule(LANE_OFFICERS, refusal=(
        "回避申请由本案的执法人员登记（当事人的申请）或由执法人员本人提出（《行政处罚法》第四十三条）：请由本"
        "单位执法人员在案件页面登记 "
        "(a recusal request is recorded by an officer of the case's unit)")),
    "recusal.decide": Rule(DECIDERS, refusal=(
        "回避由行政机关负责人决定（《行政处罚法》第四十三条）：请报行政机关负责人在案件页面决定 "
        "(a recusal is decided by the agency head: ask the agency head to decide it on the case page)")),
    "task.reassign": Rule(DESIGNATORS, own_unit=True, refusal=(
        "只有本单位负责人可以改派任务 "
        "(only the unit head reassigns tasks)")),
    "task.release_others": Rule(DESIGNATORS, own_unit=True, refusal=(
        "只能退回自己认领的任务 "
        "(you can only release your own task)")),
    "publication.withdraw": Rule(HEADS, refusal=(
        "只有承办机构负责人或行政机关负责人可以撤回公示 "
        "(only unit or agency heads withdraw a publication)")),
    "procedure.edit": Rule(DESIGNERS, refusal=(
        "只有流程设计人员或系统管理员可以编辑和部署流程：请联系流程设计人员 "
        "(only process designers and administrators edit and deploy procedures)")),
    "procedure.rollback": Rule(DESIGNERS, refusal=(
        "只有流程设计人员或系统管理员可以回滚版本 "
        "(only process designers and administrators may roll back)")),
    "procedure.review": Rule(DEPLOYMENT_REVIEWERS, refusal=(
        "只有法制审核人员或系统管理员可以批准或驳回流程部署：请联系法制审核人员 "
        "(only legal reviewers and administrators approve or reject a submitted deployment)")),
    "procedure.review_settings": Rule(ADMINISTRATORS, refusal=(
        "只有系统管理员可以设置部署是否须经审核 "
        "(only administrators decide whether deployments need review)")),
    "time_limits.edit": Rule(ADMINISTRATORS, refusal=(
        "只有系统管理员可以修改时限和日历 "
        "(administrators only)")),
    "time_limits.create": Rule(DESIGNERS, refusal=(
        "只有流程设计人员或系统管理员可以新建时限：请联系流程设计人员 "
        "(only process designers and administrators create time-limit keys: ask a process designer)")),
    "time_limits.reapply": Rule(ADMINISTRATORS, refusal=(
        "只有系统管理员可以调整在办案件的期限 "
        "(administrators only)")),
    "people.manage": Rule(ADMINISTRATORS, refusal=(
        "只有系统管理员可以管理用户、单位和证件 "
        "(administrators only)")),
    "agencies.manage": Rule(ADMINISTRATORS, refusal=(
        "只有系统管理员可以管理行政机关的设置 "
        "(administrators only)")),
    "delivery.configure": Rule(ADMINISTRATORS, refusal=(
        "只有系统管理员可以设置通知发送方式：请联系系统管理员 "
        "(only administrators configure delivery)")),
    "document_texts.edit": Rule(ADMINISTRATORS, refusal=(
        "只有管理员可以修改文书模板 "
        "(administrators only)")),
    "numbering.manage": Rule(ADMINISTRATORS, refusal=(
        "只有系统管理员可以分配或收回号段 "
        "(administrators only)")),
    "document_types.edit": Rule(ADMINISTRATORS, refusal=(
        "只有管理员可以修改文书编号规则 "
        "(administrators only)")),
    "incident.retry": Rule(ADMINISTRATORS, refusal=(
        "只有系统管理员可以重试出错的案件：请联系系统管理员 "
        "(administrators only retry a failed case)")),
    "supervision.view": Rule(SUPERVISION, refusal=(
        "仅执法监督人员和行政机关负责人可查看监督统计 "
        "(supervisors and agency heads only)")),
}


def allowed(actor: Actor, action: str, case: Case | None = None, task: Task | None = None) -> bool:
    """Whether ``actor`` may do ``action`` (on this case or task): for showing or hiding a button."""
    rule = RULES[action]
    if isinstance(actor, SystemActor):
        return True  # the installation's operator (CLI, scheduler, start-up deploy): no role to hold
    if not actor.has_role(*rule.roles):
        return False
    if rule.own_unit:
        unit_id = task.unit_id if task is not None else case.unit_id if case is not None else actor.unit_id
        return unit_id == actor.unit_id
    return True


def require(actor: Actor, action: str, case: Case | None = None, task: Task | None = None, **words: Any) -> None:
    """Refuse (403) unless ``actor`` may do ``action``; the refusal says which rule and whom to ask.

    ``words`` fill the rule's wording (``what="中止调查"``)."""
    if not allowed(actor, action, case, task):
        rule = RULES[action]
        raise Forbidden(rule.refusal.format(**words) if words else rule.refusal, details={"rule": action})
