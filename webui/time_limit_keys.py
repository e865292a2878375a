"""新建时限: a process designer (or an administrator) adds a time-limit key without code.

The page sits beside the designer, not under /admin: the person who needs a new kind of deadline is
the one drawing the procedure, and /admin is for administrators only. It lists the registry (the keys
a diagram's ``time_limit`` may name) and the form; the engine's ``create_time_limit`` checks, audits
and bumps the reference data, so the next deployment accepts the key at once. Changing an existing
limit stays with administrators (系统管理 › 时限).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from engine.admin.time_limit_keys import create_time_limit, delete_time_limit
from engine.deadlines.holidays import UNITS, load_seed_time_limits
from engine.errors import ZhifaError
from engine.models import TimeLimit, db
from engine.policy.permissions import allowed

from .i18n import field_errors, localized

bp = Blueprint("time_limit_keys", __name__, url_prefix="/time-limits")
FIELDS = ("key", "name", "legal_basis", "description", "amount", "unit", "min", "max", "warn_before", "reason")
BLANK = {"unit": "working_days", "warn_before": "1"}


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> str | Response:
    if not allowed(g.user, "time_limits.create"):
        abort(403)
    values: dict[str, Any] = {**{name: "" for name in FIELDS}, **BLANK, "units": []}
    error: ZhifaError | None = None
    if request.method == "POST":
        values = {name: request.form.get(name, "") for name in FIELDS}
        values["units"] = request.form.getlist("units")
        try:
            limit = create_time_limit(g.user, values)
        except ZhifaError as exc:
            error = exc
        else:
            flash(_("已新建时限“%(name)s”（%(key)s）：流程的“时限”属性现在可以选用它。", name=limit.name, key=limit.key), "success")
            return redirect(url_for(".new"))
    limits = list(db.session.scalars(select(TimeLimit).order_by(TimeLimit.key)))
    return render_template("time_limits/new.html", values=values, error=error, field_errors=field_errors(error),
                           units=UNITS, limits=limits, may_edit=allowed(g.user, "time_limits.edit"),
                           shipped={item["key"] for item in load_seed_time_limits()})


@bp.post("/<key>/delete")
@login_required
def delete(key: str) -> Response:
    """Delete a created key nothing uses; the engine's refusal (shipped, still used) is shown as a flash."""
    if not allowed(g.user, "time_limits.create"):
        abort(403)
    try:
        delete_time_limit(g.user, key, request.form.get("reason", ""))
    except ZhifaError as exc:
        flash(localized(exc.message), "danger")
    else:
        flash(_("已删除时限 %(key)s。", key=key), "success")
    return redirect(url_for(".new"))


