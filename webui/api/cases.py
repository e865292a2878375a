"""Cases: start, list, read (scoped to the user's unit)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import request

from engine.errors import InvalidInput
from engine.models import Case, ClockPause, db
from engine.models.case import PARTY_FIELDS
from engine.policy.access import get_case
from engine.publication.publish import request_withdrawal
from engine.queries.case_file import read_case_file
from engine.queries.case_search import MAX_PER_PAGE, allowed_scopes, search_cases
from engine.queries.start_form import start_form
from engine.runtime import resume_case, start_case, suspend_case, terminate_case
from engine.runtime.case_clock import end_excluded_period, extend_case_clock, require_officer, start_excluded_period
from engine.runtime.cases import require_decider
from engine.runtime.party import update_party

from . import bp, current, json_body, page_args, text_field
from .officers import recusal_summary
from .present import audit_entry, case_summary, iso, pause_summary, task_summary


def document_summary(document: Any) -> dict[str, Any]:
    from ..documents import document_summary as summary  # webui.documents adds its routes to this blueprint

    return summary(document)


@bp.post("/cases")
def create_case() -> tuple[dict[str, Any], int]:
    body = json_body()
    party = body.get("party") or {}
    if not isinstance(party, dict):
        raise InvalidInput("party 必须是对象 (party must be an object)")
    party_in = party_input(party)
    procedure = body.get("procedure")
    if not isinstance(procedure, str) or not procedure:
        raise InvalidInput("请指定程序 (procedure is required)", details=[{"field": "procedure", "message": "必填"}])
    facts = body.get("facts") or {}
    if not isinstance(facts, dict):
        raise InvalidInput("facts 必须是对象 (facts must be an object)")
    case = start_case(current(), procedure, party_in, facts, unit_code=body.get("unit"))
    return case_detail(case), 201


def party_input(party: dict[str, Any]) -> dict[str, Any]:
    """The party of a request body, by the short names case summaries use (``type``, ``id_number``,
    ``address``...) or the engine's column names (``party_type``...); absent keys stay absent."""
    out: dict[str, Any] = {}
    for column in PARTY_FIELDS:
        short = column.removeprefix("party_")
        value = party.get(short, party.get(column))
        if value is not None:
            out[column] = value
    return out


@bp.post("/cases/<int:case_id>/party")
def update_case_party(case_id: int) -> dict[str, Any]:
    """Correct or complete the party's details with a reason (audited on the case); the whole set the
    party's type requires must then be present. Body: ``{"party": {...}, "reason": "..."}``."""
    body = json_body()
    party = body.get("party") or {}
    if not isinstance(party, dict):
        raise InvalidInput("party 必须是对象 (party must be an object)")
    return case_detail(update_party(current(), case_id, party_input(party), text_field(body, "reason")))


@bp.get("/start-form")
def read_start_form() -> dict[str, Any]:
    """What ``POST /cases`` takes, as a JSON Schema of its body (the registration page shows the same
    form, engine/queries/start_form.py), and whether this user may start a case at all.

    Each procedure's facts are its own start form (``facts_by_procedure``); ``?procedure=ID`` puts
    that procedure's facts in ``schema`` (without it: every startable procedure's facts, none required)."""
    form = start_form(current(), request.args.get("procedure") or None)
    return {"schema": form.body_schema(), "may_start": form.may_start, "procedure": form.procedure,
            "procedures": [{"id": pid, "name": name} for pid, name in form.procedures],
            "facts_by_procedure": form.facts_by_procedure}


@bp.get("/cases")
def list_cases() -> dict[str, Any]:
    """The case list's search (engine/queries/case_search.py, the same as /cases): ``q`` (a substring of
    the case number, party, violation or an officer), ``procedure``, ``status``, ``from``/``to`` (opened
    on, YYYY-MM-DD), ``scope`` (unit | mine | all; by default everything the user may see)."""
    page, per_page = page_args()
    user = current()
    scope = request.args.get("scope") or ("all" if "all" in allowed_scopes(user) else "unit")
    found = search_cases(user, q=request.args.get("q") or None, procedure=request.args.get("procedure") or None,
                         status=request.args.get("status") or None, opened_from=_date_arg("from"), opened_to=_date_arg("to"),
                         scope=scope, page=page, per_page=min(per_page, MAX_PER_PAGE))
    return {"items": [case_summary(c) for c in found.items], "page": found.page, "per_page": found.per_page,
            "total": found.total, "has_next": found.has_next, "scope": scope}


def _date_arg(name: str) -> dt.date | None:
    value = request.args.get(name)
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{name} 须为 YYYY-MM-DD 格式的日期 ({name} must be a date, YYYY-MM-DD)",
                           details=[{"field": name, "message": "日期无效"}])


@bp.get("/cases/<int:case_id>")
def read_case(case_id: int) -> dict[str, Any]:
    return case_detail(get_case(current(), case_id))


def case_detail(case: Case) -> dict[str, Any]:
    """The case file (engine/queries/case_file.py, the same the case page renders) as JSON."""
    file = read_case_file(case)
    summary = case_summary(case)
    summary["clock"]["periods"] = [pause_summary(p) for p in file.periods]  # 中止, hearing, excluded periods
    return {
        **summary,
        "instances": [
            {"id": pi.id, "process_id": pi.process_id, "deployment": spec.deployment_id, "status": pi.status,
             "version": pi.version, "next_timer_at": iso(pi.next_timer_at), "error": pi.error}
            for pi, spec in file.instances
        ],
        "tasks": [task_summary(t) for t in file.tasks],
        "history": [audit_entry(e) for e in file.events],
        "deadlines": [
            {"task": t.name, "task_id": t.id, "due_at": iso(t.due_at), "time_limit": t.time_limit,
             "provisional": bool(t.due_provisional)}
            for t in file.deadlines
        ],
        "documents": [document_summary(d) for d in file.documents],
        "execution": file.execution,
        # designated handlers and 回避 requests
        "designated_handlers": [u.username for u in file.designated_handlers],
        "recusals": [recusal_summary(r) for r in file.recusals],
    }


@bp.post("/cases/<int:case_id>/publication/withdraw")
def withdraw_publication(case_id: int) -> dict[str, Any]:
    """The decision was changed or revoked: its 公示 is withdrawn at the next sweep (within 3 working days)."""
    rows = request_withdrawal(current(), case_id, str(json_body().get("reason") or ""))
    return {"publications": [{"id": r.id, "number": r.decision_number, "status": r.status,
                              "withdraw_due_by": iso(r.withdraw_due_by)} for r in rows]}


@bp.post("/cases/<int:case_id>/clock/extend")
def extend_clock(case_id: int) -> dict[str, Any]:
    """延长办案期限: recorded with the agency head's approval (法 Art. 60); a further extension with the
    collective discussion's record (``discussion_on``, ``discussion_number``)."""
    body = json_body()
    days = body.get("days")
    case = extend_case_clock(current(), case_id, days if isinstance(days, int) else -1, text_field(body, "reason"),
                             body.get("collective_discussion") is True, text_field(body, "discussion_on"),
                             text_field(body, "discussion_number"))
    return case_actions_detail(case)


@bp.post("/cases/<int:case_id>/suspend")
def suspend(case_id: int) -> dict[str, Any]:
    """中止调查 (agency head): the case stops and its clock pauses; issues the 中止调查决定书."""
    require_decider(current(), "中止调查")  # the engine's own rule, before the body is read: a wrong role is a 403
    body = json_body()
    return case_actions_detail(suspend_case(current(), case_id, text_field(body, "reason"), ground=text_field(body, "ground")))


@bp.post("/cases/<int:case_id>/resume")
def resume(case_id: int) -> dict[str, Any]:
    """恢复调查 (agency head): the case runs again; issues the 恢复调查决定书."""
    require_decider(current(), "恢复调查")
    return case_actions_detail(resume_case(current(), case_id, text_field(json_body(), "reason")))


@bp.post("/cases/<int:case_id>/terminate")
def terminate(case_id: int) -> dict[str, Any]:
    """终止调查 (agency head): the workflow is cancelled and the clock stops; issues the 终止调查决定书."""
    require_decider(current(), "终止调查")
    body = json_body()
    return case_actions_detail(terminate_case(current(), case_id, text_field(body, "reason"), ground=text_field(body, "ground")))


@bp.post("/cases/<int:case_id>/excluded-periods")
def start_excluded(case_id: int) -> tuple[dict[str, Any], int]:
    """A period not counted in the case clock begins (检测、检验、检疫、鉴定, 公告): the clock pauses, the
    case's tasks go on."""
    require_officer(current())
    body = json_body()
    pause = start_excluded_period(current(), case_id, text_field(body, "kind"), text_field(body, "started_on"),
                                  text_field(body, "description"))
    return {**case_actions_detail(pause_case(pause)), "period": pause_summary(pause)}, 201


@bp.post("/cases/<int:case_id>/excluded-periods/<int:n>/end")
def end_excluded(case_id: int, n: int) -> dict[str, Any]:
    """The excluded period ``n`` (its number in ``clock.periods``) ends; the clock counts again unless
    another uncounted period is still open."""
    require_officer(current())
    pause = end_excluded_period(current(), case_id, n, text_field(json_body(), "ended_on"))
    return {**case_actions_detail(pause_case(pause)), "period": pause_summary(pause)}


def pause_case(pause: ClockPause) -> Case:
    return db.session.get(Case, pause.case_id)  # type: ignore[return-value]


def case_actions_detail(case: Case) -> dict[str, Any]:
    """The case after an action, as ``GET /cases/<id>`` shows it (clock periods and documents included)."""
    return case_detail(case)
