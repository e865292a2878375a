"""Who a new step goes to, and who is told.

A handler step of a filed case is assigned straight to the case's 主办承办人 — the first officer the
unit head designated at 立案 (法 Art. 42: two or more handlers; the first named leads, the others
assist): it lands in their 我的待办, never in the 可认领 pool where every handler of the unit would
see it while only the designated ones may take it. The co-handlers (协办) are told and find the step
on the case; either of them may take it over (接手, engine/runtime/tasks.py) — DOMAIN.md gives the
designated handlers the case together, so any one of them may do its handler steps. If the lead may
not take the step today (执法证 lapsed, recused), the next designated handler gets it; if none may,
it goes to the pool like any other step.

Every other new step goes to the pool, and each officer who could take it gets a notification (the
bell, the e-mail digest, the webhook: engine/admin/delivery.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import insert, select, update

from engine import clock
from engine.db.command import unit_of_work
from engine.db.writebehind import defer
from engine.models import WHOLE_USER, Case, Notification, Role, Task, User, db
from engine.policy.access import HANDLER_ROLE, CaseFacts, case_facts, conflict_in_case, split_separation, standing
from engine.record import audit

# As the partial index ix_task_offer_pending states it, so that both databases use the index.
OFFER_PENDING = Task.offer_pending == True  # noqa: E712 — "IS true" would not match the index predicate


def route_new_tasks(rows: list[dict[str, Any]], case: Case, actor: str, now: dt.datetime, *, new_case: bool = False) -> None:
    """Set ``assignee_id`` on the new projection rows that go to a designated handler; notify everyone concerned.

    ``new_case``: the case starts in this command, so nobody is designated, recused or has done a step
    of it yet; its first steps skip those reads (a case start is the hottest command).
    """
    if not rows:
        return
    handler_rows = [r for r in rows if r["role"] == HANDLER_ROLE]
    if new_case or not handler_rows:  # pool steps need no facts here: their offers are made after the commit
        facts = CaseFacts()
    else:
        facts = case_facts([case.id], steps_of=[case.id] if any(r.get("separate_from") for r in handler_rows) else [])
    today = clock.today_shanghai()
    handlers = _users(facts.handler_order.get(case.id, []))
    notes: list[dict[str, Any]] = []
    for row in rows:
        lead = next((u for u in handlers if _may_take(u, row, facts, today) is None), None) if row["role"] == HANDLER_ROLE else None
        # A pool step is told by offer_pending_tasks, after the commit: reading every officer here would
        # double a start's cost. Every row names the flag: the rows are inserted in one statement.
        row["offer_pending"] = lead is None
        if lead is None:
            continue
        row["assignee_id"] = lead.id
        audit.record("task.assigned", actor, {"task": row["name"], "to": lead.username, "why": "designated_handler"},
                     case_id=case.id, instance_id=row["instance_id"], task_id=row["id"])
        _notify(notes, lead.id, case, row, "assigned", f"新任务：{row['name']}（{case.case_number}），您是本案的主办承办人", now)
        for other in handlers:
            if other.id != lead.id:
                _notify(notes, other.id, case, row, "co_handler",
                        f"新任务：{row['name']}（{case.case_number}）已分派给主办承办人 {_name(lead)}，您作为协办承办人可接手办理", now)
    if notes:
        defer(_NOTIFY, notes)  # one statement for all, queued with the commit: nobody reads them before it


def offer_pending_tasks(limit: int = 1_000) -> int:
    """Tell everyone who may take a new pool step about it ("offered"); returns how many steps were told.

    Called before the header's counters are read, by the scheduler and before an e-mail digest, so an
    officer sees the offer on their next page. A step already taken or gone by then is not offered.
    """
    if db.session.execute(select(Task.id).where(OFFER_PENDING).limit(1)).first() is None:
        return 0  # the usual answer, from the partial index: no write lock taken
    with unit_of_work():
        query = select(Task).where(OFFER_PENDING).order_by(Task.id).limit(limit).execution_options(populate_existing=True)
        if db.session.connection().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=Task)  # two workers never offer the same step twice
        marked = list(db.session.scalars(query))
        tasks = [t for t in marked if t.status == "open" and t.assignee_id is None]  # taken or gone meanwhile: not offered
        cases = {t.case_id: t.case for t in tasks}  # joined with the task
        facts = case_facts(list(cases), steps_of=[t.case_id for t in tasks if t.separate_from])
        today, now, notes = clock.today_shanghai(), clock.now(), []
        holders: dict[tuple[int, str], list[User]] = {}
        for task in tasks:
            row = {"id": task.id, "case_id": task.case_id, "unit_id": task.unit_id, "role": task.role, "name": task.name,
                   "requires_credential": task.requires_credential, "separate_from": task.separate_from}
            case = cases[task.case_id]
            for user in holders.setdefault((task.unit_id, task.role), _role_holders(task.unit_id, task.role)):
                if _may_take(user, row, facts, today) is None:
                    _notify(notes, user.id, case, row, "offered", f"可认领的新任务：{task.name}（{case.case_number}）", now)
        if notes:
            db.session.execute(insert(Notification.__table__), notes)
        if marked:
            db.session.execute(update(Task).where(Task.id.in_([t.id for t in marked])).values(offer_pending=False))
    return len(tasks)


def designated_in_order(case_id: int) -> list[int]:
    """The current designated handlers' ids, the lead (主办) first: the order the unit head named them."""
    return case_facts([case_id]).handler_order.get(case_id, [])


def takes_over(actor: User, task: Task) -> bool:
    """Whether ``actor`` may take a handler step another designated handler of the case holds (接手)."""
    if task.role != HANDLER_ROLE or task.assignee_id in (None, actor.id):
        return False
    designated = designated_in_order(task.case_id)
    return actor.id in designated and task.assignee_id in designated


def _users(ids: list[int]) -> list[User]:
    """The users of ``ids`` in that order (the designated handlers, the lead first)."""
    if not ids:
        return []
    users = {u.id: u for u in db.session.scalars(select(User).options(*WHOLE_USER).where(User.id.in_(ids))).unique()}
    return [users[i] for i in ids if i in users]


def _role_holders(unit_id: int, role: str) -> list[User]:
    return list(db.session.scalars(select(User).options(*WHOLE_USER).where(
        User.unit_id == unit_id, User.active.is_(True), User.roles.any(Role.name == role))).unique())


def _may_take(user: User, row: dict[str, Any], facts: Any, today: dt.date) -> str | None:
    """The same rule as claiming (engine/policy/access.py), read from the row before it is written."""
    return (standing(user, row["unit_id"], row["role"], row["requires_credential"], today)
            or conflict_in_case(user, row["case_id"], facts, separate=split_separation(row["separate_from"]),
                                handler_step=row["role"] == HANDLER_ROLE, step=row["name"]))


_NOTIFY = insert(Notification.__table__).inline()


def _notify(notes: list[dict[str, Any]], user_id: int, case: Case, row: dict[str, Any], kind: str, message: str,
            now: dt.datetime) -> None:
    notes.append({"user_id": user_id, "kind": kind, "task_id": row["id"], "case_id": case.id, "message": message,
                  "created_at": now, "read_at": None, "emailed_at": None, "push_attempts": 0})


def _name(user: User) -> str:
    return user.display_name or user.username


__all__ = ["designated_in_order", "offer_pending_tasks", "route_new_tasks", "takes_over"]
