"""The officer's landing page: 我的待办, 可认领, 已办 and 本单位 (unit heads), read from the task projection.

Every list is one indexed query over ``task`` plus one count; eligibility (roles, credentials,
separation of duty) for a whole page is decided with two more queries, never per row.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, flash, g, get_template_attribute, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.wrappers import Response

from engine.errors import Conflict, Forbidden, InvalidInput, InvalidState
from engine.models import User
from engine.policy.access import eligibility, unit_officers
from engine.policy.permissions import HEADS
from engine.queries.inbox import SORTS, task_page
from engine.runtime import claim_task, reassign_task, unclaim_task

from .i18n import PROCEDURES
from .security import page_number, safe_redirect

bp = Blueprint("inbox", __name__)
PER_PAGE = 25
# Counting every open task of a large unit costs more than the page itself: count up to the cap and
# say "more than 1,000" beyond it (pages are still reachable one after another).
COUNT_CAP = 1000
HEAD_ROLES = HEADS


@bp.get("/")
@login_required
def index() -> str:
    user = g.user
    scopes = ["mine", "available", "done"] + (["unit"] if user.has_role(*HEAD_ROLES) else [])
    scope = request.args.get("scope", "mine")
    scope = scope if scope in scopes else "mine"
    procedure = request.args.get("procedure") or None
    q = (request.args.get("q") or "").strip()[:100] or None
    sort = request.args.get("sort", "due_at")
    sort = sort if sort in SORTS else "due_at"
    page = page_number(request.args.get("page", 1))
    # 可认领 lists only what the officer may take, decided before paging (engine/queries/inbox.py).
    listing = task_page(user, scope, procedure=procedure, q=q, sort=sort, page=page, per_page=PER_PAGE, count_cap=COUNT_CAP)
    rows, total, has_next = listing.items, listing.total, listing.has_next
    reasons: dict[tuple[str, int], str | None] = {}
    reassign_to: dict[str, list[User]] = {}
    not_eligible: dict[str, list[User]] = {}
    if scope == "unit":
        officers = [u for u in unit_officers(user.unit_id) if u.roles]
        reasons = eligibility(rows, officers)
        for t in rows:
            holders = [u for u in officers if u.has_role(t.role)]
            reassign_to[t.id] = [u for u in holders if reasons[(t.id, u.id)] is None and u.id != t.assignee_id]
            not_eligible[t.id] = [u for u in holders if reasons[(t.id, u.id)] is not None]  # shown with the reason
    rendered_options, rendered_excluded = _officer_lists(reassign_to, not_eligible, reasons)
    return render_template(
        "inbox.html", scope=scope, scopes=scopes, tasks=rows, total=total, page=page, per_page=PER_PAGE, count_cap=COUNT_CAP,
        pages=max(page + has_next, -(-min(total, COUNT_CAP) // PER_PAGE)), procedure=procedure, q=q or "", sort=sort, sorts=list(SORTS),
        procedures=PROCEDURES, reassign_to=reassign_to, not_eligible=not_eligible, reasons=reasons,
        rendered_options=rendered_options, rendered_excluded=rendered_excluded,
    )


def _officer_lists(reassign_to: dict[str, list[User]], not_eligible: dict[str, list[User]],
                   reasons: dict[tuple[str, int], str | None]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each distinct officer list of a unit head's page rendered once: rows of the same kind of step
    offer the same officers (25 rows x every officer was most of the page's cost)."""
    options_macro = get_template_attribute("_macros.html", "officer_options")
    excluded_macro = get_template_attribute("_macros.html", "not_eligible_items")
    options: dict[tuple[int, ...], Any] = {}
    excluded: dict[tuple[tuple[int, str | None], ...], Any] = {}
    out_options, out_excluded = {}, {}
    for task_id, officers in reassign_to.items():
        key = tuple(u.id for u in officers)
        if key not in options:
            options[key] = options_macro(officers)  # a macro returns escaped Markup
        out_options[task_id] = options[key]
    for task_id, officers in not_eligible.items():
        pairs = [(u, reasons[(task_id, u.id)]) for u in officers]
        key2 = tuple((u.id, reason) for u, reason in pairs)
        if key2 not in excluded:
            excluded[key2] = excluded_macro(pairs)
        out_excluded[task_id] = excluded[key2]
    return out_options, out_excluded


def refusals_as_messages(view: Callable[..., Response]) -> Callable[..., Response]:
    """Someone was quicker, or the rules say no: say so on the page the officer came from (NotFound stays a 404)."""
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return view(*args, **kwargs)
        except (Conflict, Forbidden, InvalidState, InvalidInput) as exc:
            flash(exc.message, "warning")
            return redirect(_back())

    return wrapper


@bp.post("/tasks/<task_id>/claim")
@login_required
@refusals_as_messages
def claim(task_id: str) -> Response:
    task = claim_task(g.user, task_id)
    flash(_("已认领：%(name)s", name=task.name), "success")
    return redirect(url_for("tasks.show", task_id=task.id))


@bp.post("/tasks/<task_id>/unclaim")
@login_required
@refusals_as_messages
def unclaim(task_id: str) -> Response:
    task = unclaim_task(g.user, task_id)
    flash(_("已释放任务：%(name)s", name=task.name), "info")
    return redirect(_back())


@bp.post("/tasks/<task_id>/reassign")
@login_required
@refusals_as_messages
def reassign(task_id: str) -> Response:
    task = reassign_task(g.user, task_id, request.form.get("to", ""))
    flash(_("已改派给 %(who)s：%(name)s", who=task.assignee.display_name if task.assignee else "", name=task.name), "success")
    return redirect(_back())


def _back() -> str:
    return safe_redirect(request.form.get("next"), url_for("inbox.index"))
