"""Gap-free, never-reused numbers (案号, 文书文号) per agency × type × year.

The sequence row is locked inside the caller's transaction: a rolled-back command gives its number
back, a committed one keeps it, so numbers have no gaps and no duplicates under concurrency.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Row, Update, bindparam, update
from sqlalchemy.exc import IntegrityError

from engine.models import DocSequence, db

_SEQ = DocSequence.__table__.c
_TAKE = (
    update(DocSequence.__table__)
    .where(_SEQ.agency == bindparam("b_agency"), _SEQ.doc_type == bindparam("b_type"), _SEQ.year == bindparam("b_year"))
    .values(next_value=_SEQ.next_value + 1)
    .returning((_SEQ.next_value - 1).label("number"))
)


def taking(*also: ColumnElement[Any]) -> Update:
    """A statement for ``take_number`` that also returns ``also`` (say, ids drawn from sequences)."""
    return _TAKE.returning(*also)


def next_number(agency: str, doc_type: str, year: int) -> int:
    return int(take_number(agency, doc_type, year)[0])


def take_number(agency: str, doc_type: str, year: int, statement: Update = _TAKE) -> Row[Any]:
    """The row ``statement`` returns: the number taken first, then what else it asked for."""
    params = {"b_agency": agency, "b_type": doc_type, "b_year": year}
    for _attempt in range(3):
        # One statement takes the number and locks the row until the caller's transaction ends.
        taken = db.session.connection().execute(statement, params).first()
        if taken is not None:
            return taken
        try:
            with db.session.begin_nested():
                db.session.add(DocSequence(agency=agency, doc_type=doc_type, year=year, next_value=1))
        except IntegrityError:
            pass  # another transaction created the row first: take from it
    raise RuntimeError("could not allocate a sequence number")
