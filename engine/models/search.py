"""The case search projection: one row of searchable text per case, and who took part in each case.

Marked stale in the same transaction as the change it reflects, rebuilt before anyone reads it: a
session ``after_flush`` hook (and the adoption of a case inserted with Core) notes every case,
designation and completed task a command touched; a writer registered with the commit protocol
(engine/db/command.py) queues one ``case_search_pending`` row per touched case with the COMMIT (a
rollback drops the note and the row alike). ``catch_up`` rebuilds the pending cases' rows; the case
search calls it before every query and the scheduler between sweeps, so a search always sees every
committed change.

Why not rebuild inside the command: the rebuild reads the case back, and that read forces the
write-behind queue out early, so every case start and task completion on PostgreSQL would pay half
a dozen more round trips (tests/test_writebehind.py holds the pipelined commit to this).

Full-text search reads it through indexes built by migration 0016:

- SQLite: an FTS5 table with the ``trigram`` tokenizer over ``text`` (substrings of 3+ characters),
  and a second FTS5 table over ``grams``, the text's characters and character bigrams written as hex
  tokens, because a trigram index cannot answer a 1- or 2-character query (张三 in 张三丰) — a Chinese
  name is often two characters. Triggers on ``case_search`` keep both in step.
- PostgreSQL: a ``pg_trgm`` GIN index on ``text`` serves ``ILIKE '%…%'`` for 3+ characters; a GIN
  index on ``grams_tsv`` (a stored ``to_tsvector('simple', grams)``) serves 1 or 2. pg_trgm counts
  Chinese characters as word characters only under a UTF-8 locale (initdb --locale=C.UTF-8 or
  zh_CN.UTF-8): under plain ``C`` the index finds no trigram in them and every search scans.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Connection, ForeignKey, Index, Integer, String, Text, delete, event, insert, inspect, select, union
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db import pending
from engine.db.command import before_commit, unit_of_work
from engine.db.session import UTCDateTime, db
from engine.models.case import Case, CaseOfficer, Task
from engine.models.org import User

SEARCHED_CASE_FIELDS = ("case_number", "party_name", "facts", "status", "procedure", "unit_id")


class CaseSearch(db.Model):
    __tablename__ = "case_search"
    __table_args__ = (
        Index("ix_case_search_unit_opened", "unit_id", "opened_at"),
        Index("ix_case_search_opened", "opened_at"),
    )
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    unit_id: Mapped[int] = mapped_column(Integer)
    procedure: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20))
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    text: Mapped[str] = mapped_column(Text)  # case number, party, 案由/violation, officers; lower-cased
    grams: Mapped[str] = mapped_column(Text)  # distinct characters and character bigrams of ``text``, hex tokens


class CaseParticipant(db.Model):
    """我参与的案件: who registered the case, was named in it (承办人, 共同调查人员…) or did a step of it."""

    __tablename__ = "case_participant"
    __table_args__ = (Index("ix_case_participant_user", "user_id", "case_id"),)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)


class CaseSearchPending(db.Model):
    """Cases whose search row is stale: written with the change's COMMIT, cleared by ``catch_up``."""

    __tablename__ = "case_search_pending"
    case_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


def normalize(value: str) -> str:
    return " ".join(value.lower().split())


def bigram_tokens(value: str, sizes: tuple[int, ...] = (2,)) -> list[str]:
    """Each pair of adjacent characters of ``value`` (no whitespace) as a hex token an FTS5 ``ascii``
    tokenizer keeps whole: the 2-character index the trigram tokenizer cannot be (``sizes=(1,)``:
    single characters, for a 1-character query such as a surname)."""
    out: list[str] = []
    seen: set[str] = set()
    for word in normalize(value).split(" "):
        for size in sizes:
            for i in range(len(word) - size + 1):
                token = word[i:i + size].encode().hex()
                if token not in seen:
                    seen.add(token)
                    out.append(token)
    return out


def rebuild(conn: Connection, case_ids: Iterable[int]) -> None:
    """Recompute the search rows and participants of ``case_ids`` from the case tables."""
    ids = sorted(set(case_ids))
    if not ids:
        return
    c, o, t = Case.__table__.c, CaseOfficer.__table__.c, Task.__table__.c
    users = User.__table__
    u = users.c
    cases = {row.id: row for row in conn.execute(
        select(c.id, c.case_number, c.party_name, c.facts, c.status, c.procedure, c.unit_id, c.opened_at, c.opened_by)
        .where(c.id.in_(ids)))}
    people = union(
        select(o.case_id, o.user_id).where(o.case_id.in_(ids)),
        select(t.case_id, t.completed_by.label("user_id")).where(t.case_id.in_(ids), t.completed_by.is_not(None)),
        select(c.id.label("case_id"), c.opened_by.label("user_id")).where(c.id.in_(ids), c.opened_by.is_not(None)),
    ).subquery()
    participants: dict[int, set[int]] = {}
    names: dict[int, list[str]] = {}
    for case_id, user_id, username, display in conn.execute(
            select(people.c.case_id, people.c.user_id, u.username, u.display_name).join(users, u.id == people.c.user_id)):
        participants.setdefault(case_id, set()).add(user_id)
        names.setdefault(case_id, []).extend(n for n in (username, display) if n)
    conn.execute(delete(CaseSearch.__table__).where(CaseSearch.__table__.c.case_id.in_(ids)))
    conn.execute(delete(CaseParticipant.__table__).where(CaseParticipant.__table__.c.case_id.in_(ids)))
    rows, members = [], []
    for case_id in ids:
        case = cases.get(case_id)
        if case is None:
            continue
        facts = case.facts if isinstance(case.facts, dict) else {}
        text = normalize(" ".join(str(v) for v in (case.case_number, case.party_name, facts.get("violation") or "",
                                                   *sorted(set(names.get(case_id, [])))) if v))
        rows.append({"case_id": case_id, "unit_id": case.unit_id, "procedure": case.procedure, "status": case.status,
                     "opened_at": case.opened_at, "text": text, "grams": " ".join(bigram_tokens(text, (1, 2)))})
        members += [{"case_id": case_id, "user_id": user_id} for user_id in sorted(participants.get(case_id, ()))]
    if rows:
        conn.execute(insert(CaseSearch.__table__), rows)
    if members:
        conn.execute(insert(CaseParticipant.__table__), members)


TOUCHED = "zhifa_search_touched"


def _touch(session: Session, case_id: int | None) -> None:
    if case_id is not None:
        session.info.setdefault(TOUCHED, set()).add(case_id)


@event.listens_for(Session, "detached_to_persistent")
def _adopted(session: Session, obj: object) -> None:
    """A case started with a Core INSERT and adopted into the session (engine/runtime/cases.py)."""
    if isinstance(obj, Case):
        _touch(session, obj.id)


@event.listens_for(Session, "after_flush")
def _note_changes(session: Session, _context: object) -> None:
    """Cases this flush changed in a searched field, named officers of, or completed a step of."""
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Case):
            state = inspect(obj)
            if obj in session.new or any(state.attrs[name].history.has_changes() for name in SEARCHED_CASE_FIELDS):
                _touch(session, obj.id)
        elif isinstance(obj, CaseOfficer):
            _touch(session, obj.case_id)
        elif isinstance(obj, Task) and inspect(obj).attrs.completed_by.history.has_changes():
            _touch(session, obj.case_id)


def _write_projection(session: Session) -> None:
    """Queue the touched cases as pending with the COMMIT: no read, so nothing leaves the pipeline early."""
    session.flush()
    touched = session.info.pop(TOUCHED, None)
    if touched:
        pending.queue(CaseSearchPending.__table__.c.case_id, sorted(touched))


def catch_up(limit: int = 5_000) -> int:
    """Rebuild the search rows of pending cases (at most ``limit``); returns how many were rebuilt."""
    key = CaseSearchPending.__table__.c.case_id
    if not pending.any_pending(key):
        return 0
    with unit_of_work():
        ids = pending.take(key, limit)
        rebuild(db.session.connection(), ids)
        pending.done(key, ids)
    return len(ids)


# Through the commit protocol (engine/db/command.py), which runs it before the COMMIT is sent (with
# PostgreSQL's pipelined commit too) and drops the touched cases when a transaction rolls back.
before_commit(_write_projection, scratch=TOUCHED)
