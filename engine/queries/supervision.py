"""执法监督 (supervision) figures: read-only aggregates over the case table and the task projection.

Every figure is a GROUP BY over indexed rows (``case``, ``task``, and the case's audit chain for
legal-review outcomes); no workflow is ever deserialized. Two kinds of figures:

- **snapshot** (now): open cases, overdue and near-due tasks, longest-waiting cases;
- **period** (Beijing dates ``date_from``..``date_to`` inclusive): per-step durations of tasks
  completed in the period, the legal-review return rate, the hearing rate.

Scope: supervisors and administrators read every unit (as in ``engine.policy.access``); an agency head
reads only their own unit, so every case the dashboard lists is one they can open. The 90th
percentile is the nearest-rank one (the smallest duration with at least 90 % of the step's
durations at or below it), computed with window functions that SQLite and PostgreSQL share.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Float, String, and_, case, cast, exists, func, literal, or_, select
from sqlalchemy.sql.elements import KeyedColumnElement

from engine import clock
from engine.definitions.procedures import procedures, supervised
from engine.errors import Forbidden, InvalidInput
from engine.models import AuditEvent, Case, OrgUnit, Task, User, db
from engine.policy.permissions import CROSS_UNIT, SUPERVISION, allowed, require

SUPERVISION_ROLES = SUPERVISION
CROSS_UNIT_ROLES = CROSS_UNIT
OPEN_CASE_STATUSES = ("open", "suspended")
DEFAULT_PERIOD_DAYS = 30
MAX_PERIOD_DAYS = 3 * 366
DAY = 86400.0


@dataclass(frozen=True)
class Filters:
    unit_ids: tuple[int, ...] | None  # None: every unit
    date_from: dt.date
    date_to: dt.date
    now: dt.datetime

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.date_from, dt.time(), clock.SHANGHAI)

    @property
    def end(self) -> dt.datetime:
        """Exclusive: 24:00 Beijing time of the last day."""
        return dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time(), clock.SHANGHAI)


@dataclass(frozen=True)
class OpenCases:
    procedure: str
    unit_id: int
    unit_name: str
    count: int


@dataclass(frozen=True)
class UnitDeadlines:
    unit_id: int
    unit_name: str
    open: int
    near: int
    overdue: int


@dataclass(frozen=True)
class LateTask:
    task_id: str
    case_id: int
    case_number: str
    procedure: str
    unit_name: str
    name: str
    state: str  # near | overdue
    due_at: dt.datetime
    assignee: str | None


@dataclass(frozen=True)
class StepStats:
    process_id: str
    bpmn_id: str
    name: str
    completed: int
    avg_days: float
    p90_days: float
    limit_days: float | None  # mean of (due_at - created_at) of the step's tasks that had a limit
    with_limit: int
    on_time: int

    @property
    def on_time_share(self) -> float | None:
        return self.on_time / self.with_limit if self.with_limit else None


@dataclass(frozen=True)
class WaitingCase:
    case_id: int
    case_number: str
    procedure: str
    unit_name: str
    party_name: str
    task_name: str
    waiting_since: dt.datetime
    waiting_days: float


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int
    note: str = ""

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


def can_supervise(user: User) -> bool:
    return allowed(user, "supervision.view")


def visible_units(user: User) -> list[OrgUnit]:
    """The units ``user`` may filter by: all for supervisors and administrators, else their own."""
    require(user, "supervision.view")
    query = select(OrgUnit).order_by(OrgUnit.code)
    if not user.has_role(*CROSS_UNIT_ROLES):
        query = query.where(OrgUnit.id == user.unit_id)
    return list(db.session.scalars(query))


def make_filters(user: User, unit_id: int | None = None, date_from: dt.date | None = None,
                 date_to: dt.date | None = None, now: dt.datetime | None = None) -> Filters:
    """Check the request against the user's scope; the default period is the last 30 days."""
    units = visible_units(user)
    allowed = tuple(u.id for u in units)
    if unit_id is not None:
        if unit_id not in allowed:
            raise Forbidden("无权查看该单位的统计 (unit outside your scope)")
        unit_ids: tuple[int, ...] | None = (unit_id,)
    else:
        unit_ids = None if user.has_role(*CROSS_UNIT_ROLES) else allowed
    now = now or clock.now()
    today = now.astimezone(clock.SHANGHAI).date()
    date_to = date_to or today
    date_from = date_from or date_to - dt.timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    if date_from > date_to:
        raise InvalidInput("起始日期不能晚于截止日期 (date_from is after date_to)")
    if (date_to - date_from).days > MAX_PERIOD_DAYS:
        raise InvalidInput("统计期间最长三年 (the period is at most three years)")
    return Filters(unit_ids, date_from, date_to, now)


def open_cases(f: Filters) -> list[OpenCases]:
    """Open (and suspended) cases now, by procedure and unit."""
    query = (select(Case.procedure, Case.unit_id, OrgUnit.name, func.count())
             .join(OrgUnit, OrgUnit.id == Case.unit_id)
             .where(Case.status.in_(OPEN_CASE_STATUSES), *_units(Case.unit_id, f))
             .group_by(Case.procedure, Case.unit_id, OrgUnit.name)
             .order_by(Case.procedure, OrgUnit.name))
    return [OpenCases(p, u, n, c) for p, u, n, c in db.session.execute(query)]


def deadlines_by_unit(f: Filters) -> list[UnitDeadlines]:
    """Open tasks now and how many of them are near their limit (临期) or past it (超期)."""
    overdue = and_(Task.due_at.is_not(None), Task.due_at <= f.now)
    near = and_(~overdue, Task.warn_at.is_not(None), Task.warn_at <= f.now)
    query = (select(Task.unit_id, OrgUnit.name, func.count(),
                    func.coalesce(func.sum(case((near, 1), else_=0)), 0),
                    func.coalesce(func.sum(case((overdue, 1), else_=0)), 0))
             .join(OrgUnit, OrgUnit.id == Task.unit_id)
             .where(Task.status == "open", *_units(Task.unit_id, f))
             .group_by(Task.unit_id, OrgUnit.name)
             .order_by(OrgUnit.name))
    return [UnitDeadlines(u, n, int(o), int(nr), int(ov)) for u, n, o, nr, ov in db.session.execute(query)]


def late_tasks(f: Filters, limit: int = 100) -> list[LateTask]:
    """Open tasks past or near their limit, the most urgent first (indexes ``status, warn_at`` and ``status, due_at``)."""
    query = (select(Task, Case.case_number, Case.procedure, OrgUnit.name)
             .join(Case, Case.id == Task.case_id).join(OrgUnit, OrgUnit.id == Task.unit_id)
             .where(Task.status == "open", or_(Task.warn_at <= f.now, Task.due_at <= f.now), *_units(Task.unit_id, f))
             .order_by(Task.due_at.asc().nulls_last(), Task.created_at)
             .limit(limit))
    rows = []
    for task, number, procedure, unit_name in db.session.execute(query):
        state = "overdue" if task.due_at is not None and task.due_at <= f.now else "near"
        assignee = (task.assignee.display_name or task.assignee.username) if task.assignee else None
        rows.append(LateTask(task.id, task.case_id, number, procedure, unit_name, task.name, state, task.due_at, assignee))
    return rows


def step_durations(f: Filters) -> list[StepStats]:
    """Per step (process, bpmn id): tasks completed in the period, mean and p90 of completed_at −
    created_at, the step's limit (due_at − created_at) and the share completed by its due time."""
    duration = _seconds_between(Task.created_at, Task.completed_at)
    limit = _seconds_between(Task.created_at, Task.due_at)
    base = (select(Task.process_id, Task.bpmn_id, Task.name, duration.label("duration"), limit.label("limit_s"),
                   case((Task.completed_at <= Task.due_at, 1), else_=0).label("on_time"))
            .where(Task.status == "completed", Task.completed_at >= f.start, Task.completed_at < f.end,
                   *_units(Task.unit_id, f))
            .subquery())
    step = (base.c.process_id, base.c.bpmn_id)
    ranked = select(
        base.c.process_id, base.c.bpmn_id, base.c.duration,
        func.row_number().over(partition_by=step, order_by=base.c.duration).label("pos"),
        func.count().over(partition_by=step).label("n"),
    ).subquery()
    # Nearest rank: ceil(0.9 n) in integer arithmetic, the same on both databases.
    p90 = dict(((p, b), d) for p, b, d in db.session.execute(
        select(ranked.c.process_id, ranked.c.bpmn_id, ranked.c.duration)
        .where(ranked.c.pos == (ranked.c.n * 9 + 9) // 10)))
    totals = select(
        base.c.process_id, base.c.bpmn_id, func.max(base.c.name), func.count(), func.avg(base.c.duration),
        func.avg(base.c.limit_s), func.count(base.c.limit_s), func.sum(case((base.c.limit_s.is_not(None), base.c.on_time), else_=0)),
    ).group_by(*step).order_by(*step)
    stats = []
    for process_id, bpmn_id, name, n, avg, avg_limit, with_limit, on_time in db.session.execute(totals):
        stats.append(StepStats(process_id, bpmn_id, name, n, _days(avg), _days(p90.get((process_id, bpmn_id), 0)),
                               _days(avg_limit) if avg_limit is not None else None, with_limit, int(on_time or 0)))
    return stats


def longest_waiting(f: Filters, limit: int = 20) -> list[WaitingCase]:
    """Open cases whose oldest open task has waited longest."""
    oldest = (select(Task.case_id, func.min(Task.created_at).label("since"))
              .where(Task.status == "open", *_units(Task.unit_id, f))
              .group_by(Task.case_id).order_by(func.min(Task.created_at)).limit(limit).subquery())
    query = (select(Case, OrgUnit.name, Task.name, Task.created_at)
             .join(oldest, oldest.c.case_id == Case.id)
             .join(Task, and_(Task.case_id == Case.id, Task.status == "open", Task.created_at == oldest.c.since))
             .join(OrgUnit, OrgUnit.id == Case.unit_id)
             .order_by(Task.created_at, Case.id))
    rows, seen = [], set()
    for c, unit_name, task_name, since in db.session.execute(query):
        if c.id in seen:  # two tasks made in the same instant (a parallel split): list the case once
            continue
        seen.add(c.id)
        rows.append(WaitingCase(c.id, c.case_number, c.procedure, unit_name, c.party_name, task_name, since,
                                round((f.now - since).total_seconds() / DAY, 1)))
    return rows


def review_return_rate(f: Filters) -> Rate:
    """Legal reviews completed in the period whose outcome was 退回补充, over all completed reviews.

    The legal-review procedures say which step is the review, which field of its form holds the
    outcome and which value means 退回 (``supervision_kind=legal_review`` on their ``<process>``,
    engine/definitions/procedures.py). The outcome is read from the review's ``task.completed`` audit
    event, found through the case's chain (the indexed ``chain, seq`` key), so only the period's
    review rows are touched."""
    reviews = supervised("legal_review")
    if not reviews:
        return Rate(0, 0)
    step = or_(*(and_(Task.process_id == p.process_id, Task.bpmn_id == p.review_step) for p in reviews))
    returned = or_(*(and_(Task.process_id == p.process_id,
                          AuditEvent.data["data"][p.review_outcome_field].as_string() == p.review_returned_value) for p in reviews))
    query = (select(func.count(), func.coalesce(func.sum(case((returned, 1), else_=0)), 0))
             .select_from(Task)
             .join(AuditEvent, and_(AuditEvent.chain == literal("case:").concat(cast(Task.case_id, String)),
                                    AuditEvent.task_id == Task.id, AuditEvent.action == "task.completed"))
             .where(step, Task.status == "completed",
                    Task.completed_at >= f.start, Task.completed_at < f.end, *_units(Task.unit_id, f)))
    total, returned = db.session.execute(query).one()
    return Rate(int(returned or 0), int(total or 0))


def hearing_rate(f: Filters) -> Rate:
    """Ordinary-procedure cases decided in the period that went through a hearing, over all of them.

    A case went through a hearing when a hearing procedure (``supervision_kind=hearing``) made a task in it."""
    hearings = [p.process_id for p in supervised("hearing")]
    heard = exists().where(Task.case_id == Case.id, Task.process_id.in_(hearings))
    query = (select(func.count(), func.coalesce(func.sum(case((heard, 1), else_=0)), 0))
             .where(Case.procedure == "ordinary", Case.decided_at >= f.start, Case.decided_at < f.end,
                    *_units(Case.unit_id, f)))
    total, with_hearing = db.session.execute(query).one()
    note = ""
    if not supervised("hearing", procedures()):
        note = "听证程序尚未部署，听证率按 0 计 (the hearing procedure is not deployed)"
    return Rate(int(with_hearing or 0), int(total or 0), note)


def _units(column: KeyedColumnElement[int], f: Filters) -> list[ColumnElement[bool]]:
    return [] if f.unit_ids is None else [column.in_(f.unit_ids)]


def _seconds_between(start: ColumnElement[dt.datetime], end: ColumnElement[dt.datetime]) -> ColumnElement[float]:
    """``end − start`` in seconds: SQLite has no interval type, PostgreSQL no julianday()."""
    if db.engine.dialect.name == "sqlite":
        return cast((func.julianday(end) - func.julianday(start)) * DAY, Float)
    return cast(func.extract("epoch", end - start), Float)


def _days(seconds: float | None) -> float:
    return round(float(seconds or 0) / DAY, 2)
