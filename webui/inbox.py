"""The officer's landing page: 我的待办 and 可认领, read from the task projection."""

from __future__ import annotations

from flask import Blueprint, g, render_template, request
from flask_login import login_required
from sqlalchemy import func, select

from engine.access import why_not_eligible
from engine.inbox import task_query
from engine.models import Task, db

from .api.present import deadline_badge, due_label

bp = Blueprint("inbox", __name__)
PER_PAGE = 50


@bp.get("/")
@login_required
def index() -> str:
    scope = request.args.get("scope", "mine")
    if scope not in ("mine", "available", "done"):
        scope = "mine"
    page = max(1, request.args.get("page", 1, type=int))
    query = task_query(g.user, scope)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows: list[Task] = list(db.session.scalars(query.offset((page - 1) * PER_PAGE).limit(PER_PAGE)))
    if scope == "available":
        rows = [t for t in rows if why_not_eligible(g.user, t) is None]
    return render_template("inbox.html", scope=scope, tasks=rows, total=total, page=page, per_page=PER_PAGE,
                           badge=deadline_badge, due_label=due_label)
