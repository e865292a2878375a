"""案件列表 (/cases): 本单位案件 for unit heads, 我参与的案件 for officers, all cases for supervisors.

A thin page over engine/queries/case_search.py (the API's GET /api/v1/cases serves the same query).
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, g, render_template, request
from flask_login import login_required

from engine import clock
from engine.errors import InvalidInput
from engine.queries.case_search import COUNT_CAP, STATUSES, allowed_scopes, default_scope, search_cases

from .i18n import PROCEDURES
from .security import page_number

bp = Blueprint("case_list", __name__)
PER_PAGE = 25


@bp.get("/cases")
@login_required
def index() -> tuple[str, int]:
    user = g.user
    scopes = allowed_scopes(user)
    scope = request.args.get("scope") or default_scope(user)
    scope = scope if scope in scopes else default_scope(user)
    q = (request.args.get("q") or "").strip()[:100]
    procedure = request.args.get("procedure") or None
    procedure = procedure if procedure in PROCEDURES else None
    status = request.args.get("status") or None
    status = status if status in STATUSES else None
    opened_from, opened_to = _date(request.args.get("from")), _date(request.args.get("to"))
    page = page_number(request.args.get("page", 1))
    message, code = None, 200
    try:
        result = search_cases(user, q=q or None, procedure=procedure, status=status, opened_from=opened_from,
                              opened_to=opened_to, scope=scope, page=page, per_page=PER_PAGE)
    except InvalidInput as exc:
        message, code = exc.message, 422
        result = search_cases(user, scope=scope, per_page=PER_PAGE)
    pages = max(page + result.has_next, -(-min(result.total, COUNT_CAP) // PER_PAGE))
    return render_template(
        "case_list.html", result=result, scopes=scopes, scope=scope, q=q, procedure=procedure or "", status=status or "",
        opened_from=opened_from.isoformat() if opened_from else "", opened_to=opened_to.isoformat() if opened_to else "",
        procedures=PROCEDURES, statuses=STATUSES, page=page, pages=pages, count_cap=COUNT_CAP, message=message,
        local_date=_local_date,
    ), code


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _local_date(value: dt.datetime) -> str:
    return value.astimezone(clock.SHANGHAI).date().isoformat()
