"""Case pages: the case file (timeline, clock, diagram, deadlines, documents) and starting a case."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from sqlalchemy import select

from engine import audit
from engine.access import get_case
from engine.case_clock import days_left
from engine.documents import case_documents
from engine.errors import Forbidden, InvalidInput
from engine.models import ActiveProcess, AuditEvent, ProcessInstance, ProcessSpec, Publication, Task, User, db
from engine.publication import request_withdrawal
from engine.record_export import export_case_file
from engine.runtime import start_case
from engine.runtime.cases import STARTER_ROLES
from engine.runtime.diagram import element_states, process_source
from engine.runtime.suggest import suggest_procedure

from .api.present import deadline_badge, due_label
from .formrender import display_value, fields_of, parse_form
from .timeline import describe_event

bp = Blueprint("cases", __name__)

PENALTY_KINDS = {
    "warning": _l("警告"), "fine": _l("罚款"), "confiscation": _l("没收违法所得、没收非法财物"),
    "licence_revocation": _l("吊销许可证件"), "suspension": _l("责令停产停业"), "closure": _l("责令关闭"),
    "other": _l("其他"), "none": _l("不予处罚"),
}


def start_form() -> dict[str, Any]:
    """The start form in the same JSON Schema shape as task forms (labels in the user's language)."""
    return {
        "type": "object",
        "required": ["party_type", "party_name", "violation"],
        "properties": {
            "party_type": {"title": _("当事人类型"), "type": "string", "enum": ["citizen", "organization"], "x-widget": "radio",
                           "x-enum-labels": {"citizen": _("公民"), "organization": _("法人或其他组织")}},
            "party_name": {"title": _("当事人名称"), "type": "string", "maxLength": 200, "x-widget": "text"},
            "party_id_number": {"title": _("证件号码"), "type": "string", "maxLength": 40, "x-widget": "text",
                                "description": _("身份证号或统一社会信用代码；页面上只显示脱敏后的号码")},
            "violation": {"title": _("违法行为"), "type": "string", "maxLength": 2000, "x-widget": "textarea"},
            "penalty_kind": {"title": _("拟处罚种类"), "type": "string", "enum": list(PENALTY_KINDS), "x-widget": "select",
                             "x-enum-labels": {k: str(v) for k, v in PENALTY_KINDS.items()}},
            "proposed_fine": {"title": _("拟罚款金额（元）"), "type": "number", "minimum": 0, "maximum": 1e10, "multipleOf": 0.01,
                              "x-widget": "money"},
        },
    }


@bp.get("/cases/<int:case_id>")
@login_required
def show(case_id: int) -> str:
    case = get_case(g.user, case_id)
    tasks = list(db.session.scalars(select(Task).where(Task.case_id == case.id).order_by(Task.created_at)))
    events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.chain == f"case:{case.id}").order_by(AuditEvent.seq)))
    instances = db.session.execute(
        select(ProcessInstance, ProcessSpec).join(ProcessSpec, ProcessSpec.id == ProcessInstance.process_spec_id)
        .where(ProcessInstance.case_id == case.id).order_by(ProcessInstance.id)
    ).all()
    actors = {u.username: u for u in db.session.scalars(select(User).where(User.username.in_({e.actor for e in events})))}
    documents = case_documents(case.id)
    findings = audit.verify(case.id)  # the case's own chain: a few hundred rows at most
    publications = list(db.session.scalars(select(Publication).where(Publication.case_id == case.id).order_by(Publication.id)))
    return render_template(
        "case.html", case=case, tasks=tasks, events=[describe_event(e, actors) for e in events], instances=instances,
        documents=documents, days_left=days_left(case), badge=deadline_badge, due_label=due_label, findings=findings,
        publications=publications,
    )


@bp.post("/cases/<int:case_id>/publication/withdraw")
@login_required
def withdraw_publication(case_id: int) -> Response:
    try:
        request_withdrawal(g.user, case_id, request.form.get("reason", ""))
    except (InvalidInput, Forbidden) as exc:
        flash(exc.message, "warning")
    else:
        flash(_("已申请撤回公示，将在下一次扫描时撤回"), "success")
    return redirect(url_for("cases.show", case_id=case_id))


@bp.get("/cases/<int:case_id>/record.zip")
@login_required
def record(case_id: int) -> Response:
    """案卷导出: documents, the audit chain and its hashes, verifiable offline with the enclosed verify.py."""
    name, content = export_case_file(g.user, case_id)
    response = Response(content, mimetype="application/zip")
    response.headers["Content-Disposition"] = f"attachment; filename=case-{case_id}.zip; filename*=UTF-8''{quote(name)}"
    return response


@bp.get("/cases/<int:case_id>/diagram")
@login_required
def diagram(case_id: int) -> dict[str, Any]:
    """The BPMN XML the case runs on and the state of each element, for the bpmn-js viewer."""
    case = get_case(g.user, case_id)
    instance = db.session.scalars(select(ProcessInstance).where(ProcessInstance.case_id == case.id)
                                  .order_by(ProcessInstance.id)).first()
    if instance is None:
        return {"xml": None, "states": {}}
    states = element_states(instance, g.user.username)
    return {"xml": process_source(instance), "states": states, "process_id": instance.process_id}


@bp.route("/cases/new", methods=["GET", "POST"])
@login_required
def new() -> str | Response | tuple[str, int]:
    user = g.user
    if not user.has_role(*STARTER_ROLES):
        raise Forbidden(_("只有承办人或承办机构负责人可以登记案件"))
    schema = start_form()
    procedures = [(pid, name) for pid, name in db.session.execute(
        select(ActiveProcess.process_id, ProcessSpec.name).join(ProcessSpec, ProcessSpec.id == ActiveProcess.process_spec_id)
        .where(ProcessSpec.startable.is_(True)).order_by(ActiveProcess.process_id))]
    values: dict[str, Any] = {"party_type": "citizen"}
    errors: dict[str, list[str]] = {}
    message = suggestion = None
    procedure = request.values.get("procedure", "")
    status = 200
    if request.method == "POST":
        values = parse_form(schema, request.form)
        party = {k: values[k] for k in ("party_type", "party_name", "party_id_number") if k in values}
        facts = {k: values[k] for k in ("violation", "penalty_kind", "proposed_fine") if k in values}
        try:
            if request.form.get("action") == "suggest":
                suggestion = suggest_procedure(str(party.get("party_type", "citizen")), facts)
                procedure = suggestion.procedure
            else:
                if not values.get("violation"):
                    raise InvalidInput(_("请填写违法行为"), details=[{"field": "violation", "message": _("必填")}])
                if not procedure:
                    raise InvalidInput(_("请选择程序"), details=[{"field": "procedure", "message": _("必填")}])
                case = start_case(user, procedure, party, facts)
                flash(_("已登记案件 %(number)s", number=case.case_number), "success")
                return redirect(url_for("cases.show", case_id=case.id))
        except InvalidInput as exc:
            message, status = exc.message, 422
            errors = {str(d["field"]): [str(d.get("message", ""))] for d in exc.details or [] if isinstance(d, dict) and d.get("field")}
    return render_template("case_new.html", fields=fields_of(schema), values=values, errors=errors, message=message,
                           procedures=procedures, procedure=procedure, suggestion=suggestion,
                           display_value=display_value), status
