"""Inbox queries over the task projection (indexed; no workflow is deserialized)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, and_, exists, false, func, or_, select
from sqlalchemy.orm import aliased, defaultload

from engine import clock
from engine.errors import InvalidInput
from engine.models import Case, CaseOfficer, Recusal, Task, User, db
from engine.policy.access import DESIGNATED_HANDLERS, HANDLER_ROLE, eligibility, standing, tasks_in_scope
from engine.policy.roles import CREDENTIAL_KINDS

SCOPES = ("mine", "available", "done", "unit", "all")
SORTS = {
    "due_at": (Task.due_at.asc().nulls_last(), Task.created_at.asc()),
    "-due_at": (Task.due_at.desc().nulls_last(), Task.created_at.desc()),
    "created_at": (Task.created_at.asc(),),
    "-created_at": (Task.created_at.desc(),),
}


def task_query(user: User, scope: str, procedure: str | None = None, q: str | None = None,
               sort: str = "due_at") -> Select[tuple[Task]]:
    """我的待办 / 可认领 / 已办 / 本单位 (unit heads) / all visible."""
    query = tasks_in_scope(user)
    if scope == "mine":
        query = query.where(Task.assignee_id == user.id, Task.status == "open")
    elif scope == "available":
        query = query.where(Task.unit_id == user.unit_id, Task.status == "open", Task.assignee_id.is_(None),
                            Task.role.in_(sorted(user.role_names)))
    elif scope == "done":
        query = query.where(Task.completed_by == user.id, Task.status == "completed")
    elif scope in ("unit", "all"):
        query = query.where(Task.status == "open")
    else:
        raise InvalidInput(f"未知的范围 '{scope}' (scope must be one of {', '.join(SCOPES)})")
    if procedure or q:
        query = query.join(Case, Case.id == Task.case_id)
        if procedure:
            query = query.where(Case.procedure == procedure)
        if q:
            like = f"%{q}%"
            query = query.where(or_(Case.case_number.like(like), Case.party_name.like(like)))
    if sort not in SORTS:
        raise InvalidInput(f"未知的排序 '{sort}' (sort must be one of {', '.join(SORTS)})")
    # A list shows who holds each task, not their roles and credentials: two queries less per page.
    query = query.options(*(defaultload(Task.assignee).lazyload(rel) for rel in (User.roles, User.credentials)))
    if scope == "done":
        return query.order_by(Task.completed_at.desc())
    return query.order_by(*SORTS[sort])


@dataclass
class TaskPage:
    """One page of an inbox list: the rows, the (capped) total and whether a next page exists."""

    scope: str
    items: list[Task]
    total: int
    page: int
    per_page: int
    has_next: bool


def task_page(user: User, scope: str, *, procedure: str | None = None, q: str | None = None, sort: str = "due_at",
              page: int = 1, per_page: int = 25, count_cap: int | None = None) -> TaskPage:
    """The inbox list both the page and ``GET /api/v1/tasks`` render: filtered, then counted, then paged.

    可认领 offers only what the officer may take (``available_only``), decided BEFORE paging: a page
    is full and ``total`` is what the officer can claim, never tasks he would be refused.
    ``count_cap`` counts up to the cap only (``cap + 1`` means "more than cap"): a large unit's
    count costs more than its page.
    """
    query = task_query(user, scope, procedure=procedure, q=q, sort=sort)
    if scope == "available":
        query = available_only(user, query)
    counted = query.order_by(None)
    if count_cap is not None:
        counted = counted.limit(count_cap + 1)
    total = db.session.scalar(select(func.count()).select_from(counted.subquery())) or 0
    rows = list(db.session.scalars(query.offset((page - 1) * per_page).limit(per_page + 1)))
    has_next, rows = len(rows) > per_page, rows[:per_page]
    if scope == "available" and rows:  # the rules themselves, once more on the page: never offer a refused task
        reasons = eligibility(rows, [user])
        rows = [t for t in rows if reasons[(t.id, user.id)] is None]
    return TaskPage(scope, rows, total, page, per_page, has_next)


def available_only(user: User, query: Select[tuple[Task]]) -> Select[tuple[Task]]:
    """Narrow the 可认领 candidates to the tasks ``user`` may take, in SQL, by the rules of
    engine/policy/access.py ``eligibility``:

    - standing (active, unit, role, credential valid today) depends on the kind of step only: it is
      decided once per role of the officer and credential a step may name, without a query;
    - a handler step of a filed case is for its designated handlers only;
    - recusal and separation of duty concern only the cases the officer has taken part in: those
      candidates are checked by ``eligibility`` itself and the refused ones left out by id.
    """
    candidates = query.order_by(None)
    today = clock.today_shanghai()
    # Every kind of step the officer's roles could offer: a role, and the credential the step names (or none).
    kinds = [(role, credential) for role in sorted(user.role_names) for credential in (None, *sorted(CREDENTIAL_KINDS))]
    allowed = [(role, credential) for role, credential in kinds
               if standing(user, user.unit_id, role, credential, today) is None]
    if not allowed:
        return query.where(false())
    query = query.where(or_(*(and_(Task.role == role, Task.requires_credential.is_(None) if credential is None
                                   else Task.requires_credential == credential) for role, credential in allowed)))
    if any(role == HANDLER_ROLE for role, _ in allowed):  # (case_id, field, user_id) is indexed: a lookup per row
        designation = (CaseOfficer.case_id == Task.case_id, CaseOfficer.field == DESIGNATED_HANDLERS,
                       CaseOfficer.ended_at.is_(None))
        query = query.where(or_(Task.role != HANDLER_ROLE, ~exists().where(*designation),
                                exists().where(*designation, CaseOfficer.user_id == user.id)))
    # Candidates the case may still refuse: steps separated from what this officer did or was
    # designated for in their case, and every step of a case he was recused from. Separated steps are
    # few (reviews, approvals) and have a partial index of their own, so this reads them only, and
    # asks of each whether the officer took part in its case (two index probes) — never the list of
    # every case an officer has ever worked on, which grows for years.
    done = aliased(Task)
    took_part = or_(exists().where(done.case_id == Task.case_id, done.completed_by == user.id),
                    exists().where(CaseOfficer.case_id == Task.case_id, CaseOfficer.user_id == user.id))
    may_refuse = and_(Task.separate_from.is_not(None), took_part)
    recused = list(db.session.scalars(select(Recusal.case_id).where(Recusal.officer_id == user.id, Recusal.status == "granted")))
    if recused:  # rare: one small read, then a plain list
        may_refuse = or_(may_refuse, Task.case_id.in_(recused))
    ids = list(db.session.scalars(candidates.with_only_columns(Task.id).where(may_refuse)))
    suspects = list(db.session.scalars(select(Task).where(Task.id.in_(ids)))) if ids else []
    reasons = eligibility(suspects, [user]) if suspects else {}
    refused = [t.id for t in suspects if reasons[(t.id, user.id)] is not None]
    return query.where(Task.id.not_in(refused)) if refused else query
