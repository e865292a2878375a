"""Cases: start, list, read (scoped to the user's unit)."""

from __future__ import annotations

from typing import Any

from flask import request
from sqlalchemy import func, or_, select

from engine import clock
from engine.definitions.serialization import load_state
from engine.definitions.specs import load_specs
from engine.documents import case_documents
from engine.errors import InvalidInput
from engine.models import AuditEvent, Case, ClockPause, ProcessInstance, ProcessSpec, Task, db
from engine.policy.access import cases_in_scope, get_case
from engine.publication.publish import request_withdrawal
from engine.runtime import resume_case, start_case, suspend_case, terminate_case
from engine.runtime.case_clock import end_excluded_period, extend_case_clock, pauses_of, require_officer, start_excluded_period
from engine.runtime.cases import require_decider
from engine.runtime.execution import summary as execution_summary
from engine.runtime.instance import ready_user_tasks

from . import bp, current, json_body, page_args, text_field
from .officers import case_officers
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
    party_in = {
        "party_type": party.get("type", party.get("party_type")),
        "party_name": party.get("name", party.get("party_name")),
    }
    id_number = party.get("id_number", party.get("party_id_number"))
    if id_number:
        party_in["party_id_number"] = id_number
    procedure = body.get("procedure")
    if not isinstance(procedure, str) or not procedure:
        raise InvalidInput("请指定程序 (procedure is required)", details=[{"field": "procedure", "message": "必填"}])
    facts = body.get("facts") or {}
    if not isinstance(facts, dict):
        raise InvalidInput("facts 必须是对象 (facts must be an object)")
    case = start_case(current(), procedure, party_in, facts, unit_code=body.get("unit"))
    return case_detail(case), 201


@bp.get("/cases")
def list_cases() -> dict[str, Any]:
    page, per_page = page_args()
    query = cases_in_scope(current())
    if status := request.args.get("status"):
        query = query.where(Case.status == status)
    if procedure := request.args.get("procedure"):
        query = query.where(Case.procedure == procedure)
    if q := request.args.get("q"):
        like = f"%{q}%"
        query = query.where(or_(Case.case_number.like(like), Case.party_name.like(like)))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(Case.id.desc()).offset((page - 1) * per_page).limit(per_page))
    return {"items": [case_summary(c) for c in rows], "page": page, "per_page": per_page, "total": total}


@bp.get("/cases/<int:case_id>")
def read_case(case_id: int) -> dict[str, Any]:
    return case_detail(get_case(current(), case_id))


def case_detail(case: Case) -> dict[str, Any]:
    tasks = list(db.session.scalars(select(Task).where(Task.case_id == case.id).order_by(Task.created_at)))
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.chain == f"case:{case.id}").order_by(AuditEvent.seq))
    instances = db.session.execute(
        select(ProcessInstance, ProcessSpec).join(ProcessSpec, ProcessSpec.id == ProcessInstance.process_spec_id)
        .where(ProcessInstance.case_id == case.id).order_by(ProcessInstance.id)
    )
    summary = case_summary(case)
    summary["clock"]["periods"] = [pause_summary(p) for p in pauses_of(case.id)]  # 中止, hearing, excluded periods
    return {
        **summary,
        "instances": [
            {"id": pi.id, "process_id": pi.process_id, "deployment": spec.deployment_id, "status": pi.status,
             "version": pi.version, "next_timer_at": iso(pi.next_timer_at), "error": pi.error}
            for pi, spec in instances
        ],
        "tasks": [task_summary(t) for t in tasks],
        "history": [audit_entry(e) for e in events],
        "deadlines": [
            {"task": t.name, "task_id": t.id, "due_at": iso(t.due_at), "time_limit": t.time_limit,
             "provisional": bool(t.due_provisional)}
            for t in tasks if t.status == "open" and t.due_at
        ],
        "documents": [document_summary(d) for d in case_documents(case.id)],
        "execution": case_execution(case),
        **case_officers(case),  # designated handlers and 回避 requests
    }


def case_execution(case: Case) -> dict[str, Any] | None:
    """罚款的执行 as of today (balance, 加处罚款, periods; engine/runtime/execution.py) from the case's process
    data; None before the decision or when no fine was decided."""
    if case.decided_at is None:
        return None
    instance = db.session.scalars(select(ProcessInstance).where(ProcessInstance.case_id == case.id)
                                  .order_by(ProcessInstance.id)).first()
    if instance is None:
        return None
    workflow = load_state(instance.state, load_specs(instance.process_spec_id))
    ready = ready_user_tasks(workflow)
    return execution_summary(ready[0].data if ready else workflow.last_task.data, clock.today_shanghai())


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
