"""The case list (/cases, GET /api/v1/cases): 本单位案件, 我参与的案件, all cases; search and filters.

Reads only the search projection (engine/models/search.py) and its full-text indexes, then loads the
page's 25 cases by primary key. A query ``q`` matches any substring of the case number, the party,
the 案由/violation or an officer's name:

- SQLite: 3+ characters through the FTS5 trigram index; 1 or 2 characters (a surname, a Chinese
  given name: 张三 in 张三丰) through the index of single characters and bigrams, which trigrams
  cannot answer;
- PostgreSQL: ``ILIKE`` served by the ``pg_trgm`` GIN index for 3+ characters, and a GIN index over
  the gram tokens (``to_tsvector('simple', grams)``, stored) for 1 or 2 (and for longer ones where
  the database's locale hides Chinese characters from pg_trgm).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, func, literal_column, select, text, union

from engine import clock
from engine.errors import InvalidInput
from engine.models import Case, CaseParticipant, CaseSearch, Task, User, db
from engine.models.search import bigram_tokens, catch_up, normalize
from engine.policy.permissions import CROSS_UNIT, HEADS

SCOPES = ("unit", "mine", "all")
STATUSES = ("open", "suspended", "closed", "terminated")
CROSS_UNIT_ROLES = CROSS_UNIT
HEAD_ROLES = HEADS
COUNT_CAP = 10_000
MAX_PER_PAGE = 100
MAX_QUERY = 100


@dataclass
class CasePage:
    items: list[Case]
    total: int  # COUNT_CAP + 1 means "more than COUNT_CAP"
    page: int
    per_page: int
    has_next: bool


def default_scope(user: User) -> str:
    """全部案件 for supervisors, 本单位案件 for unit and agency heads, 我参与的案件 for officers."""
    if user.has_role(*CROSS_UNIT_ROLES):
        return "all"
    if user.has_role(*HEAD_ROLES):
        return "unit"
    return "mine"


def allowed_scopes(user: User) -> tuple[str, ...]:
    """Officers see their unit's cases (as on every case page), never another unit's."""
    return SCOPES if user.has_role(*CROSS_UNIT_ROLES) else ("unit", "mine")


def search_cases(user: User, *, q: str | None = None, procedure: str | None = None, status: str | None = None,
                 opened_from: dt.date | None = None, opened_to: dt.date | None = None, scope: str | None = None,
                 page: int = 1, per_page: int = 25) -> CasePage:
    """One page of the cases ``user`` may see that match, newest first."""
    scope = scope or default_scope(user)
    if scope not in SCOPES:
        raise InvalidInput(f"未知的范围“{scope}”：请选择 {'、'.join(SCOPES)} 之一 (scope must be one of {', '.join(SCOPES)})",
                           details=[{"field": "scope", "message": "无效"}])
    if scope not in allowed_scopes(user):
        scope = default_scope(user)  # what the role allows, never more
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"未知的案件状态“{status}”：请选择 {'、'.join(STATUSES)} 之一 (status must be one of {', '.join(STATUSES)})",
                           details=[{"field": "status", "message": "无效"}])
    if not 1 <= per_page <= MAX_PER_PAGE or page < 1:
        raise InvalidInput(f"分页参数无效：每页 1 至 {MAX_PER_PAGE} 条，页码从 1 起 (page >= 1, per_page 1..{MAX_PER_PAGE})",
                           details=[{"field": "page", "message": "无效"}])
    if opened_from and opened_to and opened_from > opened_to:
        raise InvalidInput("起始日期晚于截止日期：请调换两个日期 (the start date is after the end date)",
                           details=[{"field": "from", "message": "晚于截止日期"}])
    catch_up()  # every committed change is searchable before the first query reads the projection
    query = matching(user, scope, q=q, procedure=procedure, status=status, opened_from=opened_from, opened_to=opened_to)
    if normalize(q or "") and db.engine.dialect.name == "postgresql":
        ids, total = _matched_page(query, page, per_page)
    else:
        total = db.session.scalar(select(func.count()).select_from(query.limit(COUNT_CAP + 1).subquery())) or 0
        s = CaseSearch.__table__.c
        ids = list(db.session.scalars(query.order_by(s.opened_at.desc(), s.case_id.desc())
                                      .offset((page - 1) * per_page).limit(per_page + 1)))
    has_next, ids = len(ids) > per_page, ids[:per_page]
    cases = {c.id: c for c in db.session.scalars(select(Case).where(Case.id.in_(ids)))} if ids else {}
    return CasePage([cases[i] for i in ids if i in cases], total, page, per_page, has_next)


def _matched_page(query: Select[tuple[int]], page: int, per_page: int) -> tuple[list[int], int]:
    """A text search on PostgreSQL: the page and the count from one scan of the matches.

    The matches come from the full-text indexes (a few thousand rows at most for a useful term), so
    counting them all costs what finding them does: one statement reads them once, ``count(*) OVER
    ()`` gives the total and the sort gives the page. ``OFFSET 0`` keeps the matching a subquery the
    planner answers from its indexes, never by walking every case newest first and filtering each.

    ``plan_cache_mode``: psycopg prepares a statement run five times, and PostgreSQL then plans it
    once for any term (a generic plan) — which for a search is the wrong plan for most terms (the
    bench measured 600+ ms instead of 20). This transaction plans each search for its own term.
    """
    db.session.execute(text("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)"))
    s = CaseSearch.__table__.c
    matches = query.add_columns(s.opened_at).offset(0).subquery()
    rows = db.session.execute(
        select(matches.c.case_id, func.count().over()).order_by(matches.c.opened_at.desc(), matches.c.case_id.desc())
        .offset((page - 1) * per_page).limit(per_page + 1)).all()
    if rows:
        return [r[0] for r in rows], int(rows[0][1])
    total = db.session.scalar(select(func.count()).select_from(query.limit(COUNT_CAP + 1).subquery())) or 0
    return [], total  # a page past the end: the count alone


def matching(user: User, scope: str, *, q: str | None = None, procedure: str | None = None, status: str | None = None,
             opened_from: dt.date | None = None, opened_to: dt.date | None = None) -> Select[tuple[int]]:
    """The ids of the matching cases (unordered): the page and the count are cut from it."""
    s = CaseSearch.__table__.c
    query = select(s.case_id)
    if scope != "all" or not user.has_role(*CROSS_UNIT_ROLES):
        query = query.where(s.unit_id == user.unit_id)
    if scope == "mine":
        took_part = select(CaseParticipant.case_id).where(CaseParticipant.user_id == user.id)
        holds = select(Task.case_id).where(Task.assignee_id == user.id, Task.status == "open")
        query = query.where(s.case_id.in_(union(took_part, holds)))  # one semi-join, not an OR of two
    if procedure:
        query = query.where(s.procedure == procedure)
    if status:
        query = query.where(s.status == status)
    if opened_from:
        query = query.where(s.opened_at >= _start_of(opened_from))
    if opened_to:
        query = query.where(s.opened_at < _start_of(opened_to + dt.timedelta(days=1)))
    needle = normalize(q or "")[:MAX_QUERY]
    if needle:
        unit_id = user.unit_id if scope != "all" or not user.has_role(*CROSS_UNIT_ROLES) else None
        query = query.where(_text_matches(needle, unit_id))
    return query


def _text_matches(needle: str, unit_id: int | None) -> ColumnElement[bool]:
    s = CaseSearch.__table__.c
    if db.engine.dialect.name == "postgresql":
        # Every bigram of a substring is among the case's grams: the GIN index over them (a stored
        # tsvector) answers 1 or 2 characters, which have no trigram, and longer queries on a database
        # whose locale hides Chinese characters from pg_trgm; the planner picks the better index and
        # combines it with the unit's (a BitmapAnd), on the same row as the other filters.
        grams = literal_column("case_search.grams_tsv").op("@@")(
            func.to_tsquery("simple", " & ".join(bigram_tokens(needle, (min(len(needle), 2),)))))
        return grams if len(needle) < 3 else and_(s.text.ilike(_like(needle), escape="\\"), grams)  # + pg_trgm
    if len(needle) >= 3:
        phrase = '"' + needle.replace('"', '""') + '"'  # one FTS5 phrase: the substring, trigram by trigram
        return s.case_id.in_(text("SELECT rowid FROM case_search_fts WHERE case_search_fts MATCH :m")
                             .bindparams(m=phrase).columns(literal_column("rowid")))
    tokens = bigram_tokens(needle, (len(needle),))  # 1 or 2 characters: one token of the gram index
    if tokens:
        return s.case_id.in_(text("SELECT rowid FROM case_search_grams WHERE case_search_grams MATCH :m")
                             .bindparams(m=" AND ".join(tokens)).columns(literal_column("rowid")))
    return s.text.like(_like(needle), escape="\\")


def _like(needle: str) -> str:
    return "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _start_of(day: dt.date) -> dt.datetime:
    """A date in the filter is a day in China Standard Time, as every date the officers see."""
    return dt.datetime.combine(day, dt.time(), tzinfo=clock.SHANGHAI)
