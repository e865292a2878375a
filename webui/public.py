"""公示 for everyone: published penalty decisions, masked, searchable; an HTML page and a JSON feed.

No login: these pages show only what ``engine.publication.publish`` published (masked at publication time,
hashed, recorded), never a case, a task or anything withheld, withdrawn or expired.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, render_template, request
from sqlalchemy import func, select

from engine.models import Publication, db
from engine.publication.publish import public_query

from .security import page_number

bp = Blueprint("public", __name__, url_prefix="/public")
PER_PAGE = 20


@bp.get("/penalties")
def penalties() -> str:
    query, filters = _query()
    page = page_number(request.args.get("page", 1))
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = list(db.session.scalars(query.offset((page - 1) * PER_PAGE).limit(PER_PAGE)))
    return render_template("public/penalties.html", rows=rows, total=total, page=page,
                           pages=max(1, -(-total // PER_PAGE)), **filters)


@bp.get("/penalties.json")
def feed() -> dict[str, Any]:
    query, filters = _query()
    page = page_number(request.args.get("page", 1))
    rows = db.session.scalars(query.offset((page - 1) * 100).limit(100))
    return {"items": [_item(r) for r in rows], "page": page, "filters": {k: str(v) for k, v in filters.items() if v}}


def _item(row: Publication) -> dict[str, Any]:
    return {"number": row.decision_number, "party": row.party, "violation": row.violation, "penalty": row.penalty,
            "agency": row.agency, "decided_on": row.decided_on.isoformat(),
            "published_at": row.published_at.isoformat() if row.published_at else None,
            "expires_at": row.expires_at.isoformat() if row.expires_at else None, "sha256": row.sha256}


def _query() -> tuple[Any, dict[str, Any]]:
    filters = {"party": (request.args.get("party") or "").strip()[:100], "violation": (request.args.get("violation") or "").strip()[:100],
               "date_from": _day(request.args.get("from")), "date_to": _day(request.args.get("to"))}
    return public_query(filters["party"] or None, filters["violation"] or None, filters["date_from"], filters["date_to"]), filters


def _day(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None
