"""In-app notifications (new task assigned or offered, near-due, overdue), the header's counters, an
officer's e-mail for the digest and the administrators' delivery settings (SMTP, webhook)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import case, exists, func, select, update
from werkzeug.wrappers import Response

from engine import clock
from engine.admin.delivery import SECURITY, preference, set_preference, settings, update_settings
from engine.admin.time_limits import missing_years
from engine.db.session import writing
from engine.errors import Forbidden, InvalidInput
from engine.models import Notification, Task, db
from engine.policy.permissions import ADMINISTRATOR, UNIT_HEAD
from engine.runtime.assignment import OFFER_PENDING, offer_pending_tasks

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
        open_count, overdue_count, unread, offers_waiting = db.session.execute(_counts(user.id)).one()
        if offers_waiting:  # new pool steps since the last page: offered now, so the bell counts them
            offer_pending_tasks()
            open_count, overdue_count, unread, _ = db.session.execute(_counts(user.id)).one()
        counts = {"count_open": _badge(open_count), "count_overdue": _badge(overdue_count), "count_unread": _badge(unread)}
        if user.has_role(ADMINISTRATOR, UNIT_HEAD):
            counts["calendar_missing"] = missing_years()  # from the cached reference data: no query
        return counts


def _counts(user_id: int) -> Any:
    """The header's counters and whether pool offers wait to be made, in one statement: one round
    trip on every page (each capped count is an index range; the pending check reads one row)."""
    mine = select(Task.due_at).where(Task.assignee_id == user_id, Task.status == "open").limit(BADGE_CAP + 1).subquery()
    unread = select(Notification.id).where(Notification.user_id == user_id, Notification.read_at.is_(None)) \
        .limit(BADGE_CAP + 1).subquery()
    own = select(func.count().label("open"), func.coalesce(func.sum(case((mine.c.due_at <= clock.now(), 1), else_=0)), 0)
                 .label("overdue")).select_from(mine).subquery()  # the officer's open tasks read once for both counts
    return select(own.c.open, own.c.overdue, select(func.count()).select_from(unread).scalar_subquery(),
                  exists(select(Task.id).where(OFFER_PENDING))).select_from(own)


@bp.get("/notifications")
@login_required
def index() -> str:
    offer_pending_tasks()  # before the list is read, not only before the header's counters
    rows = list(db.session.scalars(select(Notification).where(Notification.user_id == g.user.id)
                                   .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(PER_PAGE)))
    return render_template("notifications.html", notifications=rows, preference=preference(g.user))


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


@bp.post("/notifications/preferences")
@login_required
def preferences() -> Response:
    """The officer's own address for the e-mail digest."""
    try:
        set_preference(g.user, request.form.get("email", ""), request.form.get("digest") == "1")
    except InvalidInput as exc:
        flash(exc.message, "warning")
    else:
        flash(_("已保存通知设置"), "success")
    return redirect(url_for("notifications.index", _anchor="preferences"))


@bp.route("/notifications/delivery", methods=["GET", "POST"])
@login_required
def delivery() -> str | Response | tuple[str, int]:
    """通知发送设置 (administrators): SMTP and the digest interval, the webhook for SMS/WeChat gateways."""
    if not g.user.has_role(ADMINISTRATOR):
        raise Forbidden(_("只有系统管理员可以设置通知发送方式"))
    errors: dict[str, str] = {}
    values = None
    if request.method == "POST":
        form = request.form
        values = {key: form.get(key, "") for key in ("digest_minutes", "smtp_host", "smtp_port", "smtp_security", "smtp_username",
                                                     "smtp_sender", "webhook_url")}
        values.update(email_enabled=form.get("email_enabled") == "1", webhook_enabled=form.get("webhook_enabled") == "1")
        for secret in ("smtp_password", "webhook_secret"):  # left empty: keep the stored one (never shown back)
            if form.get(secret):
                values[secret] = form[secret]
        try:
            update_settings(g.user, values)
        except InvalidInput as exc:
            errors = {str(d.get("field")): str(d.get("message")) for d in exc.details or [] if isinstance(d, dict)}
            flash(exc.message, "warning")
            return render_template("notification_delivery.html", row=settings(), values=values, errors=errors,
                                   securities=SECURITY), 422
        flash(_("已保存通知发送设置"), "success")
        return redirect(url_for("notifications.delivery"))
    return render_template("notification_delivery.html", row=settings(), values=values, errors=errors, securities=SECURITY)
