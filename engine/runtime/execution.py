"""送达与执行 — when a decision counts as served, and what a fine still owes (加处罚款 and balance).

Pure arithmetic on recorded facts: no database, no clock (the caller says which day ``as_of`` is).
The ordinary procedure's scripts call the ``SCRIPT_FUNCTIONS`` below (injected into the restricted
script engine next to ``deadline``); the case page and the API read :func:`summary`.

The rules, and why:

- **Service** (法 Art. 61; 民事诉讼法 Art. 87–95): the periods run from the day the decision is
  *served*, not from the day the officer records it. 邮寄送达 is served on the date on the postal
  receipt; 公告送达 is deemed served when 30 days have passed since publication; 电子送达 only with
  the party's recorded consent (法 Art. 61(2)). 复议 within 60 days (行政复议法 Art. 20), 诉讼
  within 6 months (行政诉讼法 Art. 46) of service; a period in months ends on the corresponding day
  of its last month, or on that month's last day when it has none (民法典 Art. 202).
- **Payment** within 15 days of service (法 Art. 67), unless the agency approved a deferral or
  instalments (法 Art. 66): the approved schedule then says which part is due when; the part it does
  not cover stays due on the statutory date.
- **加处罚款** (法 Art. 72(1); 行政强制法 Art. 45): see :func:`surcharge`.
- **Enforcement** (行政强制法 Art. 53–54): when the periods for 复议 and 诉讼 have ended without
  payment, the agency serves a 催告书 and, ten (working) days after it was served, may apply to the
  people's court, within three months of the end of those periods.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from engine.errors import InvalidInput

SURCHARGE_RATE = Decimal("0.03")  # 法 Art. 72(1): 每日按罚款数额的百分之三加处罚款
CENT = Decimal("0.01")
PAYMENT_PERIOD_DAYS = 15  # 法 Art. 67; the registry's ``payment`` limit is fixed at 15 (min = max)
RECONSIDERATION_DAYS = 60  # 行政复议法 Art. 20
LITIGATION_MONTHS = 6  # 行政诉讼法 Art. 46
ENFORCEMENT_APPLICATION_MONTHS = 3  # 行政强制法 Art. 53
ENFORCEMENT_APPLICATION_DAYS = 90  # the registry's ``enforcement_application`` limit (min = max), see enforcement_period_from
PUBLIC_NOTICE_DAYS = 30  # 民事诉讼法 Art. 95: 自发出公告之日起，经过三十日，即视为送达

Payment = tuple[dt.date, Decimal]


# --------------------------------------------------------------------------------------- arithmetic
def surcharge(fine: Decimal, due_on: dt.date, as_of: dt.date, paid: Sequence[Payment], *,
              schedule: Sequence[Payment] | None = None,
              excluded: Iterable[tuple[dt.date, dt.date | None]] = ()) -> Decimal:
    """加处罚款 accrued by the end of ``as_of``, in 元 rounded to the fen (half up).

    法 Art. 72(1): "到期不缴纳罚款的，每日按罚款数额的百分之三加处罚款，加处罚款的数额不得超出罚款
    的数额" (also 行政强制法 Art. 45). Read here as:

    - Each day *d* after a due date, up to and including ``as_of``, accrues 3 % of the part of the fine
      that was due before *d* and is still unpaid at the end of *d*. The first day that accrues is the
      day after the due date (the due date itself is the last day to pay).
    - Payments go to the fine first; the surcharge is owed on top and never accrues on itself. So a
      payment made on or before the due date lowers the base from the first day; a payment made
      later lowers it from the day it was made (that day no longer accrues on the paid part).
    - The total is capped at the *original* fine, however it was paid down.
    - ``schedule``: an approved deferral or instalment plan, ``(due_on, amount)`` each (法 Art. 66);
      the part of the fine it does not cover stays due on ``due_on``.
    - ``excluded``: days of 行政复议 or 行政诉讼, from filing to conclusion inclusive (an open end runs to
      ``as_of``), accrue nothing (法 Art. 73(3)).

    Example: a ¥5,000 fine unpaid 10 days after its due date owes 3 % × 5,000 × 10 = ¥1,500; from the
    34th day the cap of ¥5,000 applies.
    """
    fine = _money(fine)
    plan = _plan(fine, due_on, schedule)
    payments = sorted((day, _money(amount)) for day, amount in paid)
    windows = [(start, end or as_of) for start, end in excluded]
    total = Decimal(0)
    first = min(day for day, _amount in plan) + dt.timedelta(days=1)
    day = first
    while day <= as_of and total < fine:
        if not any(start <= day <= end for start, end in windows):
            due = sum((amount for on, amount in plan if on < day), Decimal(0))
            paid_by = sum((amount for on, amount in payments if on <= day), Decimal(0))
            total += max(Decimal(0), min(due, fine) - paid_by) * SURCHARGE_RATE
        day += dt.timedelta(days=1)
    return min(total, fine).quantize(CENT, ROUND_HALF_UP)


def balance(fine: Decimal, due_on: dt.date, as_of: dt.date, paid: Sequence[Payment], *,
            schedule: Sequence[Payment] | None = None,
            excluded: Iterable[tuple[dt.date, dt.date | None]] = ()) -> Decimal:
    """What the party still owes at the end of ``as_of``: the unpaid fine plus the unpaid 加处罚款.

    Payments made up to ``as_of`` count, the fine first (see :func:`surcharge`); never below zero.
    """
    owed = _money(fine) + surcharge(fine, due_on, as_of, paid, schedule=schedule, excluded=excluded)
    paid_total = sum((_money(amount) for day, amount in paid if day <= as_of), Decimal(0))
    return max(Decimal(0), owed - paid_total).quantize(CENT, ROUND_HALF_UP)


def add_months(day: dt.date, months: int) -> dt.date:
    """The corresponding day ``months`` later, or that month's last day (民法典 Art. 202)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# --------------------------------------------------------------------------------------- for scripts
def service_dates(service_method: str, served_on: Any, public_notice_on: Any = None, postal_receipt_on: Any = None,
                  electronic_consent: Any = None) -> dict[str, str]:
    """The date the decision counts as served and the remedy periods it starts (ISO dates).

    Refuses (``InvalidInput``, the task is not completed) what would make the service invalid.
    """
    if service_method == "electronic" and electronic_consent is not True:
        raise _refusal("electronic_consent",
                       "电子送达须经当事人同意并签订确认书（《行政处罚法》第六十一条第二款）：当事人未同意的，"
                       "请改用直接送达、邮寄送达等其他方式；已同意的，请勾选“当事人已同意电子送达并签订确认书”",
                       "electronic service needs the party's recorded consent (Art. 61(2)): tick the consent, "
                       "or serve the decision another way")
    if service_method == "postal":
        if not postal_receipt_on:
            raise _refusal("postal_receipt_on",
                           "邮寄送达以回执上注明的收件日期为送达日期（《民事诉讼法》第九十一条）：请填写邮寄回执的签收日期",
                           "postal service is served on the date on the postal receipt: enter that date")
        if served_on and _date(postal_receipt_on) < _date(served_on):
            raise _refusal("postal_receipt_on", "邮寄回执的签收日期不能早于寄出日期：请核对回执",
                           "the receipt date cannot precede the posting date: check the receipt")
        effective = _date(postal_receipt_on)
    elif service_method == "public_notice":
        if not public_notice_on:
            raise _refusal("public_notice_on",
                           "公告送达自发出公告之日起经过三十日视为送达（《民事诉讼法》第九十五条）：请填写公告日期",
                           "service by public notice counts from the day of publication: enter it")
        effective = _date(public_notice_on) + dt.timedelta(days=PUBLIC_NOTICE_DAYS)
    else:
        effective = _date(served_on)
    return {
        "effective_served_on": effective.isoformat(),
        "reconsideration_until": (effective + dt.timedelta(days=RECONSIDERATION_DAYS)).isoformat(),
        "litigation_until": add_months(effective, LITIGATION_MONTHS).isoformat(),
    }


def fine_execution(fine: Any, due_on: Any, payments: Any = None, schedule: Any = None, remedy_filed_on: Any = None,
                   remedy_concluded_on: Any = None, litigation_until: Any = None, as_of: Any = None) -> dict[str, Any]:
    """Where the fine stands at the end of ``as_of``, as plain task data (numbers in 元, ISO dates).

    ``payments`` and ``schedule`` are the form rows (``paid_on``/``amount``, ``due_on``/``amount``).
    """
    amount = _money(fine)
    due = _date(due_on)
    today = _date(as_of)
    paid = _payments(payments)
    plan = _rows(schedule, "due_on")
    excluded = [(_date(remedy_filed_on), _date(remedy_concluded_on) if remedy_concluded_on else None)] \
        if remedy_filed_on else []
    accrued = surcharge(amount, due, today, paid, schedule=plan, excluded=excluded)
    paid_total = sum((a for d, a in paid if d <= today), Decimal(0))
    fine_balance = max(Decimal(0), amount - paid_total)
    surcharge_balance = max(Decimal(0), accrued - max(Decimal(0), paid_total - amount))
    effective_plan = _plan(amount, due, plan)
    covered = paid_total
    next_due = None
    for on, part in effective_plan:  # the earliest date whose share is not yet paid
        covered -= part
        if covered < 0:
            next_due = on
            break
    last_due = max(on for on, _part in effective_plan)
    overdue = (today - next_due).days if next_due and today > next_due else 0
    status: dict[str, Any] = {
        "as_of": today.isoformat(),
        "fine": _number(amount),
        "paid": _number(paid_total),
        "fine_balance": _number(fine_balance),
        "surcharge": _number(accrued),
        "surcharge_balance": _number(surcharge_balance),
        "balance": _number(fine_balance + surcharge_balance),
        "settled": fine_balance + surcharge_balance == 0,
        "surcharge_capped": accrued >= amount > 0,
        "due_on": (next_due or last_due).isoformat(),
        "last_due_on": last_due.isoformat(),
        "overdue_days": overdue,
        "schedule": [{"due_on": on.isoformat(), "amount": _number(part)} for on, part in effective_plan],
        "remedy_pending": bool(remedy_filed_on) and not remedy_concluded_on,
        # The payment task is due on the next scheduled date: its ``payment`` period (15 days) is
        # counted from 15 days before it (counts_from needs a start, and the registry counts in days).
        "period_from": (next_due - dt.timedelta(days=PAYMENT_PERIOD_DAYS)).isoformat() if plan and next_due else None,
    }
    if litigation_until:
        # 行政强制法 Art. 53: three months from the end of the 复议/诉讼 periods (or of a later instalment).
        periods_end = max(_date(litigation_until), last_due)
        apply_by = add_months(periods_end, ENFORCEMENT_APPLICATION_MONTHS)
        status.update({
            "periods_end_on": periods_end.isoformat(),
            "periods_ended": today > periods_end,
            "enforcement_apply_by": apply_by.isoformat(),
            # The registry's ``enforcement_application`` period (90 days) counted from here ends on apply_by.
            "enforcement_period_from": (apply_by - dt.timedelta(days=ENFORCEMENT_APPLICATION_DAYS)).isoformat(),
        })
    return status


def check_execution(action: str, status: Mapping[str, Any], payments: Any, recorded: Any, today: Any, *,
                    demand_served_on: Any = None, deferral_kind: Any = None, deferral_applied_on: Any = None,
                    proposed_schedule: Any = None, remedy_filed_on: Any = None, remedy_concluded_on: Any = None) -> bool:
    """Refuse a payment-step entry the law or the record does not allow; True when it may go on.

    ``status`` is :func:`fine_execution` *after* this entry; ``recorded`` the payments accepted before.
    Each refusal names its rule and says what to do.
    """
    rows = list(payments or [])
    earlier = list(recorded or [])
    if rows[:len(earlier)] != earlier:
        raise _refusal("payments",
                       "缴款记录只增不改（全过程记录，《行政处罚法》第四十七条）：已登记的缴款被删除或修改；"
                       "请保留已登记的各笔缴款，只在末尾增加新的缴款；登记有误的，在执行情况说明中注明并报负责人处理",
                       "payments are append-only: keep the recorded rows and add new ones at the end")
    day = _date(today)
    for index, row in enumerate(rows[len(earlier):], start=len(earlier)):
        if _date(row.get("paid_on")) > day:
            raise _refusal(f"payments.{index}.paid_on", "缴款日期不能晚于今天：请按缴款凭证填写实际缴款日期",
                           "a payment cannot be dated in the future: enter the date on the receipt")
    if status["paid"] > status["fine"] + status["surcharge"]:
        raise _refusal("payments",
                       f"缴款合计 {status['paid']:,.2f} 元超过应缴的罚款和加处罚款 {status['fine'] + status['surcharge']:,.2f} 元："
                       "请核对缴款金额；多缴的款项依照财政规定退还，不在此登记",
                       "the payments exceed the fine and surcharge owed: check the amounts")
    if action == "deferral":
        _check_deferral(status, demand_served_on, deferral_kind, deferral_applied_on, proposed_schedule)
    elif action == "remedy":
        if _date(remedy_filed_on) > day or (remedy_concluded_on and _date(remedy_concluded_on) < _date(remedy_filed_on)):
            raise _refusal("remedy_filed_on", "复议、诉讼的日期有误：申请日期不能晚于今天，审结日期不能早于申请日期",
                           "check the dates: filed no later than today, concluded no earlier than filed")
    elif action == "demand":
        if status["settled"]:
            raise _refusal("execution_action", "罚款和加处罚款已经缴清，无需催告：请选择“登记缴款”，案件转入结案",
                           "nothing is owed, no demand is needed: choose 'record payment'")
        if demand_served_on:
            raise _refusal("execution_action",
                           f"催告书已于 {demand_served_on} 送达：催告期满（十个工作日）仍未履行的，系统转入申请人民法院强制执行",
                           "the demand has been served already; enforcement follows when its ten days end")
        if status.get("remedy_pending"):
            raise _refusal("execution_action",
                           "当事人已申请行政复议或者提起行政诉讼，尚未审结的，不得催告和申请强制执行（《行政强制法》第五十三条）："
                           "审结后请登记审结日期，再送达催告书",
                           "a reconsideration or lawsuit is pending: record its conclusion first")
        if not status.get("periods_ended"):
            raise _refusal("execution_action",
                           f"复议、诉讼期限至 {status.get('periods_end_on')} 届满，期满当事人仍未履行的才能催告"
                           "（《行政强制法》第五十三条、第五十四条）：请在期满后再送达催告书；其间可以登记缴款",
                           "the periods for reconsideration and litigation have not ended: serve the demand after them")
    return True


def check_closing(closing_reason: str, status: Mapping[str, Any] | None, enforcement_applied_on: Any = None,
                  termination_ground: Any = None) -> bool:
    """结案 with a fine decided: only when it is paid, or on a recorded legal ground (法 Art. 72–73;
    行政强制法 Art. 53 and 40). ``status`` is :func:`fine_execution` today, or None without a fine."""
    if status is None:
        return True
    owed = f"尚欠 {status['balance']:,.2f} 元（罚款 {status['fine_balance']:,.2f} 元，加处罚款 {status['surcharge_balance']:,.2f} 元）"
    if closing_reason == "executed" and not status["settled"]:
        raise _refusal("closing_reason",
                       f"罚款未缴清不能以“执行完毕”结案：{owed}。请先登记缴款；逾期不缴纳的，催告后申请人民法院强制执行"
                       "并以“已申请人民法院强制执行”结案，或者在执行步骤登记终结执行的法定理由后以“依法终结执行”结案",
                       "the fine is not paid: record the payments, or close on a recorded legal ground")
    if closing_reason == "enforcement" and not enforcement_applied_on:
        raise _refusal("closing_reason",
                       f"尚未登记申请人民法院强制执行，不能以此理由结案：{owed}。请在执行步骤依法催告并登记强制执行申请",
                       "no court enforcement application is recorded: apply first")
    if closing_reason == "terminated" and not termination_ground and not status["settled"]:
        raise _refusal("closing_reason",
                       f"尚未登记终结执行的法定理由（《行政强制法》第四十条），不能以此理由结案：{owed}",
                       "no legal ground for ending the execution is recorded")
    if closing_reason in ("no_penalty", "transferred"):
        raise _refusal("closing_reason", "本案作出了罚款决定，结案理由不能是“不予行政处罚”或“移送司法机关”：请按执行情况选择",
                       "a fine was decided: choose the reason that matches its execution")
    return True


SCRIPT_FUNCTIONS: Mapping[str, Any] = {
    "service_dates": service_dates,
    "fine_execution": fine_execution,
    "check_execution": check_execution,
    "check_closing": check_closing,
}
"""What the ordinary procedure's scripts may call (engine/runtime/instance.py ``script_engine``)."""


# --------------------------------------------------------------------------------------- for views
def summary(data: Mapping[str, Any], as_of: dt.date) -> dict[str, Any] | None:
    """The execution of a decided fine for the case page and the API, from the case's task data;
    None when no fine was decided or it has not been served yet."""
    fine = data.get("decided_fine") or 0
    if data.get("decision_outcome") != "penalty" or not fine or not data.get("payment_due_on"):
        return None
    status = fine_execution(fine, data["payment_due_on"], data.get("payments"), data.get("payment_schedule"),
                            data.get("remedy_filed_on"), data.get("remedy_concluded_on"), data.get("litigation_until"),
                            as_of)
    return {
        **status,
        "service_method": data.get("service_method"),
        "effective_served_on": data.get("effective_served_on"),
        "reconsideration_until": data.get("reconsideration_until"),
        "litigation_until": data.get("litigation_until"),
        "payments": list(data.get("payments") or []),
        "demand_served_on": data.get("demand_served_on"),
        "enforcement_applied_on": data.get("enforcement_applied_on"),
        "termination_ground": data.get("termination_ground"),
        "stage": _stage(status, data),
    }


def _stage(status: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    if status["settled"]:
        return "settled"
    if data.get("enforcement_applied_on"):
        return "enforcement"
    if data.get("termination_ground") and data.get("execution_action") == "terminate":
        return "terminated"
    if data.get("demand_served_on"):
        return "demand"
    if status["remedy_pending"]:
        return "remedy"
    if status["overdue_days"]:
        return "overdue"
    return "scheduled" if data.get("payment_schedule") else "payment"


# --------------------------------------------------------------------------------------- helpers
def _check_deferral(status: Mapping[str, Any], demand_served_on: Any, kind: Any, applied_on: Any, rows: Any) -> None:
    if demand_served_on:
        raise _refusal("execution_action",
                       "已送达催告书的，不再受理暂缓或者分期缴纳的申请（《行政处罚法》第六十六条，申请应在执行前提出）："
                       "当事人在催告期间履行的，请登记缴款",
                       "after the demand, deferral is no longer available: record payments instead")
    if status["fine_balance"] <= 0:
        raise _refusal("execution_action", "罚款已缴清，无需暂缓或者分期缴纳", "the fine is paid: nothing to defer")
    plan = _rows(rows, "due_on")
    if kind == "deferred" and len(plan) != 1:
        raise _refusal("proposed_schedule", "暂缓缴纳只登记一个缴纳日期和金额：如需分次缴纳，请选择“分期缴纳”",
                       "a deferral has exactly one date: choose instalments for several")
    if kind == "instalments" and len(plan) < 2:
        raise _refusal("proposed_schedule", "分期缴纳至少登记两期：只有一个日期的，请选择“暂缓缴纳”",
                       "instalments need at least two dates")
    if any(amount <= 0 for _on, amount in plan):
        raise _refusal("proposed_schedule", "每期金额必须大于零", "every instalment must be more than zero")
    if applied_on and any(on <= _date(applied_on) for on, _amount in plan):
        raise _refusal("proposed_schedule", "缴纳日期必须晚于申请日期", "every date must come after the application")
    total = sum((amount for _on, amount in plan), Decimal(0))
    if total != _money(status["fine_balance"]):
        raise _refusal("proposed_schedule",
                       f"暂缓或者分期缴纳的金额合计 {total:,.2f} 元应等于尚未缴纳的罚款 {status['fine_balance']:,.2f} 元"
                       "（《行政处罚法》第六十六条）：请调整各期金额",
                       "the instalments must add up to the unpaid fine")


def _plan(fine: Decimal, due_on: dt.date, schedule: Sequence[Payment] | None) -> list[Payment]:
    rows = sorted((day, _money(amount)) for day, amount in (schedule or []))
    rest = fine - sum((amount for _day, amount in rows), Decimal(0))
    return sorted(([(due_on, rest)] if rest > 0 or not rows else []) + rows)


def _payments(rows: Any) -> list[Payment]:
    return _rows(rows, "paid_on")


def _rows(rows: Any, date_key: str) -> list[Payment]:
    return [(_date(row[date_key]), _money(row["amount"])) for row in rows or []]


def _money(value: Any) -> Decimal:
    try:
        return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)
    except (InvalidOperation, ValueError) as exc:
        raise InvalidInput(f"金额无法识别：{value!r} (not an amount of money)") from exc


def _number(value: Decimal) -> float:
    return float(value.quantize(CENT, ROUND_HALF_UP))


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        raise InvalidInput(f"需要日期而不是时刻：{value!r} (a date is needed, not an instant)")
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise InvalidInput(f"日期无法识别：{value!r}，应为 YYYY-MM-DD (not a date)") from exc


def _refusal(field: str, chinese: str, english: str) -> InvalidInput:
    message = f"{chinese} ({english})"
    return InvalidInput(message, details=[{"field": field, "label": "执行" if field else "表单", "message": message}])
