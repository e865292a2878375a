"""The ordinary procedure's case clock (法 Art. 60): 90 natural days from filing (立案).

Hearing, public notice, testing and suspension (中止) periods are not counted, and an extension
needs the agency head's approval (a further one, collective discussion). The deadline is always
recomputed from recorded facts — filing date + limit + paused days + approved extensions — so a
changed limit, a pause or a migration gives the same legal answer, never a drifted one.

BPMN scripts drive it through ``case_clock('start'|'pause'|'resume'|'stop', 'YYYY-MM-DD'[, kind])``;
the calls are collected while the engine steps and applied in the same transaction.

Uncounted periods are intervals (``ClockPause`` rows), not a running total: a testing period an
officer records may overlap a suspension (中止) or a hearing, and a day in two of them is still one
day. ``case.paused_days`` is therefore the length of the *union* of the closed intervals (clipped to
the filing date), recomputed whenever one opens or closes; the clock is paused while any is open.
An excluded period (检测、检验、检疫、鉴定, 公告) pauses only the clock: unlike 中止, the instance keeps
running and its tasks can be done.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update

from engine import clock
from engine.db.command import command
from engine.deadlines.limits import CASE_CLOCK, Deadlines
from engine.definitions.procedures import clock_key
from engine.errors import Forbidden, InvalidInput, InvalidState, NotFound
from engine.models import Case, ClockPause, ProcessInstance, Task, User, db
from engine.policy.access import get_case, refuse_recused
from engine.policy.permissions import CASE_OFFICERS, require
from engine.record import audit

ACTIONS = ("start", "pause", "resume", "stop")
EXTENSION_KEY = "case_decision_extension"
COUNTING = ("running", "paused", "overdue")  # the clock has started and not stopped
# What a procedure pauses the clock for (its own pauses are its own to resume) …
PROCESS_KINDS = ("hearing", "procedure")
# … and the periods SAMR names as not counted, which officers record as they happen (法 Art. 60).
EXCLUDED_KINDS = {"testing": "检测", "inspection": "检验", "quarantine": "检疫", "appraisal": "鉴定", "public_notice": "公告"}
PAUSE_KINDS = {"suspension": "中止", "hearing": "听证", "procedure": "程序暂停", **EXCLUDED_KINDS}
OFFICER_ROLES = CASE_OFFICERS
MAX_TEXT = 1000


@dataclass(frozen=True)
class ClockEvent:
    action: str
    on: dt.date
    kind: str = "procedure"


class ClockRecorder:
    """The ``case_clock`` function given to BPMN scripts: records intents, changes nothing yet."""

    def __init__(self) -> None:
        self.events: list[ClockEvent] = []

    def __call__(self, action: str, on: Any = None, kind: str = "procedure") -> bool:
        if action not in ACTIONS:
            raise ValueError(f"case_clock action must be one of {ACTIONS}")
        if kind not in PROCESS_KINDS:
            raise ValueError(f"case_clock kind must be one of {PROCESS_KINDS}")
        self.events.append(ClockEvent(action, _as_date(on) if on else clock.today_shanghai(), kind))
        return True


def apply_events(case: Case, events: list[ClockEvent], deadlines: Deadlines, actor: str) -> None:
    for event in events:
        _apply(case, event.action, event.on, deadlines, actor, kind=event.kind)


@command
def extend_case_clock(actor: User, case_id: int, days: int, reason: str, collective_discussion: bool = False,
                      discussion_on: Any = None, discussion_number: str = "") -> Case:
    """延长办案期限 (法 Art. 60; SAMR): the first extension by the agency head, any further one only by the
    agency heads' collective discussion, whose record (date and number) the approval form cites.
    Issues the 延长办案期限审批表 in the same transaction."""
    require(actor, "case.extend_clock")
    case = get_case(actor, case_id)  # another unit's case is a 404 whatever the body
    refuse_recused(actor, case.id)  # 法 Art. 43
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("请填写延长理由 (a reason is required)", details=[{"field": "reason", "message": "必填"}])
    if len(reason) > MAX_TEXT:
        raise InvalidInput(f"延长理由不超过 {MAX_TEXT} 字 (reason too long)", details=[{"field": "reason", "message": "过长"}])
    deadlines = Deadlines()
    limit = deadlines.limit(EXTENSION_KEY)
    if isinstance(days, bool) or not isinstance(days, int) or days < 1 or days > limit.amount:
        raise InvalidInput(f"延长天数须为 1–{limit.amount} 日（《行政处罚法》第六十条；办案期限延长的时限设置）：请重新填写 "
                           f"(extension must be 1–{limit.amount} days)", details=[{"field": "days", "message": "超出范围"}])
    instance_id = _lock_case(case)
    if case.clock_state not in COUNTING:
        raise InvalidState("办案期限未在计算中（自立案之日起计算，作出决定或终止调查后停止），无需延长 "
                           "(the case clock is not running: it starts at filing and stops at the decision or termination)")
    discussed_on: dt.date | None = None
    number = (discussion_number or "").strip()
    if case.extensions >= 1:
        if not collective_discussion:
            raise Forbidden("再次延长须经集体讨论决定（《行政处罚法》第六十条）：请经行政机关负责人集体讨论后，"
                            "勾选“已经集体讨论决定”并填写集体讨论记录的日期和编号 "
                            "(a further extension needs the agency heads' collective discussion: confirm it and give "
                            "the date and number of its record)")
        discussed_on = _record_date(discussion_on, "discussion_on", "集体讨论日期")
        if not number or len(number) > 100:
            raise InvalidInput("请填写集体讨论记录编号（再次延长须附集体讨论记录） (give the number of the collective "
                               "discussion record)", details=[{"field": "discussion_number", "message": "必填"}])
    elif collective_discussion and discussion_on:
        discussed_on = _record_date(discussion_on, "discussion_on", "集体讨论日期")
    old = case.clock_deadline
    case.extensions += 1
    case.extension_days += days
    _recompute(case, deadlines)
    if case.clock_state == "overdue" and case.clock_deadline and case.clock_deadline > clock.now():
        case.clock_state = "running"
    from engine.documents import issue_case_document  # documents render templates: only when one is issued

    fields: list[tuple[str, str, Any]] = [
        ("extension", "延长次数", f"第{case.extensions}次延长"),
        ("days", "延长天数", f"{days}日"),
        ("reason", "延长理由", reason),
        ("old_deadline", "原办案期限届满", deadline_day(old)),
        ("new_deadline", "延长后办案期限届满", deadline_day(case.clock_deadline)),
        ("approval", "批准方式", "行政机关负责人集体讨论决定" if collective_discussion else "行政机关负责人批准"),
    ]
    if collective_discussion and (discussed_on or number):
        fields.append(("discussion", "集体讨论记录", f"{discussed_on.isoformat() if discussed_on else ''} {number}".strip()))
    document = issue_case_document(actor, case, "延长办案期限审批表", fields, instance_id)
    audit.record("case.clock_extended", actor.username,
                 {"days": days, "reason": reason, "collective_discussion": collective_discussion,
                  "discussion_on": discussed_on.isoformat() if discussed_on else None,
                  "discussion_number": number or None, "extension": case.extensions, "document": document.number,
                  "old_deadline": old.isoformat() if old else None,
                  "new_deadline": case.clock_deadline.isoformat() if case.clock_deadline else None},
                 case_id=case.id, instance_id=instance_id)
    return case


@command
def start_excluded_period(actor: User, case_id: int, kind: str, started_on: Any, description: str) -> ClockPause:
    """Record the start of a period the case clock does not count (检测、检验、检疫、鉴定, 公告; 法 Art. 60).

    A factual record, not a decision: the officers of the case record it as it happens. It pauses the
    clock and nothing else: the case's tasks go on (unlike 中止, which stops the case).
    """
    require_officer(actor)
    case = get_case(actor, case_id)  # another unit's case is a 404 whatever the body
    refuse_recused(actor, case.id)  # 法 Art. 43
    if kind not in EXCLUDED_KINDS:
        raise InvalidInput("请选择期间类型：检测、检验、检疫、鉴定或公告（中止请使用“中止调查”） "
                           "(kind must be testing, inspection, quarantine, appraisal or public_notice; "
                           "a suspension is recorded with 中止)", details=[{"field": "kind", "message": "无效"}])
    description = (description or "").strip()
    if not description or len(description) > MAX_TEXT:
        raise InvalidInput(f"请说明该期间的事项（如送检样品、检验机构），不超过 {MAX_TEXT} 字 "
                           "(describe the period: what was sent where)", details=[{"field": "description", "message": "必填"}])
    on = _record_date(started_on, "started_on", "开始日期")
    instance_id = _lock_case(case)
    if case.clock_state not in COUNTING or case.status not in ("open", "suspended"):
        raise InvalidState("办案期限未在计算中（自立案之日起计算，作出决定或终止调查后停止），无需登记不计入期间 "
                           "(the case clock is not running: nothing to exclude)")
    pause = open_pause(case, kind, on, actor.username, description, Deadlines())
    assert pause is not None  # the clock is counting: checked above
    audit.record("case.excluded_period_started", actor.username,
                 {"n": pause.seq, "kind": kind, "started_on": on.isoformat(), "description": description},
                 case_id=case.id, instance_id=instance_id)
    return pause


@command
def end_excluded_period(actor: User, case_id: int, seq: int, ended_on: Any) -> ClockPause:
    """Record the end of an excluded period (e.g. the test report's date); the clock counts again
    unless another uncounted period is still open."""
    require_officer(actor)
    case = get_case(actor, case_id)
    refuse_recused(actor, case.id)  # 法 Art. 43
    on = _record_date(ended_on, "ended_on", "结束日期")
    instance_id = _lock_case(case)
    pause = db.session.scalars(select(ClockPause).where(ClockPause.case_id == case.id, ClockPause.seq == seq)).first()
    if pause is None:
        raise NotFound("该不计入期间不存在 (no such excluded period)")
    if pause.kind not in EXCLUDED_KINDS:
        raise InvalidState(f"第{seq}项是{PAUSE_KINDS.get(pause.kind, pause.kind)}期间，不能在此结束："
                           "中止期间以“恢复调查”结束，听证期间由听证程序结束 "
                           "(a suspension ends with resume, a hearing with the hearing procedure)")
    if pause.ended_on is not None:
        raise InvalidState(f"该期间已于 {pause.ended_on.isoformat()} 结束 (this period has already ended)")
    if on < pause.started_on:
        raise InvalidInput(f"结束日期不得早于开始日期 {pause.started_on.isoformat()} (the end cannot precede the start)",
                           details=[{"field": "ended_on", "message": "早于开始日期"}])
    before = case.paused_days
    close_pause(case, pause, on, actor.username, f"{PAUSE_KINDS[pause.kind]}期间结束", Deadlines())
    audit.record("case.excluded_period_ended", actor.username,
                 {"n": pause.seq, "kind": pause.kind, "ended_on": on.isoformat(), "days": pause.days(),
                  "paused_days_added": case.paused_days - before},
                 case_id=case.id, instance_id=instance_id)
    return pause


def require_officer(actor: User) -> None:
    """Excluded periods are facts the case's officers record (no approval is needed to record a fact)."""
    require(actor, "case.record_excluded_period")


def pauses_of(case_id: int) -> list[ClockPause]:
    """The case's uncounted periods, in the order they were recorded."""
    return list(db.session.scalars(select(ClockPause).where(ClockPause.case_id == case_id).order_by(ClockPause.seq)))


def open_pause(case: Case, kind: str, on: dt.date, actor: str, description: str, deadlines: Deadlines) -> ClockPause | None:
    """Start an uncounted interval on ``on``; None (nothing to pause) when the clock is not counting."""
    if case.clock_state not in COUNTING:
        return None
    seq = (db.session.scalar(select(func.max(ClockPause.seq)).where(ClockPause.case_id == case.id)) or 0) + 1
    pause = ClockPause(case_id=case.id, seq=seq, kind=kind, started_on=on, description=description, started_by=actor,
                       started_at=clock.now())
    db.session.add(pause)
    _settle(case, deadlines)
    _record(case, "pause", on, actor, description or PAUSE_KINDS.get(kind, kind), pause)
    return pause


def close_pause(case: Case, pause: ClockPause, on: dt.date, actor: str, why: str, deadlines: Deadlines) -> None:
    """End an uncounted interval on ``on`` and count the clock again if no other is open."""
    _end(pause, on, actor)
    _settle(case, deadlines)
    _record(case, "resume", on, actor, why, pause)


def halt(case: Case, on: dt.date, actor: str, why: str) -> None:
    """终止: the clock stops for good; open intervals end the same day (no decision is recorded)."""
    if case.clock_state in (None, "stopped"):
        return
    _stop(case, on, actor, why)


def reopen(case: Case, on: dt.date, actor: str, why: str, deadlines: Deadlines) -> bool:
    """A decision that did not stand (the process sent it back and voided its 审批表): the clock
    stopped for it counts on, as if it had never stopped (法 Art. 60 ends the period with a decision
    made, and none was). The deadline is recomputed from the same facts, so the days in between
    count; the uncounted periods the stop ended are open again. False when the clock was not stopped
    (终止 stops it too, but a terminated case runs no further step that could send work back)."""
    if case.clock_state != "stopped":
        return False
    stop = audit.latest(case.id, "case.clock_stop")  # which open periods the stop ended (it records them)
    ended = [int(n) for n in ((stop or {}).get("ended_periods") or []) if isinstance(n, int)]
    reopened = []
    for pause in pauses_of(case.id):
        if pause.seq in ended and pause.ended_on is not None:
            pause.ended_on = pause.ended_by = pause.ended_at = None
            reopened.append(pause.seq)
    case.decided_at = None
    case.clock_state = "running"
    _settle(case, deadlines)
    _record(case, "reopened", on, actor, why, extra={"reopened_periods": reopened})
    return True


def union_days(intervals: list[tuple[dt.date, dt.date]], floor: dt.date | None = None) -> int:
    """Days covered by the union of half-open [start, end) date intervals, none before ``floor``.

    Overlapping periods (a test still running when the case is suspended) count their shared days
    once; days before the filing date were never on the clock.
    """
    spans = sorted((max(start, floor) if floor else start, end) for start, end in intervals)
    total, current = 0, None
    for start, end in spans:
        if end <= start:
            continue
        if current is None or start > current[1]:
            if current is not None:
                total += (current[1] - current[0]).days
            current = [start, end]
        else:
            current[1] = max(current[1], end)
    if current is not None:
        total += (current[1] - current[0]).days
    return total


def days_left(case: Case, now: dt.datetime | None = None) -> int | None:
    if case.clock_deadline is None or case.clock_state in (None, "stopped"):
        return None
    today = (now or clock.now()).astimezone(clock.SHANGHAI).date()
    last_day = (case.clock_deadline - dt.timedelta(microseconds=1)).astimezone(clock.SHANGHAI).date()
    return (last_day - today).days


def _apply(case: Case, action: str, on: dt.date, deadlines: Deadlines, actor: str, why: str = "",
           kind: str = "procedure") -> None:
    state = case.clock_state
    if action == "start":
        if state is not None:
            return  # filed once; a re-run of the filing step does not restart the clock
        case.clock_started_on = on
        case.clock_state = "running"
        limit = deadlines.limit(clock_key(case.procedure))
        case.clock_amount, case.clock_unit = limit.amount, limit.unit
        _recompute(case, deadlines)
        _record(case, action, on, actor, why)
    elif action == "pause":
        open_pause(case, kind, on, actor, why, deadlines)
    elif action == "resume":
        # A procedure resumes what it paused; a suspension or an officer's excluded period stays open.
        for pause in pauses_of(case.id):
            if pause.ended_on is None and pause.kind in PROCESS_KINDS:
                close_pause(case, pause, on, actor, why, deadlines)
    elif action == "stop":
        if state is None or state == "stopped":
            return
        case.decided_at = case.decided_at or clock.now()
        _stop(case, on, actor, why)


def _stop(case: Case, on: dt.date, actor: str, why: str) -> None:
    ended = [p for p in pauses_of(case.id) if p.ended_on is None]
    for pause in ended:
        _end(pause, on, actor)
    case.clock_state = "stopped"
    case.paused_since = None
    _record(case, "stop", on, actor, why, extra={"ended_periods": [p.seq for p in ended]})


def _end(pause: ClockPause, on: dt.date, actor: str) -> None:
    pause.ended_on = max(on, pause.started_on)
    pause.ended_by = actor
    pause.ended_at = clock.now()


def _settle(case: Case, deadlines: Deadlines) -> None:
    """Paused days = the union of the closed intervals; paused while any interval is open."""
    pauses = pauses_of(case.id)
    closed = [(p.started_on, p.ended_on) for p in pauses if p.ended_on is not None]
    case.paused_days = union_days(closed, case.clock_started_on)
    open_since = [p.started_on for p in pauses if p.ended_on is None]
    if open_since:
        case.paused_since = dt.datetime.combine(min(open_since), dt.time(), clock.SHANGHAI)
        if case.clock_state in ("running", "overdue"):
            case.clock_state = "paused"
    else:
        case.paused_since = None
        if case.clock_state == "paused":
            case.clock_state = "running"
    _recompute(case, deadlines)


def _record(case: Case, action: str, on: dt.date, actor: str, why: str, pause: ClockPause | None = None,
            extra: dict[str, Any] | None = None) -> None:
    data: dict[str, Any] = {"on": on.isoformat(), "why": why,
                            "deadline": case.clock_deadline.isoformat() if case.clock_deadline else None,
                            "paused_days": case.paused_days, "state": case.clock_state, **(extra or {})}
    if pause is not None:
        data.update(n=pause.seq, kind=pause.kind)
    audit.record(f"case.clock_{action}", actor, data, case_id=case.id)


def recompute_deadline(case: Case, deadlines: Deadlines) -> dt.datetime | None:
    """The clock's deadline from its recorded facts (filing date, limit at filing, pauses, extensions)."""
    if case.clock_started_on is None:
        return None
    if case.clock_amount is None:
        limit = deadlines.limit(clock_key(case.procedure))
        case.clock_amount, case.clock_unit = limit.amount, limit.unit
    total = case.clock_amount + case.paused_days + case.extension_days
    return deadlines.calendar.deadline(case.clock_started_on, total, case.clock_unit or "natural_days")


def _recompute(case: Case, deadlines: Deadlines) -> None:
    set_deadline(case, deadlines)


def set_deadline(case: Case, deadlines: Deadlines) -> None:
    """Recompute the clock's deadline and whether it is 暂定 (counted through a year without a notice);
    open steps due with the clock (``counts_from="case_clock"``: the decision) move with it."""
    case.clock_deadline = recompute_deadline(case, deadlines)
    case.clock_provisional = bool(case.clock_deadline and case.clock_started_on
                                  and deadlines.calendar.is_provisional(case.clock_started_on, case.clock_deadline))
    if case.clock_deadline is not None:
        db.session.execute(
            update(Task).where(Task.case_id == case.id, Task.status == "open", Task.counts_from == CASE_CLOCK)
            .values(due_at=case.clock_deadline, due_provisional=case.clock_provisional, deadline_state="normal")
            .execution_options(synchronize_session=False))


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.astimezone(clock.SHANGHAI).date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ValueError(f"case_clock needs a date 'YYYY-MM-DD', got {value!r}")


def _lock_case(case: Case) -> int | None:
    """Serialize clock changes per case (the instance row is the case's lock), then re-read the case;
    returns the (latest) instance's id."""
    ids = list(db.session.scalars(select(ProcessInstance.id).where(ProcessInstance.case_id == case.id)
                                  .order_by(ProcessInstance.id).with_for_update()))
    db.session.refresh(case)
    return ids[-1] if ids else None


def _record_date(value: Any, field: str, title: str) -> dt.date:
    """A date an officer records (a fact that has happened: never in the future)."""
    try:
        on = _as_date(value) if value else None
    except ValueError:
        on = None
    if on is None:
        raise InvalidInput(f"请填写{title}（YYYY-MM-DD） ({field} must be a date)", details=[{"field": field, "message": "必填"}])
    if on > clock.today_shanghai():
        raise InvalidInput(f"{title}不能晚于今天：只能登记已经发生的事实 ({field} cannot be in the future)",
                           details=[{"field": field, "message": "晚于今天"}])
    return on


def deadline_day(value: dt.datetime | None) -> str:
    """A clock deadline as its last day (it ends at 24:00 of that day)."""
    if value is None:
        return "—"
    return (value - dt.timedelta(microseconds=1)).astimezone(clock.SHANGHAI).date().isoformat()
