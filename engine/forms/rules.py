"""Form rules that need more than the submitted data: the case's party, or a limit of the registry.

JSON Schema sees only what the officer typed; some lawful bounds depend on the case (法 Art. 51:
an on-the-spot fine is capped at 200 元 for a citizen and 3,000 元 for an organization) or on a
time limit administrators set (告知承诺制: the rectification deadline the officer sets may not be
later than the registry's limit allows). A form states such a bound on the field it concerns, so
designers see it in the form and API clients in the schema; it is checked when the task completes,
after the schema, and refused with the rule it breaks before anything is applied:

- ``"x-maximum-by-party-type": {"limits": {"citizen": 200, "organization": 3000}, "basis": "…",
  "advice": "…"}`` on a number: at most the limit for the case's party type;
- ``"x-within-time-limit": {"time_limit": "<registry key>", "from": "<date field>"}`` on a date: not
  before the ``from`` date of the same form, and not after the last day of the limit counted from it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from engine import clock
from engine.deadlines.limits import Deadlines
from engine.errors import InvalidInput
from engine.forms.evidence_field import evidence_problem
from engine.models import Case, TimeLimit, db

PARTY_LABELS = {"citizen": "公民", "organization": "法人或者其他组织"}
UNIT_LABELS = {"working_days": "个工作日", "natural_days": "日", "hours": "小时"}


def check_case_rules(case: Case, schema: dict[str, Any], data: dict[str, Any]) -> None:
    """Refuse every broken bound at once, each message beside its field."""
    errors: list[dict[str, str]] = []
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict) or name not in data:
            continue
        problem = None
        if isinstance(prop.get("x-maximum-by-party-type"), dict):
            problem = _party_maximum(case, prop, data[name])
        if problem is None and isinstance(prop.get("x-within-time-limit"), dict):
            problem = _within_time_limit(schema, prop, data[name], data)
        if problem is None and prop.get("x-widget") == "evidence":
            problem = evidence_problem(case, prop, data[name])  # ids of this case's items, not withdrawn, of an allowed kind
        if problem is not None:
            errors.append({"field": name, "label": str(prop.get("title") or name), "message": problem})
    if errors:
        raise InvalidInput("；".join(f"{e['label']}：{e['message']}" for e in errors), details=errors)


def _party_maximum(case: Case, prop: dict[str, Any], value: Any) -> str | None:
    rule = prop["x-maximum-by-party-type"]
    limit = (rule.get("limits") or {}).get(case.party_type)
    if not isinstance(value, int | float | Decimal) or isinstance(value, bool) or not isinstance(limit, int | float):
        return None
    if Decimal(str(value)) <= Decimal(str(limit)):
        return None
    amount = _amount(limit, prop)
    party = PARTY_LABELS.get(case.party_type, case.party_type)
    basis = f"（{rule['basis']}）" if rule.get("basis") else ""
    advice = f"；{rule['advice']}" if rule.get("advice") else ""
    return (f"当事人为{party}，不得超过 {amount}{basis}：请改为 {amount}以下{advice} "
            f"(at most {limit} for a party of type {case.party_type}: lower it)")


def _within_time_limit(schema: dict[str, Any], prop: dict[str, Any], value: Any, data: dict[str, Any]) -> str | None:
    rule = prop["x-within-time-limit"]
    key, source = rule.get("time_limit"), rule.get("from")
    start, chosen = _date(data.get(source)), _date(value)
    if not isinstance(key, str) or start is None or chosen is None:
        return None  # the schema reports a missing or malformed date
    source_title = str(((schema.get("properties") or {}).get(source) or {}).get("title") or source)
    if chosen < start:
        return f"不得早于{source_title} {start.isoformat()} (may not be before {source} {start.isoformat()})"
    deadlines = Deadlines()
    limit = deadlines.limit(key)
    # The period ends at 24:00 of its last day (the next day's 00:00 in China): that day is the latest.
    last_day = (deadlines.deadline(key, start) - dt.timedelta(microseconds=1)).astimezone(clock.SHANGHAI).date()
    if chosen <= last_day:
        return None
    row = db.session.get(TimeLimit, key)
    name = row.name if row is not None else key
    basis = f"（{row.legal_basis}）" if row is not None and row.legal_basis else ""
    return (f"不得晚于 {last_day.isoformat()}：{name}为自{source_title}起 {limit.amount} {UNIT_LABELS.get(limit.unit, limit.unit)}"
            f"{basis}，请选择 {start.isoformat()} 至 {last_day.isoformat()} 之间的日期 "
            f"(at most {limit.amount} {limit.unit} from {source}: choose a date up to {last_day.isoformat()})")


def _amount(limit: float, prop: dict[str, Any]) -> str:
    text = f"{limit:,.2f}".rstrip("0").rstrip(".") if isinstance(limit, float) else f"{limit:,}"
    return f"{text} 元" if prop.get("x-widget") == "money" else text


def _date(value: Any) -> dt.date | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None
