"""Four-eyes deployment over the API: submissions of library versions, their diff, approve / reject.

Where review is required (engine/definitions/review_policy.py) ``POST /deployments`` answers 202 with
the pending submission instead of a deployment; a legal reviewer or an administrator — never the
submitter — approves it here, and only then is it deployed and active.
"""

from __future__ import annotations

from typing import Any

from flask import request

from engine.definitions.review import (
    STATUSES,
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
from engine.errors import InvalidInput
from engine.models import DeploymentSubmission
from engine.policy.permissions import ADMINISTRATORS, DEPLOYMENT_REVIEWERS, DESIGNERS

from . import bp, current, json_body, roles_required, text_field
from .present import deployment_summary, iso

READERS = tuple(dict.fromkeys(DESIGNERS + DEPLOYMENT_REVIEWERS))


def submission_json(submission: DeploymentSubmission) -> dict[str, Any]:
    return _dates(submission_view(submission))


def _setting_json(setting: dict[str, Any]) -> dict[str, Any]:
    return {**setting, "updated_at": iso(setting["updated_at"])}


def _dates(view: dict[str, Any]) -> dict[str, Any]:
    return {**view, "submitted_at": iso(view["submitted_at"]), "decided_at": iso(view["decided_at"])}


@bp.get("/deployments/review")
@roles_required(*READERS)
def read_review_setting() -> dict[str, Any]:
    return _setting_json(review_setting())


@bp.put("/deployments/review")
@roles_required(*ADMINISTRATORS)
def update_review_setting() -> dict[str, Any]:
    """``{"required": true|false}``, or ``null`` to follow the installation's default again."""
    body = json_body()
    if "required" not in body or body["required"] not in (True, False, None):
        raise InvalidInput("required 须为 true、false 或 null (required must be true, false or null)",
                           details=[{"field": "required", "message": "true | false | null"}])
    return _setting_json(set_review_required(current(), body["required"]))


@bp.get("/deployments/submissions")
@roles_required(*READERS)
def list_submissions() -> dict[str, Any]:
    rows = submissions(status=request.args.get("status") or None, submitted_by=request.args.get("submitted_by") or None)
    return {"items": [_dates(v) for v in submission_views(rows)], "review_required": review_setting()["required"]}


@bp.get("/deployments/submissions/<int:submission_id>")
@roles_required(*READERS)
def read_submission(submission_id: int) -> dict[str, Any]:
    """The submission and, per file, its diff against the current library (the latest deployment)."""
    submission = get_submission(submission_id)
    return {**submission_json(submission), "diff": submission_diff(submission)}


@bp.post("/deployments/submissions/<int:submission_id>/approve")
@roles_required(*DEPLOYMENT_REVIEWERS)
def approve_submission(submission_id: int) -> tuple[dict[str, Any], int]:
    body = request.get_json(silent=True)
    deployment = approve(current(), submission_id, text_field(body if isinstance(body, dict) else {}, "comment"))
    return {**deployment_summary(deployment), "submission": submission_id, "status": "approved"}, 201


@bp.post("/deployments/submissions/<int:submission_id>/reject")
@roles_required(*DEPLOYMENT_REVIEWERS)
def reject_submission(submission_id: int) -> dict[str, Any]:
    return submission_json(reject(current(), submission_id, text_field(json_body(), "reason")))


@bp.post("/deployments/submissions/<int:submission_id>/withdraw")
@roles_required(*DESIGNERS)
def withdraw_submission(submission_id: int) -> dict[str, Any]:
    return submission_json(withdraw(current(), submission_id))


def _openapi() -> None:
    from . import openapi

    op = openapi._op  # noqa: SLF001  (the document's own builders)
    openapi._PATH_PARAMETERS["submission_id"] = openapi._ID  # noqa: SLF001
    paths = openapi.SPEC["paths"]
    paths["/deployments"]["post"]["responses"]["202"] = {
        "description": "Review required (four eyes): the pending submission {id, status, …}; nothing is active yet",
        "content": {"application/json": {"schema": {"type": "object"}}}}
    paths.update({
        "/deployments/review": {
            "get": op("Whether deployments need a second person's approval: {required, source}"),
            "put": op("Set it (administrators; audited): required true | false | null (the installation's default)",
                      body={"type": "object", "required": ["required"], "properties": {"required": {"type": "boolean", "nullable": True}}}),
        },
        "/deployments/submissions": {"get": op("Submitted library versions (designers, reviewers)",
                                               query=[("status", {"type": "string", "enum": list(STATUSES)}, False),
                                                      ("submitted_by", "string", False)])},
        "/deployments/submissions/{submission_id}": {"get": op(
            "A submission and its diff against the current library, per file", params=["submission_id"])},
        "/deployments/submissions/{submission_id}/approve": {"post": op(
            "Approve (legal reviewer or administrator, not the submitter): deploys and activates it; refused when stale", "201",
            params=["submission_id"], body={"type": "object", "properties": {"comment": {"type": "string"}}}, body_required=False)},
        "/deployments/submissions/{submission_id}/reject": {"post": op(
            "Reject with a reason (legal reviewer or administrator)", params=["submission_id"],
            body={"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string", "minLength": 1}}})},
        "/deployments/submissions/{submission_id}/withdraw": {"post": op(
            "The submitter withdraws a pending submission", params=["submission_id"], body_required=False,
            body={"type": "object", "nullable": True})},
    })


_openapi()
