"""Case pages: the case file (timeline, clock, diagram, deadlines, documents) and starting a case."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from sqlalchemy import select

from engine import clock
from engine.casefile.export import export_case_file
from engine.casefile.verify import verify_record
from engine.deadlines.limits import Deadlines
from engine.documents.service import services_of
from engine.errors import Forbidden, InvalidInput, NotFound, ZhifaError
from engine.models import (
    Case,
    ClockPause,
    ProcessInstance,
    Publication,
    User,
    db,
)
from engine.models.case import PARTY_FIELDS
from engine.policy.access import get_case
from engine.policy.officers import designate_handlers
from engine.publication.publish import request_withdrawal
from engine.queries.case_file import case_file
from engine.queries.start_form import start_form as engine_start_form
from engine.queries.start_form import startable_procedures
from engine.runtime import resume_case, start_case, suspend_case, terminate_case
from engine.runtime.case_clock import (
    COUNTING,
    EXCLUDED_KINDS,
    EXTENSION_KEY,
    OFFICER_ROLES,
    days_left,
    end_excluded_period,
    extend_case_clock,
    pauses_of,
    start_excluded_period,
)
from engine.runtime.cases import DECIDER_ROLE, STARTER_ROLES, SUSPENSION_GROUNDS, TERMINATION_GROUNDS
from engine.runtime.diagram import element_states, labelled_lanes, process_source
from engine.runtime.recusal import decide_recusal as record_recusal_decision
from engine.runtime.recusal import request_recusal as record_recusal_request
from engine.runtime.suggest import suggest_procedure

from .api.present import deadline_badge, due_label
from .case_officers import officers_panel
from .case_party import PAGE_REQUIRED, PARTY_LABELS, party_from_form, party_panel
from .formrender import display_value, fields_of, parse_form
from .i18n import ROLES
from .timeline import describe_event

bp = Blueprint("cases", __name__)

PENALTY_KINDS = {
    "warning": _l("警告"), "fine": _l("罚款"), "confiscation": _l("没收违法所得、没收非法财物"),
    "licence_revocation": _l("吊销许可证件"), "suspension": _l("责令停产停业"), "closure": _l("责令关闭"),
    "other": _l("其他"), "none": _l("不予处罚"),
}


# The registration page's party fields (the engine's start form has more party details than it shows);
# the facts fields are the chosen procedure's start form (all startable procedures' before one is chosen).
PAGE_FIELDS = ("party_type", "party_name", *(k for k in PARTY_FIELDS if k not in ("party_type", "party_name")))
# The engine's Chinese labels as translatable strings (the page shows them in the user's language).
LABELS = {
    "当事人类型": _l("当事人类型"), "公民": _l("公民"), "法人或其他组织": _l("法人或其他组织"), "当事人名称": _l("当事人名称"),
    "证件号码": _l("证件号码"),
    "身份证号或统一社会信用代码；页面上只显示脱敏后的号码": _l("身份证号或统一社会信用代码；页面上只显示脱敏后的号码"),
    "违法行为": _l("违法行为"), "拟处罚种类": _l("拟处罚种类"), "拟罚款金额（元）": _l("拟罚款金额（元）"),
    **{str(v): v for v in PENALTY_KINDS.values()},
    **PARTY_LABELS,
}


@dataclass(frozen=True)
class PageForm:
    schema: dict[str, Any]  # party and facts as one flat form, labels in the user's language
    facts: tuple[str, ...]  # the facts fields of the chosen procedure (or of every one)
    procedures_of: dict[str, list[str]]  # facts field -> the startable procedures whose start form has it


def start_form(user: User, procedure: str | None, procedures: list[tuple[str, str]]) -> PageForm:
    """The engine's start form (engine/queries/start_form.py: one rule for page and API) in the same
    JSON Schema shape as task forms, labels in the user's language; the facts are ``procedure``'s.
    ``procedures``: the startable ones, as the page has already read them."""
    form = engine_start_form(user, procedure, procedures)
    facts = tuple(form.facts["properties"])
    procedures_of: dict[str, list[str]] = {}
    for pid, schema in form.facts_by_procedure.items():
        for name in schema.get("properties", {}):
            procedures_of.setdefault(name, []).append(pid)
    return PageForm(_page_schema(form.fields((*PAGE_FIELDS, *facts))), facts, procedures_of)


def _page_schema(schema: dict[str, Any]) -> dict[str, Any]:
    schema["required"] = [*schema["required"], *PAGE_REQUIRED]  # marked; the engine requires them by party type
    for prop in schema["properties"].values():
        for key in ("title", "description"):
            if key in prop:
                prop[key] = str(LABELS.get(prop[key], prop[key]))
        if "x-enum-labels" in prop:
            prop["x-enum-labels"] = {k: str(LABELS.get(v, v)) for k, v in prop["x-enum-labels"].items()}
    return schema


@bp.get("/cases/<int:case_id>")
@login_required
def show(case_id: int) -> str:
    file = case_file(g.user, case_id)  # the same read GET /api/v1/cases/<id> renders (engine/queries)
    case, events = file.case, file.events
    actors = {u.username: u for u in db.session.scalars(select(User).where(User.username.in_({e.actor for e in events})))}
    findings = verify_record(case.id)  # the case's own chain: a few hundred rows at most
    publications = list(db.session.scalars(select(Publication).where(Publication.case_id == case.id).order_by(Publication.id)))
    return render_template(
        "case.html", case=case, tasks=file.tasks, events=[describe_event(e, actors) for e in events], instances=file.instances,
        documents=file.documents, days_left=days_left(case), badge=deadline_badge, due_label=due_label, findings=findings,
        publications=publications, actions=case_actions(g.user, case, file.instances), day_label=day_label,
        execution=file.execution, officers=officers_panel(g.user, case, file.documents), party=party_panel(g.user, case),
        services=services_of([d.id for d in file.documents]),  # 送达 attached to the documents it served
    )


def day_label(value: Any) -> str:
    """A date the clock paused from (stored as 00:00 that day): the day itself, never "the day before 24:00"."""
    return value.astimezone(clock.SHANGHAI).date().isoformat() if value else ""


# 中止、恢复、终止调查, 延长办案期限 and the periods the case clock does not count (法 Art. 60).
# Labels of the engine's keys (engine/runtime/cases.py, engine/runtime/case_clock.py), in the user's language.
SUSPENSION_LABELS = {
    "party_death_successor": _l("当事人死亡，须等待确定权利义务承受人"),
    "party_missing": _l("当事人下落不明，致使案件暂时无法调查"),
    "force_majeure": _l("因不可抗力致使案件暂时无法调查"),
    "legal_interpretation": _l("涉及法律适用等问题，需要送请有权机关作出解释或者确认"),
    "awaiting_other_case": _l("须以相关案件的裁判结果或者其他行政决定为依据，而相关案件尚未审结或者决定尚未作出"),
    "other": _l("其他应当中止调查的情形"),
}
TERMINATION_LABELS = {
    "no_successor": _l("当事人死亡且无遗产，或者法人、其他组织终止且无权利义务承受人，致使案件调查无法继续"),
    "time_barred": _l("违法行为已过追责时效（《行政处罚法》第三十六条）"),
    "other": _l("其他应当终止调查的情形"),
}
PAUSE_LABELS = {
    "suspension": _l("中止"), "hearing": _l("听证"), "procedure": _l("程序暂停"),
    "testing": _l("检测"), "inspection": _l("检验"), "quarantine": _l("检疫"), "appraisal": _l("鉴定"), "public_notice": _l("公告"),
}
assert SUSPENSION_LABELS.keys() == SUSPENSION_GROUNDS.keys() and TERMINATION_LABELS.keys() == TERMINATION_GROUNDS.keys()
assert EXCLUDED_KINDS.keys() <= PAUSE_LABELS.keys()


@dataclass(frozen=True)
class CaseActions:
    """What the case page offers: the clock's uncounted periods, and which actions this user may take now."""

    periods: list[ClockPause]
    may_decide: bool  # the agency head: 中止、恢复、终止调查, 延长办案期限
    may_record_periods: bool
    can_suspend: bool
    can_resume: bool
    can_terminate: bool
    can_extend: bool
    can_record_period: bool
    further_extension: bool  # a further extension needs collective discussion
    extension_max: int
    today: str
    suspension_grounds: dict[str, Any]
    termination_grounds: dict[str, Any]
    pause_kinds: dict[str, Any]
    excluded_kinds: dict[str, Any]


def case_actions(user: User, case: Case, instances: list[Any]) -> CaseActions:
    status = instances[-1][0].status if instances else None
    counting = case.clock_state in COUNTING
    may_decide = user.has_role(DECIDER_ROLE)
    may_record = user.has_role(*OFFICER_ROLES)
    return CaseActions(
        periods=pauses_of(case.id), may_decide=may_decide, may_record_periods=may_record,
        can_suspend=may_decide and status == "running", can_resume=may_decide and status == "suspended",
        can_terminate=may_decide and status in ("running", "suspended"), can_extend=may_decide and counting,
        can_record_period=may_record and counting and case.status in ("open", "suspended"),
        further_extension=case.extensions >= 1, extension_max=Deadlines().limit(EXTENSION_KEY).amount,
        today=clock.today_shanghai().isoformat(),
        suspension_grounds=SUSPENSION_LABELS, termination_grounds=TERMINATION_LABELS, pause_kinds=PAUSE_LABELS,
        excluded_kinds={k: PAUSE_LABELS[k] for k in EXCLUDED_KINDS},
    )


@bp.post("/cases/<int:case_id>/suspend")
@login_required
def suspend(case_id: int) -> Response:
    return _act(case_id, lambda: suspend_case(g.user, case_id, request.form.get("reason", ""),
                                              ground=request.form.get("ground", "")),
                _("已中止调查：办案期限暂停计算，已制作中止调查决定书"))


@bp.post("/cases/<int:case_id>/resume")
@login_required
def resume(case_id: int) -> Response:
    return _act(case_id, lambda: resume_case(g.user, case_id, request.form.get("reason", "")),
                _("已恢复调查：中止期间不计入办案期限，已制作恢复调查决定书"))


@bp.post("/cases/<int:case_id>/terminate")
@login_required
def terminate(case_id: int) -> Response:
    get_case(g.user, case_id)  # another unit's case is a 404 before anything else is said about it
    if request.form.get("confirm") != "1":
        flash(_("请勾选确认：终止调查将撤销全部待办任务，办案期限停止计算"), "warning")
        return redirect(url_for("cases.show", case_id=case_id, _anchor="case-actions"))
    return _act(case_id, lambda: terminate_case(g.user, case_id, request.form.get("reason", ""),
                                                ground=request.form.get("ground", "")),
                _("已终止调查：待办任务已撤销，办案期限停止计算，已制作终止调查决定书"))


@bp.post("/cases/<int:case_id>/clock/extend")
@login_required
def extend_clock(case_id: int) -> Response:
    try:
        days = int(request.form.get("days", ""))
    except ValueError:
        days = -1
    return _act(case_id, lambda: extend_case_clock(
        g.user, case_id, days, request.form.get("reason", ""), request.form.get("collective_discussion") == "1",
        request.form.get("discussion_on", ""), request.form.get("discussion_number", "")),
        _("已延长办案期限，已制作延长办案期限审批表"))


@bp.post("/cases/<int:case_id>/excluded-periods")
@login_required
def start_excluded(case_id: int) -> Response:
    return _act(case_id, lambda: start_excluded_period(g.user, case_id, request.form.get("kind", ""),
                                                       request.form.get("started_on", ""), request.form.get("description", "")),
                _("已登记不计入办案期限的期间：办案期限暂停计算，其他环节照常办理"))


@bp.post("/cases/<int:case_id>/excluded-periods/<int:n>/end")
@login_required
def end_excluded(case_id: int, n: int) -> Response:
    return _act(case_id, lambda: end_excluded_period(g.user, case_id, n, request.form.get("ended_on", "")),
                _("已登记该期间结束：办案期限重新计算"))


def _act(case_id: int, action: Any, done: str, anchor: str = "case-actions") -> Response:
    """Run an engine command; a refusal is shown on the case page with the rule and what to do."""
    try:
        action()
    except NotFound:
        raise
    except ZhifaError as exc:
        flash(exc.message, "warning")
    else:
        flash(done, "success")
    return redirect(url_for("cases.show", case_id=case_id, _anchor=anchor))


# 回避 (法 Art. 43) and the designated handlers (法 Art. 42): webui/case_officers.py builds the panel.
@bp.post("/cases/<int:case_id>/recusals")
@login_required
def request_recusal(case_id: int) -> Response:
    return _act(case_id, lambda: record_recusal_request(g.user, case_id, request.form.get("officer", ""),
                                                        request.form.get("source", ""), request.form.get("reason", "")),
                _("已登记回避申请，待行政机关负责人决定；决定作出之前，调查不停止"), anchor="officers")


@bp.post("/cases/<int:case_id>/recusals/<int:n>/decide")
@login_required
def decide_recusal(case_id: int, n: int) -> Response:
    decision = request.form.get("decision", "")
    return _act(case_id, lambda: record_recusal_decision(
        g.user, case_id, n, decision, request.form.get("reason", ""), request.form.get("collective_discussion") == "1",
        request.form.get("discussion_on", ""), request.form.get("discussion_record", "")),
        _("已决定回避：该人员不再参与本案，其待办任务已退回待办池，已制作回避决定书") if decision == "granted"
        else _("已决定不予回避，已制作回避决定书"), anchor="officers")


@bp.post("/cases/<int:case_id>/handlers")
@login_required
def designate(case_id: int) -> Response:
    return _act(case_id, lambda: designate_handlers(g.user, case_id, request.form.getlist("handlers"),
                                                    request.form.get("reason", "")),
                _("已重新指定承办人：本案的承办环节由新指定的承办人办理"), anchor="officers")


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
    xml = labelled_lanes(process_source(instance), {code: str(text) for code, text in ROLES.items()})  # lanes in Chinese
    return {"xml": xml, "states": states, "process_id": instance.process_id}


@bp.route("/cases/new", methods=["GET", "POST"])
@login_required
def new() -> str | Response | tuple[str, int]:
    user = g.user
    if not user.has_role(*STARTER_ROLES):
        raise Forbidden(_("只有承办人或承办机构负责人可以登记案件"))
    procedures = startable_procedures()
    values: dict[str, Any] = {"party_type": "citizen"}
    errors: dict[str, list[str]] = {}
    message = suggestion = None
    procedure = request.values.get("procedure", "")
    form = start_form(user, procedure if procedure in dict(procedures) else None, procedures)  # the chosen procedure's facts
    status = 200
    if request.method == "POST":
        values = parse_form(form.schema, request.form)
        party = party_from_form(values)
        facts = {k: values[k] for k in form.facts if k in values}
        try:
            if request.form.get("action") == "suggest":
                suggestion = suggest_procedure(str(party.get("party_type", "citizen")), facts)
                procedure = suggestion.procedure
                if procedure in dict(procedures):
                    form = start_form(user, procedure, procedures)  # the suggested procedure's facts (what was typed stays)
            else:
                if not procedure:
                    raise InvalidInput(_("请选择程序"), details=[{"field": "procedure", "message": _("必填")}])
                case = start_case(user, procedure, party, facts, complete_party=True)  # the details documents are served with
                flash(_("已登记案件 %(number)s", number=case.case_number), "success")
                return redirect(url_for("cases.show", case_id=case.id))
        except InvalidInput as exc:
            message, status = exc.message, 422
            errors = {str(d["field"]): [str(d.get("message", ""))] for d in exc.details or [] if isinstance(d, dict) and d.get("field")}
    return render_template("case_new.html", fields=fields_of(form.schema), values=values, errors=errors, message=message,
                           procedures=procedures, procedure=procedure, suggestion=suggestion, procedures_of=form.procedures_of,
                           display_value=display_value), status
