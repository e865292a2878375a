"""号段: pre-numbered forms, allocated to officers by administrators and spent once each.

法 Art. 52: an on-the-spot decision is written on a form "of a prescribed format and bearing a
number" (预定格式、编有号码) and handed over at once, so its number is printed before the case
exists; it cannot come from the agency's document sequence (engine/models/sequences.py numbers documents
the system prints). The agency prints blocks of forms; an administrator hands a block (prefix,
first, last) to one officer; the officer's decision must carry a number of a block they hold, and
every number is spent once: used on one decision, or voided (作废) with its reason, never both and
never again. The ``form_number`` table's unique (prefix, serial) is what makes "once" hold when two
officers submit at the same moment; the checks before it only make the refusal readable.

A form declares which fields hold such numbers (checked when its task completes, in the task's
transaction, audited on the case):

- ``"x-form-number": "issued"`` on a top-level string field: the number of the form handed over;
- ``"x-form-number": "voided"`` on a string field of an array's rows, and ``"x-form-number":
  "void_reason"`` on the row's reason: the forms spoiled while writing it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from engine import clock
from engine.db.command import command
from engine.errors import InvalidInput, NotFound
from engine.models import Case, FormNumber, FormNumberRange, Task, User, db
from engine.policy.permissions import HANDLER, require
from engine.record import audit

MAX_PREFIX = 40
MAX_SERIAL = 999_999_999  # nine digits: the column is a 32-bit integer
MAX_BLOCK = 10_000  # one allocation; a typo of a few zeros should not hand out a million numbers
MAX_REASON = 1000
_NUMBER = re.compile(r"(.*?)([0-9]+)")


@dataclass(frozen=True)
class RangeRow:
    """A block as the administration page lists it."""

    range: FormNumberRange
    used: int
    voided: int

    @property
    def left(self) -> int:
        return self.range.size - self.used - self.voided


# --------------------------------------------------------------------------------------------- administration
@command
def allocate_range(actor: User, holder: str, prefix: str, first: str, last: str, note: str = "") -> FormNumberRange:
    """Hand the forms ``prefix`` + ``first``…``last`` to the officer ``holder``.

    Refused when any of those numbers is in a block someone holds now; a withdrawn block's numbers
    may be handed out again (its forms were given back), and the ones already spent stay spent.
    """
    _administrator(actor)
    prefix = _normal(prefix)
    errors: list[dict[str, str]] = []
    if not prefix or len(prefix) > MAX_PREFIX or prefix[-1].isdigit():
        errors.append(_error("prefix", "编号前缀", f"编号前缀须为 1 至 {MAX_PREFIX} 个字符，且不以数字结尾"
                                                  f"（数字部分是流水号） (1–{MAX_PREFIX} characters, not ending in a digit)"))
    start, end = _serial_text(first), _serial_text(last)
    if start is None:
        errors.append(_error("first", "起始号", "起始号须为数字 (the first number must be digits)"))
    if end is None:
        errors.append(_error("last", "终止号", "终止号须为数字 (the last number must be digits)"))
    if start is not None and end is not None:
        if not 0 <= int(start) <= int(end) <= MAX_SERIAL:
            errors.append(_error("last", "终止号", f"终止号不能小于起始号，且不超过 {MAX_SERIAL} "
                                                f"(the last number must not be below the first, nor above {MAX_SERIAL})"))
        elif int(end) - int(start) + 1 > MAX_BLOCK:
            errors.append(_error("last", "终止号", f"一次最多分配 {MAX_BLOCK} 个编号 (at most {MAX_BLOCK} numbers at once)"))
    officer = db.session.scalars(select(User).where(User.username == (holder or "").strip())).first()
    if officer is None or not officer.active:
        errors.append(_error("holder", "领用人", "领用人不存在或已停用 (no such active officer)"))
    elif not officer.has_role(HANDLER):
        errors.append(_error("holder", "领用人", "领用人须为承办人（执法人员） (the holder must be a handler)"))
    if errors:
        raise InvalidInput("号段分配有误：" + "；".join(e["message"] for e in errors), details=errors)
    assert start is not None and end is not None and officer is not None
    note = (note or "").strip()[:MAX_REASON]
    # The system chain's head is locked by the audit record: allocations are serialized, so the
    # overlap check below cannot race another administrator's allocation (PostgreSQL; SQLite
    # serializes writers anyway).
    audit.record("form_numbers.allocated", actor.username,
                 {"holder": officer.username, "prefix": prefix, "first": start, "last": end, "note": note})
    overlap = db.session.scalars(select(FormNumberRange).where(
        FormNumberRange.prefix == prefix, FormNumberRange.withdrawn_at.is_(None),
        FormNumberRange.first <= int(end), FormNumberRange.last >= int(start))).first()
    if overlap is not None:
        raise InvalidInput(
            f"号段与 {overlap.holder.display_name or overlap.holder.username} 领用的号段 "
            f"{overlap.number(overlap.first)}–{overlap.number(overlap.last)} 重叠：同一编号只能由一人领用，"
            "请先收回该号段或调整起止号 (overlaps a block someone holds: withdraw it first or change the numbers)",
            details=[_error("first", "起始号", "与已分配的号段重叠 (overlaps an allocated block)")])
    block = FormNumberRange(prefix=prefix, first=int(start), last=int(end), width=_width(start, end),
                            holder_id=officer.id, note=note, allocated_by=actor.username, allocated_at=clock.now())
    db.session.add(block)
    db.session.flush()
    return block


@command
def withdraw_range(actor: User, range_id: int, reason: str) -> FormNumberRange:
    """收回: the holder can no longer use the block's numbers; the spent ones stay as they are."""
    _administrator(actor)
    block = db.session.get(FormNumberRange, range_id)
    if block is None:
        raise NotFound("号段不存在 (no such block)")
    if not block.active:
        raise InvalidInput("该号段已收回 (the block was already withdrawn)")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("请填写收回理由 (a reason is required)", details=[_error("reason", "收回理由", "必填 (required)")])
    block.withdrawn_at, block.withdrawn_by, block.withdraw_reason = clock.now(), actor.username, reason[:MAX_REASON]
    audit.record("form_numbers.withdrawn", actor.username,
                 {"range": block.id, "holder": block.holder.username, "prefix": block.prefix, "first": block.first,
                  "last": block.last, "reason": block.withdraw_reason})
    return block


def ranges() -> list[RangeRow]:
    """Every block, newest first, with how many of its numbers were used and voided."""
    counts: dict[tuple[int, str], int] = {
        (range_id, status): n for range_id, status, n in db.session.execute(
            select(FormNumber.range_id, FormNumber.status, func.count()).group_by(FormNumber.range_id, FormNumber.status))
    }
    blocks = db.session.scalars(select(FormNumberRange).order_by(FormNumberRange.id.desc()))
    return [RangeRow(b, counts.get((b.id, "used"), 0), counts.get((b.id, "voided"), 0)) for b in blocks]


def spent_numbers(range_id: int) -> tuple[FormNumberRange, list[tuple[FormNumber, str, str]]]:
    """A block and its spent numbers, each with the case number and the officer's name."""
    block = db.session.get(FormNumberRange, range_id)
    if block is None:
        raise NotFound("号段不存在 (no such block)")
    rows = db.session.execute(
        select(FormNumber, Case.case_number, User.display_name, User.username)
        .join(Case, Case.id == FormNumber.case_id).join(User, User.id == FormNumber.user_id)
        .where(FormNumber.range_id == range_id).order_by(FormNumber.serial))
    return block, [(n, case_number, name or username) for n, case_number, name, username in rows]


# --------------------------------------------------------------------------------------------- on completion
def record_form_numbers(actor: User, task: Task, schema: dict[str, Any], data: dict[str, Any]) -> None:
    """Refuse, naming the field, a number the officer does not hold or that was spent; else record
    each number as used or voided on the case. Runs inside the completing command's transaction."""
    issued, voided = _numbered_fields(schema)
    if not issued and not voided:
        return
    wanted: list[tuple[str, str, str, str, str]] = []  # (field path, label, number, status, reason)
    for name in issued:
        if isinstance(data.get(name), str):
            wanted.append((name, _title(schema, name, "编号"), data[name], "used", ""))
    for name, number_key, reason_key in voided:
        for i, row in enumerate(data.get(name) or []):
            if isinstance(row, dict) and isinstance(row.get(number_key), str):
                reason = str(row.get(reason_key) or "") if reason_key else ""
                wanted.append((f"{name}.{i}.{number_key}", _title(schema, name, "作废编号"), row[number_key], "voided", reason))
    if not wanted:
        return
    held = list(db.session.scalars(select(FormNumberRange).where(
        FormNumberRange.holder_id == actor.id, FormNumberRange.withdrawn_at.is_(None))))
    errors: list[dict[str, str]] = []
    accepted: list[tuple[str, str, FormNumberRange, int, str, str]] = []
    seen: dict[tuple[str, int], str] = {}
    for field, label, typed, status, reason in wanted:
        problem, block, serial = _check(typed, held, status)
        if problem is None and block is not None:
            key = (block.prefix, serial)
            if key in seen:
                problem = f"编号 {block.number(serial)} 在本表中重复填写：每个编号只能使用或作废一次 (number entered twice)"
            seen[key] = field
        if problem is not None:
            errors.append({"field": field, "label": label, "message": problem})
        else:
            assert block is not None
            accepted.append((field, label, block, serial, status, reason))
    if errors:
        raise InvalidInput("；".join(e["message"] for e in errors[:5]), details=errors)
    now = clock.now()
    for field, label, block, serial, status, reason in accepted:
        number = block.number(serial)
        try:
            with db.session.begin_nested():  # another officer spending the same number at this moment
                db.session.add(FormNumber(range_id=block.id, prefix=block.prefix, serial=serial, number=number,
                                          status=status, case_id=task.case_id, task_id=task.id, user_id=actor.id,
                                          reason=reason[:MAX_REASON], recorded_at=now))
        except IntegrityError:
            message = _spent_message(number, _spent(block.prefix, serial))
            raise InvalidInput(message, details=[{"field": field, "label": label, "message": message}])
        audit.record(f"form_number.{status}", actor.username,
                     {"number": number, "range": block.id, "field": field, **({"reason": reason} if reason else {})},
                     case_id=task.case_id, instance_id=task.instance_id, task_id=task.id)


def _check(typed: str, held: list[FormNumberRange], status: str) -> tuple[str | None, FormNumberRange | None, int]:
    text = _normal(typed)
    match = _NUMBER.fullmatch(text)
    kind = "作废的决定书编号" if status == "voided" else "决定书编号"
    block = None
    if match is not None and len(match.group(2)) <= 9:
        serial = int(match.group(2))
        block = next((b for b in held if b.prefix == match.group(1) and b.first <= serial <= b.last), None)
    if block is None:
        return (f"{kind} {text} 不在您领用的号段内，请使用本人号段内的编号或联系管理员分配号段 "
                f"(number {text} is not in a block allocated to you: use a number of your own block, "
                "or ask an administrator to allocate one)"), None, 0
    spent = _spent(block.prefix, serial)
    if spent is not None:
        return _spent_message(block.number(serial), spent), block, serial
    return None, block, serial


def _spent(prefix: str, serial: int) -> tuple[str, str] | None:
    row = db.session.execute(select(FormNumber.status, Case.case_number).join(Case, Case.id == FormNumber.case_id)
                             .where(FormNumber.prefix == prefix, FormNumber.serial == serial)).first()
    return (row[0], row[1]) if row is not None else None


def _spent_message(number: str, spent: tuple[str, str] | None) -> str:
    if spent is not None and spent[0] == "voided":
        return f"编号 {number} 已作废，作废的决定书不能再使用，请使用另一份决定书 (number {number} was voided and can never be used)"
    case = f"（案件 {spent[1]}）" if spent is not None else ""
    return (f"编号 {number} 已使用{case}，每份决定书只能使用一次，请核对编号 "
            f"(number {number} was already used{' in case ' + spent[1] if spent else ''})")


def _numbered_fields(schema: dict[str, Any]) -> tuple[list[str], list[tuple[str, str, str | None]]]:
    issued: list[str] = []
    voided: list[tuple[str, str, str | None]] = []
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        if prop.get("x-form-number") == "issued":
            issued.append(name)
        items = prop.get("items")
        row = items.get("properties") if isinstance(items, dict) else None
        if isinstance(row, dict):
            marks = {p.get("x-form-number"): k for k, p in row.items() if isinstance(p, dict)}
            if "voided" in marks:
                voided.append((name, marks["voided"], marks.get("void_reason")))
    return issued, voided


def _title(schema: dict[str, Any], name: str, default: str) -> str:
    prop = (schema.get("properties") or {}).get(name) or {}
    return str(prop.get("title") or default)


def _normal(text: str) -> str:
    """Numbers typed with full-width digits (０１２) or stray spaces are the same printed number."""
    return unicodedata.normalize("NFKC", text or "").strip()


def _serial_text(text: str) -> str | None:
    text = _normal(text)
    return text if text.isascii() and text.isdigit() and len(text) <= 9 else None


def _width(first: str, last: str) -> int:
    """Forms printed "0001"…"0500" carry leading zeros; "1"…"500" do not."""
    return max(len(first), len(last)) if first.startswith("0") and len(first) > 1 else 0


def _error(field: str, label: str, message: str) -> dict[str, str]:
    return {"field": field, "label": label, "message": message}


def _administrator(actor: User) -> None:
    require(actor, "numbering.manage")
