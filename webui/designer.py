"""The designer area: edit BPMN in bpmn-js, DMN in dmn-js and forms with a live preview; validate,
save drafts, deploy; version history with diffs and rollback.

Only ``process_designer`` (and administrators) may enter. Every write is a small JSON or form POST
with the CSRF token; the editors run in the browser and send text, never files to a path.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from engine.definitions.bundle import safe_path
from engine.definitions.drafts import deploy_drafts, discard_draft, library, new_process, save_draft, source, submit_drafts, validate_drafts
from engine.definitions.review import submission_views, submissions
from engine.definitions.review_policy import review_required
from engine.definitions.versions import diff_deployments, rollback
from engine.errors import InvalidInput, ZhifaError
from engine.models import ActiveProcess, Case, Deployment, ProcessSpec, TimeLimit, db
from engine.policy.permissions import DESIGNERS
from engine.policy.roles import CREDENTIAL_KINDS, LANE_ROLES, TASK_PROPERTIES
from engine.runtime.case_migration import MigrationPlan, migrate_cases, plan_migrations, running_cases

from .formrender import display_value, fields_of
from .security import id_arg, roles_required

bp = Blueprint("designer", __name__, url_prefix="/designer")
DESIGNER_ROLES = DESIGNERS


designer_required = roles_required(*DESIGNER_ROLES)


@bp.get("/")
@designer_required
def index() -> str:
    active = db.session.execute(
        select(ActiveProcess.process_id, ProcessSpec.name, ProcessSpec.deployment_id, ActiveProcess.activated_at,
               ActiveProcess.activated_by)
        .join(ProcessSpec, ProcessSpec.id == ActiveProcess.process_spec_id).order_by(ActiveProcess.process_id)).all()
    deployments = list(db.session.scalars(select(Deployment).order_by(Deployment.id.desc()).limit(20)))
    mine = submission_views(submissions(submitted_by=g.user.username, limit=10))
    return render_template("designer/index.html", files=library(), active=active, deployments=deployments,
                           review=review_required(), mine=mine)


@bp.get("/edit")
@designer_required
def edit() -> str:
    path = safe_path(request.args.get("path", ""))
    content, origin = source(path)
    kind = "bpmn" if path.endswith(".bpmn") else "dmn" if path.endswith(".dmn") else "form"
    return render_template(f"designer/edit_{kind}.html", path=path, content=content, origin=origin)


@bp.get("/source")
@designer_required
def raw_source() -> Response:
    """The file as text (draft or deployed), for the editors and for download."""
    path = safe_path(request.args.get("path", ""))
    content, _origin = source(path)
    mimetype = "application/json" if path.endswith(".json") else "application/xml"
    response = Response(content, mimetype=mimetype)
    if request.args.get("download"):
        response.headers["Content-Disposition"] = f'attachment; filename="{path.rsplit("/", 1)[-1]}"'
    return response


@bp.get("/options")
@designer_required
def options() -> dict[str, Any]:
    """What the properties panel offers: existing forms, time-limit keys, credentials, lanes, task ids."""
    files = library()
    forms = sorted(row["path"][len("forms/"):-len(".json")] for row in files if row["kind"] == "form")
    limits = [{"key": t.key, "name": t.name, "amount": t.amount, "unit": t.unit}
              for t in db.session.scalars(select(TimeLimit).order_by(TimeLimit.key))]
    return {"forms": forms, "time_limits": limits, "credentials": CREDENTIAL_KINDS, "lanes": LANE_ROLES,
            "properties": sorted(TASK_PROPERTIES)}


@bp.post("/draft")
@designer_required
def draft() -> dict[str, Any]:
    body = _json()
    saved = save_draft(g.user, str(body.get("path", "")), str(body.get("content", "")))
    return {"path": saved.path, "updated_at": saved.updated_at.isoformat(), "updated_by": saved.updated_by}


@bp.post("/validate")
@designer_required
def validate() -> dict[str, Any]:
    """Problems of the draft set with the editor's current text; the editor selects each at its element."""
    body = _json()
    overrides = {}
    if body.get("path") and isinstance(body.get("content"), str):
        overrides[safe_path(str(body["path"]))] = body["content"]
    problems = [p.to_dict() for p in validate_drafts(overrides)]
    return {"valid": not problems, "problems": problems}


@bp.post("/preview")
@designer_required
def preview() -> str:
    """The form as officers will see it, from the schema being edited (no data is saved)."""
    body = _json()
    try:
        schema = json.loads(str(body.get("content", "")))
        if not isinstance(schema, dict):
            raise ValueError("not an object")
        fields = fields_of(schema)
    except (ValueError, TypeError, AttributeError) as exc:
        return render_template("designer/_preview_error.html", error=str(exc))
    return render_template("designer/_preview.html", schema=schema, fields=fields, display_value=display_value)


@bp.post("/deploy")
@designer_required
def deploy() -> Response:
    """部署 — or, where deployments need review (review_policy.py), 提交审核: nothing is active until approved."""
    review = review_required()
    try:
        if review:
            submission = submit_drafts(g.user, request.form.get("comment", ""))
        else:
            deployment = deploy_drafts(g.user, request.form.get("comment", ""))
    except ZhifaError as exc:
        flash(exc.message, "danger")
        return redirect(url_for("designer.index"))
    if review:
        flash(_("已提交审核 #%(id)s：经法制审核人员或系统管理员批准后生效。", id=submission.id), "success")
        return redirect(url_for("review.show", submission_id=submission.id))
    flash(_("已部署为版本 #%(id)s，新立案件即时适用。", id=deployment.id), "success")
    return redirect(url_for("designer.index"))


@bp.post("/discard")
@designer_required
def discard() -> Response:
    discard_draft(g.user, request.form.get("path", ""))
    flash(_("已放弃草稿"), "info")
    return redirect(url_for("designer.index"))


@bp.post("/new")
@designer_required
def create() -> Response:
    try:
        created = new_process(g.user, request.form.get("process_id", "").strip(), request.form.get("name", ""))
    except ZhifaError as exc:
        flash(exc.message, "danger")
        return redirect(url_for("designer.index"))
    return redirect(url_for("designer.edit", path=created.path))


@bp.post("/upload")
@designer_required
def upload() -> Response:
    files = request.files.getlist("files")
    try:
        if not files:
            raise InvalidInput(_("请选择文件"))
        for f in files:
            content = f.read()
            try:
                text = content.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidInput(_("文件须为 UTF-8 文本：%(name)s", name=f.filename or "")) from exc
            save_draft(g.user, f.filename or "", text)
    except ZhifaError as exc:
        flash(exc.message, "danger")
    else:
        flash(_("已上传为草稿，校验通过后即可部署"), "success")
    return redirect(url_for("designer.index"))


def _json() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("请求体必须是 JSON 对象 (JSON object expected)")
    return body


@bp.get("/versions")
@designer_required
def versions() -> str:
    """History (who, when, comment), a diff between any two versions, and rollback."""
    deployments = list(db.session.scalars(select(Deployment).order_by(Deployment.id.desc()).limit(200)))
    diff = None
    a, b = request.args.get("from", type=id_arg), request.args.get("to", type=id_arg)
    if a is None and len(deployments) >= 2:
        a, b = deployments[1].id, deployments[0].id
    if a is not None and b is not None:
        diff = diff_deployments(a, b).to_dict()
    return render_template("designer/versions.html", deployments=deployments, diff=diff, a=a, b=b)


@bp.post("/rollback")
@designer_required
def rollback_to() -> Response:
    try:
        deployment = rollback(g.user, request.form.get("deployment", type=id_arg) or 0, request.form.get("comment", ""))
    except ZhifaError as exc:
        flash(exc.message, "danger")
    else:
        flash(_("已回滚：部署 #%(id)s 为现行版本，新立案件即时适用。", id=deployment.id), "success")
    return redirect(url_for("designer.versions"))


@bp.route("/migrate", methods=["GET", "POST"])
@designer_required
def migrate() -> str:
    """Pick running cases (by procedure and version, or by case number), dry-run, then apply."""
    processes = list(db.session.scalars(select(ActiveProcess.process_id).order_by(ActiveProcess.process_id)))
    process_id = request.values.get("process_id") or (processes[0] if processes else "")
    from_deployment = request.values.get("from_deployment", type=id_arg)
    numbers = [n.strip() for n in (request.values.get("case_numbers") or "").replace("，", ",").split(",") if n.strip()]
    plans, applied, message = [], False, None
    if request.method == "POST":
        try:
            case_ids = _case_ids_by_number(numbers) if numbers else running_cases(process_id, from_deployment)
            if request.form.get("action") == "apply":
                plans, applied = migrate_cases(g.user, [int(c) for c in request.form.getlist("case")]), True
                flash(_("已迁移 %(n)s 件案件", n=len(plans)), "success")
            else:
                plans = plan_migrations(case_ids) if case_ids else []
                if not case_ids:
                    message = _("没有符合条件的在办案件")
        except ZhifaError as exc:
            message = exc.message
            plans = [MigrationPlan(**d) for d in exc.details or [] if isinstance(d, dict)] if isinstance(exc.details, list) else []
    versions = db.session.execute(select(ProcessSpec.deployment_id).where(ProcessSpec.process_id == process_id)
                                  .order_by(ProcessSpec.deployment_id.desc())).scalars().all()
    return render_template("designer/migrate.html", processes=processes, process_id=process_id, versions=versions,
                           from_deployment=from_deployment, case_numbers=", ".join(numbers), plans=plans, applied=applied,
                           message=message)


def _case_ids_by_number(numbers: list[str]) -> list[int]:
    found = dict(db.session.execute(select(Case.case_number, Case.id).where(Case.case_number.in_(numbers))).tuples().all())
    if missing := [n for n in numbers if n not in found]:
        raise InvalidInput(_("案号不存在：%(numbers)s", numbers="、".join(missing)))
    return [found[n] for n in numbers]
