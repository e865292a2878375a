"""Gap-free, never-reused numbers (案号, 文书文号) per agency × type × year.

The sequence row is locked inside the caller's transaction: a rolled-back command gives its number
back, a committed one keeps it, so numbers have no gaps and no duplicates under concurrency.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .models import DocSequence, db


def next_number(agency: str, doc_type: str, year: int) -> int:
    for _attempt in range(3):
        row = db.session.scalars(
            select(DocSequence)
            .where(DocSequence.agency == agency, DocSequence.doc_type == doc_type, DocSequence.year == year)
            .with_for_update()
        ).first()
        if row is not None:
            value = row.next_value
            row.next_value = value + 1
            return value
        try:
            with db.session.begin_nested():
                db.session.add(DocSequence(agency=agency, doc_type=doc_type, year=year, next_value=2))
            return 1
        except IntegrityError:
            continue  # another transaction created the row first: lock it and go on
    raise RuntimeError("could not allocate a sequence number")
