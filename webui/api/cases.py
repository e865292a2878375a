"""Cases: start, list, read (scoped to the user's unit)."""

from __future__ import annotations

from typing import Any

from flask import request
from sqlalchemy import func, or_, select

from engine.access import cases_in_scope, get_case
from engine.case_clock import extend_case_clock
from engine.documents import case_documents
from engine.errors import InvalidInput
from engine.models import AuditEvent, Case, ProcessInstance, ProcessSpec, Task, db
from engine.publication import request_withdrawal
from engine.runtime import start_case

from . import bp, current, json_body, page_args, text_field
from .present import audit_entry, case_summary, iso, task_summary


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
    return {
        **case_summary(case),
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
    }


@bp.post("/cases/<int:case_id>/publication/withdraw")
def withdraw_publication(case_id: int) -> dict[str, Any]:
    """The decision was changed or revoked: its 公示 is withdrawn at the next sweep (within 3 working days)."""
    rows = request_withdrawal(current(), case_id, str(json_body().get("reason") or ""))
    return {"publications": [{"id": r.id, "number": r.decision_number, "status": r.status,
                              "withdraw_due_by": iso(r.withdraw_due_by)} for r in rows]}


@bp.post("/cases/<int:case_id>/clock/extend")
def extend_clock(case_id: int) -> dict[str, Any]:
    """延长办案期限: recorded with the agency head's approval (法 Art. 60)."""
    body = json_body()
    days = body.get("days")
    case = extend_case_clock(current(), case_id, days if isinstance(days, int) else -1, text_field(body, "reason"),
                             bool(body.get("collective_discussion")))
    return case_summary(case)
