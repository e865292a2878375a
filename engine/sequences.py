"""Gap-free, never-reused numbers (案号, 文书文号) per agency × type × year.

The sequence row is locked inside the caller's transaction: a rolled-back command gives its number
back, a committed one keeps it, so numbers have no gaps and no duplicates under concurrency.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from .models import DocSequence, db


def next_number(agency: str, doc_type: str, year: int) -> int:
    for _attempt in range(3):
        # One statement takes the number and locks the row until the caller's transaction ends.
        seq = DocSequence.__table__.c
        taken = db.session.connection().execute(
            update(DocSequence.__table__)
            .where(seq.agency == agency, seq.doc_type == doc_type, seq.year == year)
            .values(next_value=seq.next_value + 1)
            .returning(seq.next_value)
        ).scalar()
        if taken is not None:
            return int(taken) - 1
        try:
            with db.session.begin_nested():
                db.session.add(DocSequence(agency=agency, doc_type=doc_type, year=year, next_value=2))
            return 1
        except IntegrityError:
            continue  # another transaction created the row first: lock it and go on
    raise RuntimeError("could not allocate a sequence number")
