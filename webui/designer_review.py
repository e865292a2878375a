"""部署审核 pages: submitted library versions, their diff, approve / reject (four-eyes deployment).

Designers see their submissions and can withdraw a pending one; legal reviewers (法制审核人员) and
administrators see every pending submission with its diff against the current library and approve
or reject it. The rules (never one's own, never a stale one, re-validated) are the engine's
(engine/definitions/review.py): these routes only call it and show what it says.
"""

from __future__ import annotations

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.definitions.review import (
    approve,
    get_submission,
    reject,
    submission_diff,
    submission_view,
    submission_views,
    submissions,
    withdraw,
)
from engine.definitions.review_policy import review_setting, set_review_required
from engine.errors import ZhifaError
from engine.policy.permissions import DEPLOYMENT_REVIEWERS, DESIGNERS, allowed

from .security import roles_required

bp = Blueprint("review", __name__, url_prefix="/designer/reviews")


review_area = roles_required(*DESIGNERS, *DEPLOYMENT_REVIEWERS)  # designers: their own submissions; reviewers: everyone's


@bp.get("/")
@review_area
def index() -> str:
    reviewer = g.user.has_role(*DEPLOYMENT_REVIEWERS)
    whose = None if reviewer else g.user.username
    pending = submission_views(submissions(status="pending", submitted_by=whose))
    decided = [s for s in submission_views(submissions(submitted_by=whose, limit=30)) if s["status"] != "pending"]
    return render_template("designer/reviews.html", pending=pending, decided=decided, reviewer=reviewer,
                           setting=review_setting(), can_configure=allowed(g.user, "procedure.review_settings"))


@bp.get("/<int:submission_id>")
@review_area
def show(submission_id: int) -> str:
    submission = get_submission(submission_id)
    reviewer = g.user.has_role(*DEPLOYMENT_REVIEWERS)
    view = submission_view(submission)
    return render_template("designer/review.html", s=view, diff=submission_diff(submission), reviewer=reviewer,
                           own=view["submitted_by"] == g.user.username)


@bp.post("/<int:submission_id>/approve")
@review_area
def approve_submission(submission_id: int) -> Response:
    try:
        deployment = approve(g.user, submission_id, request.form.get("comment", ""))
    except ZhifaError as exc:
        flash(exc.message, "danger")
        return redirect(url_for("review.show", submission_id=submission_id))
    flash(_("已批准：部署 #%(id)s 为现行版本，新立案件即时适用。", id=deployment.id), "success")
    return redirect(url_for("review.index"))


@bp.post("/<int:submission_id>/reject")
@review_area
def reject_submission(submission_id: int) -> Response:
    try:
        reject(g.user, submission_id, request.form.get("reason", ""))
    except ZhifaError as exc:
        flash(exc.message, "danger")
        return redirect(url_for("review.show", submission_id=submission_id))
    flash(_("已驳回，设计人员将收到驳回理由。"), "info")
    return redirect(url_for("review.index"))


@bp.post("/<int:submission_id>/withdraw")
@review_area
def withdraw_submission(submission_id: int) -> Response:
    try:
        withdraw(g.user, submission_id)
    except ZhifaError as exc:
        flash(exc.message, "danger")
    else:
        flash(_("已撤回提交"), "info")
    return redirect(url_for("review.index"))


@bp.post("/settings")
@review_area
def settings() -> Response:
    """Administrators: require review, turn it off, or follow the installation's default (audited)."""
    choice = request.form.get("required", "")
    try:
        set_review_required(g.user, {"on": True, "off": False}.get(choice))
    except ZhifaError as exc:
        flash(exc.message, "danger")
    else:
        flash(_("已保存部署审核设置"), "success")
    return redirect(url_for("review.index"))
