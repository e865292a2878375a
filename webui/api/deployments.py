"""Deployments: list, upload (validated whole; nothing changes on any problem), process XML."""

from __future__ import annotations

from typing import Any

from flask import Response, g, request, url_for
from sqlalchemy import select

from engine.definitions import deploy_bundle
from engine.definitions.review import submit_bundle
from engine.definitions.review_policy import review_required
from engine.definitions.specs import active_spec
from engine.definitions.versions import upload_bundle
from engine.errors import InvalidInput
from engine.models import ActiveProcess, Deployment, db
from engine.policy.permissions import DESIGNERS
from engine.runtime.case_migration import migrate_cases, plan_migrations, running_cases
from engine.runtime.diagram import bpmn_source

from ..security import MAX_ID, id_arg
from . import bp, json_body, roles_required
from .deployment_reviews import submission_json
from .present import deployment_summary, iso


def _is_id(value: object) -> bool:
    """An id the database can hold (INTEGER columns): a larger one fails to bind on PostgreSQL (500)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ID


@bp.get("/deployments")
def list_deployments() -> dict[str, Any]:
    rows = db.session.scalars(select(Deployment).order_by(Deployment.id.desc()).limit(100))
    active = {a.process_id: a.spec.deployment_id for a in db.session.scalars(select(ActiveProcess))}
    return {
        "items": [
            {"id": d.id, "bundle_hash": d.bundle_hash, "created_at": iso(d.created_at), "created_by": d.created_by,
             "comment": d.comment, "files": [{"path": f.path, "sha256": f.sha256} for f in d.files]}
            for d in rows
        ],
        "active": active,
        "review_required": review_required(),
    }


@bp.post("/deployments")
@roles_required(*DESIGNERS)
def create_deployment() -> tuple[dict[str, Any], int]:
    """Uploaded files replace files of the same name in the latest deployment (``replace_all`` = full set).

    Where deployments need review (engine/definitions/review_policy.py) nothing is activated yet: the
    answer is 202 with the pending submission (``id``, ``status``), approved at
    ``POST /deployments/submissions/<id>/approve`` by a legal reviewer or an administrator."""
    uploads = [(f.filename or "", f.read()) for f in request.files.getlist("files") + request.files.getlist("file")]
    if not uploads:
        raise InvalidInput("请上传 BPMN/DMN/表单文件或 zip (upload files as multipart field 'files')")
    bundle = upload_bundle(uploads, replace_all=request.form.get("replace_all") in ("1", "true"))
    if review_required():
        submission = submit_bundle(g.user, bundle, request.form.get("comment", ""))
        return {**submission_json(submission), "review_required": True,
                "location": url_for("api.read_submission", submission_id=submission.id)}, 202
    deployment = deploy_bundle(bundle, g.user, request.form.get("comment", ""))
    return deployment_summary(deployment), 201


@bp.get("/processes/<process_id>/xml")
def process_xml(process_id: str) -> Response:
    deployment_id = request.args.get("deployment", type=id_arg) or active_spec(process_id).deployment_id
    return Response(bpmn_source(deployment_id, process_id), mimetype="application/xml")


@bp.post("/migrations")
@roles_required(*DESIGNERS)
def migrate() -> dict[str, Any]:
    """Dry run (default) or apply a migration of running cases to a deployment of their procedure.

    Cases are listed (``cases``) or chosen by filter (``filter``: ``process_id`` and optionally the
    ``from_deployment`` they run on); ``deployment`` is the target (default: the active version).
    """
    body = json_body()
    target = body.get("deployment")
    if target is not None and not _is_id(target):
        raise InvalidInput("deployment 必须是整数 (deployment must be an integer)")
    case_ids = body.get("cases")
    if case_ids is None and isinstance(body.get("filter"), dict):
        from_deployment = body["filter"].get("from_deployment")
        if from_deployment is not None and not _is_id(from_deployment):
            raise InvalidInput("from_deployment 必须是整数 (from_deployment must be an integer id)")
        case_ids = running_cases(str(body["filter"].get("process_id") or ""), from_deployment)
    if not isinstance(case_ids, list) or not all(_is_id(c) for c in case_ids):
        raise InvalidInput("请用 cases（案件编号列表）或 filter 指定案件 (give 'cases' as a list of ids, or a 'filter')")
    if body.get("dry_run", True) is not False:
        return {"dry_run": True, "plans": [p.to_dict() for p in plan_migrations(case_ids, target)]}
    return {"dry_run": False, "plans": [p.to_dict() for p in migrate_cases(g.user, case_ids, target)]}
