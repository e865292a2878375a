"""New time-limit keys, defined by a process designer or an administrator without code.

A procedure names its deadlines by key (``time_limit``, ``deadline(key, start)``, ``extended_by``), and
deploy lint accepts only keys in the registry. A new kind of deadline — a new step a local rule brings,
a period an agency sets for itself — is therefore a new row of the registry: name, legal basis, default
amount and unit, the bounds later edits must stay within, and the 临期 lead. Everything is checked before
anything is written (validate, then run), every problem is named by its field, and the new key is
recorded on the system chain and put into the reference data in the same transaction, so the next
deploy (in any process) can use it at once.

Keys shipped in ``engine/data/time_limits.json`` reach a database through ``seed_reference_data``
(engine/deadlines/limits.py); a key created here is never overwritten by a later release. A created key
that nothing uses yet may be deleted again; a shipped one never.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select

from engine import clock
from engine.admin.time_limits import UNIT_LABELS
from engine.db.command import command
from engine.deadlines.holidays import MAX_DAYS, MAX_HOURS, UNITS, load_seed_time_limits
from engine.deadlines.limits import IDENTIFIER
from engine.deadlines.reference import bump_revision
from engine.errors import Conflict, InvalidInput, InvalidState, NotFound
from engine.models import DeploymentFile, DeploymentSubmissionFile, Draft, Task, TimeLimit, db
from engine.policy.actor import Actor
from engine.policy.permissions import require
from engine.record import audit

# Column sizes of ``time_limit`` (engine/models/time_limit.py) and what a registry row can sensibly show.
MAX_NAME, MAX_LEGAL_BASIS, MAX_DESCRIPTION, MAX_REASON = 120, 500, 2000, 500


@dataclass(frozen=True)
class NewTimeLimit:
    """A checked definition: what the registry row will hold."""

    key: str
    name: str
    legal_basis: str
    description: str
    amount: int
    unit: str
    units: tuple[str, ...]
    min_amount: int
    max_amount: int
    warn_before: int


@command
def create_time_limit(actor: Actor, fields: Mapping[str, Any]) -> TimeLimit:
    """Add a key to the registry (designers and administrators); refused with every problem named.

    ``fields``: key, name, legal_basis, amount, unit, min, max; optional description, units (the units
    an administrator may later choose, default the unit alone), bound_unit (must be the unit: bounds are
    counted in it), warn_before (default 1), reason (recorded).
    """
    require(actor, "time_limits.create")
    new = check_new_time_limit(fields)
    taken = db.session.scalars(select(TimeLimit.key).where(func.lower(TimeLimit.key) == new.key.lower())).first()
    if taken is not None:
        raise Conflict(
            f"时限标识“{taken}”已存在：请换一个标识，或由系统管理员在时限登记表中修改现有时限 "
            f"(time-limit key '{taken}' already exists: choose another key, or change the existing limit)",
            details=[{"field": "key", "message": f"“{taken}”已存在", "message_en": "already exists"}])
    reason = _text(fields, "reason")[:MAX_REASON]
    limit = TimeLimit(
        key=new.key, name=new.name, amount=new.amount, unit=new.unit, units=",".join(new.units), bound_unit=new.unit,
        legal_basis=new.legal_basis, min_amount=new.min_amount, max_amount=new.max_amount, warn_before=new.warn_before,
        description=new.description, updated_by=actor.username, updated_at=clock.now(),
    )
    db.session.add(limit)
    audit.record("time_limit.created", actor.username, {**asdict(new), "units": list(new.units), "reason": reason})
    bump_revision()
    db.session.flush()  # a duplicate inserted meanwhile by someone else fails here, inside the command
    return limit


@command
def delete_time_limit(actor: Actor, key: str, reason: str = "") -> None:
    """Remove a key created here that nothing uses yet (a typo, a procedure abandoned before it shipped).

    Refused for a key shipped with the release (a statutory period: an administrator changes its value
    instead) and for a key any task, deployed or submitted file, or draft names: running cases and the
    versions they run on must keep resolving it.
    """
    require(actor, "time_limits.create")
    limit = db.session.get(TimeLimit, key)
    if limit is None:
        raise NotFound(f"时限“{key}”不存在 (unknown time-limit key)")
    if key in {item["key"] for item in load_seed_time_limits()}:
        raise InvalidState(
            f"“{limit.name}”是随系统发布的时限（engine/data/time_limits.json），不能删除；如需调整，请系统管理员修改其期限 "
            "(a time limit shipped with the release cannot be deleted: an administrator may change its value)",
            details={"key": key, "rule": "shipped"})
    if used := where_used(key):
        raise InvalidState(
            f"时限“{limit.name}”仍被使用，不能删除：{'、'.join(used)}。请先从流程中去掉对它的引用 "
            f"(the time limit is still used: {len(used)} place(s); remove every reference first)",
            details={"key": key, "rule": "in_use", "used_by": used})
    audit.record("time_limit.deleted", actor.username,
                 {"key": key, "name": limit.name, "amount": limit.amount, "unit": limit.unit,
                  "legal_basis": limit.legal_basis, "reason": str(reason or "").strip()[:MAX_REASON]})
    db.session.delete(limit)
    bump_revision()


def where_used(key: str, most: int = 5) -> list[str]:
    """Where ``key`` is named, in words: tasks, files of any deployment or pending submission, drafts.

    Files are searched for the key as a whole word (a ``time_limit`` property, ``deadline('key', …)``,
    ``extended_by``, a form's rule): finding it in a comment too only errs on the side of keeping it.
    """
    found: list[str] = []
    tasks = db.session.scalar(select(func.count()).select_from(Task).where(Task.time_limit == key)) or 0
    if tasks:
        found.append(f"{tasks} 个任务")
    word = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(key)}(?![A-Za-z0-9_])")
    for label, model in (("已部署", DeploymentFile), ("待审核", DeploymentSubmissionFile), ("草稿", Draft)):
        rows = db.session.execute(select(model.path, model.content).where(model.content.contains(key, autoescape=True)))
        paths = sorted({path for path, content in rows if word.search(content or "")})
        found += [f"{label} {path}" for path in paths]
    return found[:most]


def check_new_time_limit(fields: Mapping[str, Any]) -> NewTimeLimit:
    """The definition, or InvalidInput naming every field that is wrong and how to fix it."""
    if not isinstance(fields, Mapping):
        raise InvalidInput("时限定义须为对象 (the definition must be an object)")
    problems: list[dict[str, Any]] = []

    def problem(field: str, chinese: str, english: str) -> None:
        problems.append({"field": field, "message": chinese, "message_en": english})

    key = _text(fields, "key")
    if not key:
        problem("key", "必填：字母、数字或下划线组成，以字母或下划线开头，例如 notice_period",
                "required: letters, digits and underscores, starting with a letter or underscore, e.g. notice_period")
    elif not IDENTIFIER.fullmatch(key):
        problem("key", f"“{key[:80]}”不是有效标识：只能用字母、数字和下划线，以字母或下划线开头，最长 80 个字符",
                "not an identifier: use letters, digits and underscores, start with a letter or underscore, at most 80")
    name = _text(fields, "name")
    if not name:
        problem("name", "必填：时限的名称，例如“整改复查”", "required: the limit's name as officers read it")
    elif len(name) > MAX_NAME:
        problem("name", f"最长 {MAX_NAME} 个字符", f"at most {MAX_NAME} characters")
    legal_basis = _text(fields, "legal_basis")
    if not legal_basis:
        problem("legal_basis", "必填：法律、法规或规章的条款；本机关自定的期限写“本机关设定”",
                "required: the article that sets the period, or 本机关设定 for a period the agency sets itself")
    elif len(legal_basis) > MAX_LEGAL_BASIS:
        problem("legal_basis", f"最长 {MAX_LEGAL_BASIS} 个字符", f"at most {MAX_LEGAL_BASIS} characters")
    description = _text(fields, "description")
    if len(description) > MAX_DESCRIPTION:
        problem("description", f"最长 {MAX_DESCRIPTION} 个字符", f"at most {MAX_DESCRIPTION} characters")

    unit = _text(fields, "unit")
    if unit not in UNITS:
        problem("unit", "须为工作日（working_days）、自然日（natural_days）或小时（hours）",
                "must be working_days, natural_days or hours")
    units = _units(fields.get("units"), unit, problem)
    bound_unit = _text(fields, "bound_unit") or unit
    if unit in UNITS and bound_unit != unit:
        problem("bound_unit", f"法定范围须以默认期限的计算单位（{UNIT_LABELS[unit]}）计算",
                f"the bounds are counted in the default's unit ({unit})")
    ceiling = MAX_HOURS if unit == "hours" else MAX_DAYS
    amount = _whole(fields, "amount", 1, ceiling, problem)
    low = _whole(fields, "min", 1, ceiling, problem)
    high = _whole(fields, "max", 1, ceiling, problem)
    warn_before = _whole(fields, "warn_before", 0, ceiling, problem, default=1)
    if low is not None and high is not None and low > high:
        problem("min", f"最短期限 {low} 大于最长期限 {high}：请改正", f"the minimum {low} exceeds the maximum {high}")
    elif amount is not None and low is not None and high is not None and not low <= amount <= high:
        problem("amount", f"默认期限 {amount} 须在法定范围 {low}–{high} 之内", f"the default {amount} must lie within {low}–{high}")
    if amount is not None and warn_before is not None and warn_before > amount:
        problem("warn_before", f"预警提前量 {warn_before} 不能超过默认期限 {amount}",
                f"the warning lead {warn_before} cannot exceed the default {amount}")

    if problems:
        chinese = "；".join(p["message"] if p["message"].startswith(FIELD_LABELS[p["field"]]) else
                           f"{FIELD_LABELS[p['field']]}：{p['message']}" for p in problems)
        english = "; ".join(f"{p['field']}: {p['message_en']}" for p in problems)
        raise InvalidInput(f"时限定义有误，未作任何修改，请改正后再提交。{chinese} "
                           f"(invalid time-limit definition, nothing was changed: {english})", details=problems)
    assert amount is not None and low is not None and high is not None and warn_before is not None
    return NewTimeLimit(key, name, legal_basis, description, amount, unit, units, low, high, warn_before)


FIELD_LABELS = {"key": "标识", "name": "名称", "legal_basis": "法律依据", "description": "说明", "unit": "计算单位",
                "units": "可选单位", "bound_unit": "范围单位", "amount": "默认期限", "min": "最短期限", "max": "最长期限",
                "warn_before": "预警提前量"}
Problem = Callable[[str, str, str], None]


def _text(fields: Mapping[str, Any], name: str) -> str:
    value = fields.get(name)
    return value.strip() if isinstance(value, str) else ""


def _whole(fields: Mapping[str, Any], name: str, low: int, high: int, problem: Problem, default: int | None = None) -> int | None:
    """An integer field within ``low``–``high`` (a form's digits count; JSON true or 1.5 do not)."""
    value = fields.get(name)
    if value is None or value == "":
        if default is not None:
            return default
        problem(name, "必填", "required")
        return None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        problem(name, "须为整数", "must be a whole number")
        return None
    if not low <= value <= high:
        problem(name, f"须在 {low}–{high} 之间", f"must be within {low}–{high}")
        return None
    return value


def _units(value: Any, unit: str, problem: Problem) -> tuple[str, ...]:
    """The units an administrator may later choose: the default's unit first, then the others given."""
    if value is None or value == "":
        given: list[Any] = []
    elif isinstance(value, str):
        given = [u.strip() for u in value.split(",") if u.strip()]
    elif isinstance(value, list | tuple):
        given = list(value)
    else:
        problem("units", "须为计算单位的列表", "must be a list of units")
        given = []
    if unknown := [str(u)[:20] for u in given if u not in UNITS]:
        problem("units", f"未知的计算单位：{'、'.join(unknown)}", "unknown unit; use working_days, natural_days or hours")
    chosen = [unit] if unit in UNITS else []
    return tuple(chosen + [u for u in UNITS if u in given and u not in chosen])
