"""Who is who in a case — its designated officers and granted recusals — read once per transaction.

Every case check (claiming, completing, routing the steps a completion creates, the officers a form
names) needs these rows. A completion used to read them twice: once to check the officer, once to
route the next step. They are kept in a per-transaction memo instead, dropped at the transaction's
end and whenever this transaction writes a designation or a recusal (an ORM change, a flush, or a
bulk UPDATE/DELETE/INSERT statement on either table), so a check never sees stale facts: the memo
only saves reading again what this transaction has not changed since it read it.

Completed steps (separation of duty) change with every completion, so they are never memoised.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import ORMExecuteState, Session

from engine.db.command import transaction_scratch
from engine.models import CaseOfficer, Recusal, Task, db

# 立案审批 designates the case's handlers (法 Art. 42: two or more); its handler steps go to them only.
DESIGNATED = "assigned_handlers"
MEMO = transaction_scratch("zhifa_case_facts")
_WATCHED = (CaseOfficer, Recusal)
_WATCHED_TABLES = frozenset({CaseOfficer.__tablename__, Recusal.__tablename__})


@dataclass
class CaseFacts:
    """Who is who in a few cases: what the case checks read, loaded once for many checks."""

    designated: set[tuple[int, str, int]] = field(default_factory=set)  # (case, field, user): every designation ever
    handlers: dict[int, set[int]] = field(default_factory=dict)  # case -> its current designated handlers
    # case -> its current designated handlers in the order the unit head named them (the first leads: 主办)
    handler_order: dict[int, list[int]] = field(default_factory=dict)
    performed: dict[tuple[int, str, int], str] = field(default_factory=dict)  # (case, bpmn id, user) -> step name
    recused: dict[tuple[int, int], str] = field(default_factory=dict)  # (case, user) -> 回避决定书 number


@dataclass
class _Case:
    officers: list[tuple[str, int, bool]] = field(default_factory=list)  # (field, user, current), designation order
    recused: dict[int, str] = field(default_factory=dict)


def case_facts(case_ids: Collection[int], steps_of: Collection[int] = ()) -> CaseFacts:
    """Designations and granted recusals of ``case_ids``; completed steps of ``steps_of`` (only the
    cases whose checks name steps need them)."""
    facts = CaseFacts()
    if not case_ids:
        return facts
    memo = _memo()
    missing = [c for c in case_ids if c not in memo]
    if missing:
        read = {c: _Case() for c in missing}
        for case_id, name, user_id, ended_at in db.session.execute(
                select(CaseOfficer.case_id, CaseOfficer.field, CaseOfficer.user_id, CaseOfficer.ended_at)
                .where(CaseOfficer.case_id.in_(missing)).order_by(CaseOfficer.id)):
            read[case_id].officers.append((name, user_id, ended_at is None))
        for case_id, user_id, number in db.session.execute(
                select(Recusal.case_id, Recusal.officer_id, Recusal.document_number)
                .where(Recusal.case_id.in_(missing), Recusal.status == "granted")):
            read[case_id].recused[user_id] = number or ""
        memo = _memo()  # the reads' autoflush may have written (and so dropped) the memo: keep what they read
        memo.update(read)
    for case_id in case_ids:
        known = memo[case_id]
        for name, user_id, current in known.officers:
            facts.designated.add((case_id, name, user_id))
            if name == DESIGNATED and current:
                facts.handlers.setdefault(case_id, set()).add(user_id)
                facts.handler_order.setdefault(case_id, []).append(user_id)
        for user_id, number in known.recused.items():
            facts.recused[(case_id, user_id)] = number
    if steps_of:
        for case_id, bpmn_id, user_id, name in db.session.execute(
            select(Task.case_id, Task.bpmn_id, Task.completed_by, Task.name)
            .where(Task.case_id.in_(steps_of), Task.completed_by.is_not(None))
        ):
            facts.performed.setdefault((case_id, bpmn_id, user_id), name)
    return facts


def _memo() -> dict[int, _Case]:
    session = db.session()
    memo: dict[int, _Case] | None = session.info.get(MEMO)
    if memo is None:
        memo = session.info[MEMO] = {}
    elif memo and _touched(chain(session.new, session.dirty, session.deleted)):
        memo.clear()  # a designation or recusal changed in this transaction and is not flushed yet
    return memo


def _touched(objects: Any) -> bool:
    return any(isinstance(obj, _WATCHED) for obj in objects)


@event.listens_for(Session, "before_flush")
def _on_flush(session: Session, _context: Any, _instances: Any) -> None:
    if MEMO in session.info and _touched(chain(session.new, session.dirty, session.deleted)):
        session.info.pop(MEMO, None)


@event.listens_for(Session, "do_orm_execute")
def _on_statement(state: ORMExecuteState) -> None:
    table = getattr(state.statement, "table", None)
    if MEMO in state.session.info and not state.is_select and getattr(table, "name", None) in _WATCHED_TABLES:
        state.session.info.pop(MEMO, None)
