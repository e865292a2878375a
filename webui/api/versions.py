"""Versions: one deployment and its files, the diff of two, rollback, and validation without deploying."""

from __future__ import annotations

import io
import posixpath
from typing import Any

from flask import Response, request, send_file
from sqlalchemy import select

from engine.definitions.versions import deployment_file, diff_deployments, get_deployment, rollback, validate_files
from engine.errors import InvalidInput
from engine.models import ActiveProcess, ProcessSpec, db
from engine.policy.permissions import DESIGNERS

from . import bp, current, json_body, roles_required
from .present import iso

MIMETYPES = {"bpmn": "application/xml", "dmn": "application/xml", "form": "application/json"}


@bp.get("/deployments/<int:deployment_id>")
def read_deployment(deployment_id: int) -> dict[str, Any]:
    deployment = get_deployment(deployment_id)
    specs = db.session.scalars(select(ProcessSpec).where(ProcessSpec.deployment_id == deployment.id).order_by(ProcessSpec.process_id))
    active = {a.process_id: a.process_spec_id for a in db.session.scalars(select(ActiveProcess))}
    return {
        "id": deployment.id,
        "bundle_hash": deployment.bundle_hash,
        "created_at": iso(deployment.created_at),
        "created_by": deployment.created_by,
        "comment": deployment.comment,
        "files": [{"path": f.path, "kind": f.kind, "sha256": f.sha256} for f in deployment.files],
        "processes": [{"process_id": s.process_id, "name": s.name, "startable": s.startable,
                       "active": active.get(s.process_id) == s.id} for s in specs],
    }


@bp.get("/deployments/<int:deployment_id>/files/<path:path>")
def download_deployment_file(deployment_id: int, path: str) -> Response:
    row = deployment_file(deployment_id, path)
    return send_file(io.BytesIO(row.content.encode("utf-8")), mimetype=MIMETYPES.get(row.kind, "application/octet-stream"),
                     as_attachment=True, download_name=posixpath.basename(row.path), etag=row.sha256)


@bp.get("/deployments/<int:from_id>/diff/<int:to_id>")
def deployment_diff(from_id: int, to_id: int) -> dict[str, Any]:
    return diff_deployments(from_id, to_id).to_dict()


@bp.post("/deployments/<int:deployment_id>/rollback")
@roles_required(*DESIGNERS)
def rollback_deployment(deployment_id: int) -> tuple[dict[str, Any], int]:
    comment = json_body().get("comment")
    if not isinstance(comment, str):
        raise InvalidInput("回滚必须填写说明 (a rollback needs a comment saying why)",
                           details=[{"field": "comment", "message": "必填 (required)"}])
    deployment = rollback(current(), deployment_id, comment)
    return {"id": deployment.id, "bundle_hash": deployment.bundle_hash, "created_at": iso(deployment.created_at),
            "comment": deployment.comment, "rolled_back_to": deployment_id,
            "active": {a.process_id: a.spec.deployment_id for a in db.session.scalars(select(ActiveProcess))}}, 201


@bp.post("/deployments/validate")
@roles_required(*DESIGNERS)
def validate_deployment() -> dict[str, Any]:
    """The report ``POST /deployments`` would give for the same upload, without deploying anything."""
    uploads = [(f.filename or "", f.read()) for f in request.files.getlist("files") + request.files.getlist("file")]
    if not uploads:
        raise InvalidInput("请上传 BPMN/DMN/表单文件或 zip (upload files as multipart field 'files')")
    problems = validate_files(uploads, replace_all=request.form.get("replace_all") in ("1", "true"))
    return {"valid": not problems, "problems": problems}
