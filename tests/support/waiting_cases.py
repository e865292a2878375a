"""Cases waiting on their statement-period timer, created on a frozen clock in March 2025 so that
their timers are long due on the real clock: what the worker, scale-out and crash tests drain."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from engine import clock
from engine.admin.time_limits import set_calendar_year
from engine.models import CalendarYear, ProcessInstance, Task, db
from engine.runtime import complete_task, start_case
from tests.conftest import user

CREATED_AT = dt.datetime(2025, 3, 3, 9, 0, tzinfo=clock.SHANGHAI)  # a Monday
SERVED_ON = ("2025-03-03", "2025-03-04", "2025-03-05", "2025-03-06", "2025-03-07")  # timers due 10-15 March 2025
PARTY = {"party_type": "organization", "party_name": "定时器测试有限公司"}

def create_waiting_cases(n: int) -> None:
    """n cases through register (fine 100: no review) and serve, each now waiting on its timer."""
    handler = user("a_handler1")
    for i in range(n):
        case = start_case(handler, "mini", PARTY, {"proposed_fine": 100})
        open_task = select(Task.id).where(Task.case_id == case.id, Task.status == "open")
        complete_task(handler, db.session.scalars(open_task).one(), {"facts": f"事实清楚 {i}", "proposed_fine": 100})
        complete_task(handler, db.session.scalars(open_task).one(), {"served_on": SERVED_ON[i % len(SERVED_ON)]})


def count(query) -> int:
    return int(db.session.scalar(query) or 0)


def progress() -> tuple[int, int, list[str]]:
    """(instances due by real time, open decide tasks, some incident errors), in a short transaction of its own."""
    now = dt.datetime.now(dt.UTC)
    due = count(select(func.count()).select_from(ProcessInstance).where(ProcessInstance.next_timer_at <= now))
    decide = count(select(func.count()).select_from(Task).where(Task.bpmn_id == "decide", Task.status == "open"))
    errors = list(db.session.scalars(select(ProcessInstance.error).where(ProcessInstance.error.is_not(None)).limit(3)))
    db.session.remove()  # end the transaction: on SQLite every one holds the write lock
    return due, decide, errors



def calendar_for_the_real_date() -> None:
    """The workers run on the real clock and give each new task a due date from it; make sure the
    years that needs have a calendar (weekends only where none was seeded), whatever today is."""
    this_year = dt.datetime.now(dt.UTC).year
    for year in (this_year, this_year + 1):
        if db.session.get(CalendarYear, year) is None:
            set_calendar_year(user("admin"), year, [], "测试：按周末计算 (test calendar)")
