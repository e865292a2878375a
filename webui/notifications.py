"""In-app notifications (new task assigned, near-due, overdue) and the header's counters."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, g, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy import case, func, select, update
from werkzeug.wrappers import Response

from engine import clock
from engine.admin.time_limits import missing_years
from engine.db.session import writing
from engine.models import Notification, Task, db

from .security import id_arg

bp = Blueprint("notifications", __name__)
PER_PAGE = 50
BADGE_CAP = 999


def _badge(count: int) -> int | str:
    return f"{BADGE_CAP}+" if count > BADGE_CAP else int(count)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.context_processor
    def header_counts() -> dict[str, Any]:
        """Open and overdue tasks of the user and unread notifications: two indexed, capped counts
        (a badge says "999+"; counting further would cost more than the page)."""
        user = getattr(g, "user", None)
        if user is None or request.path.startswith(("/api/", "/static/")):
            return {}
        mine = select(Task.due_at).where(Task.assignee_id == user.id, Task.status == "open").limit(BADGE_CAP + 1).subquery()
        open_count, overdue_count = db.session.execute(select(
            func.count(), func.coalesce(func.sum(case((mine.c.due_at <= clock.now(), 1), else_=0)), 0)).select_from(mine)).one()
        unread = db.session.scalar(select(func.count()).select_from(
            select(Notification.id).where(Notification.user_id == user.id, Notification.read_at.is_(None))
            .limit(BADGE_CAP + 1).subquery())) or 0
        counts = {"count_open": _badge(open_count), "count_overdue": _badge(overdue_count), "count_unread": _badge(unread)}
        if user.has_role("administrator", "unit_head"):
            counts["calendar_missing"] = missing_years()  # from the cached reference data: no query
        return counts


@bp.get("/notifications")
@login_required
def index() -> str:
    rows = list(db.session.scalars(select(Notification).where(Notification.user_id == g.user.id)
                                   .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(PER_PAGE)))
    return render_template("notifications.html", notifications=rows)


@bp.post("/notifications/read")
@login_required
def mark_read() -> Response:
    """Mark one (``id``) or all of the user's notifications read; never another user's."""
    query = update(Notification).where(Notification.user_id == g.user.id, Notification.read_at.is_(None))
    if (one := request.form.get("id", type=id_arg)) is not None:
        query = query.where(Notification.id == one)
    with writing():
        db.session.execute(query.values(read_at=clock.now()))
        db.session.commit()
    return redirect(url_for("notifications.index"))
