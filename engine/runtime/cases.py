"""Start a case; suspend, resume and terminate it."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, insert, select
from sqlalchemy.orm import make_transient_to_detached

from .. import audit, case_clock, clock, reference
from ..access import get_case
from ..case_clock import ClockRecorder
from ..definitions.specs import active_spec
from ..errors import Forbidden, InvalidInput, InvalidState, NotFound
from ..forms import RESERVED_NAMES, validate_form_data
from ..limits import Deadlines
from ..models import Case, OrgUnit, ProcessInstance, User, db
from ..models.writebehind import defer
from ..sequences import next_number, take_number, taking
from ..serialization import STATE_FORMAT, dump_state
from ..transaction import command
from .instance import Session, lock_instance, new_workflow, open_session, pending_timers, save, timers_provisional

STARTER_ROLES = ("handler", "unit_head")

START_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["party_type", "party_name"],
    "properties": {
        "party_type": {"title": "当事人类型", "type": "string", "enum": ["citizen", "organization"]},
        "party_name": {"title": "当事人名称", "type": "string", "minLength": 1, "maxLength": 200},
        "party_id_number": {"title": "证件号码", "type": "string", "maxLength": 40},
    },
}
FACTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "violation": {"title": "违法行为", "type": "string", "maxLength": 2000},
        "penalty_kind": {
            "title": "拟处罚种类", "type": "string",
            "enum": ["warning", "fine", "confiscation", "licence_revocation", "suspension", "closure", "other", "none"],
        },
        "proposed_fine": {"title": "拟罚款金额（元）", "type": "number", "minimum": 0, "maximum": 1e10},
    },
}
_FACT_KEY = re.compile(r"^[a-z][a-z0-9_]{0,59}$")


@command
def start_case(actor: User, procedure: str, party: dict[str, Any], facts: dict[str, Any] | None = None,
               unit_code: str | None = None) -> Case:
    """File a case under ``procedure`` in the actor's unit and run it to its first waiting point."""
    unit = _starting_unit(actor, unit_code)
    validate_form_data(START_SCHEMA, party, reserved=frozenset())  # the engine's own schema names the party
    facts = dict(facts or {})
    validate_form_data(FACTS_SCHEMA, facts, closed=False)  # facts are open-ended, but never reserved names
    for key, value in facts.items():
        if not _FACT_KEY.match(key) or not isinstance(value, str | int | float | bool | type(None)):
            raise InvalidInput(f"无效的事实字段 '{key}' (facts are flat snake_case keys with scalar values)")
        if key in RESERVED_NAMES:
            raise InvalidInput(f"事实字段 '{key}' 由系统设定，不能填写 (reserved name)", details=[{"field": key, "message": "保留字段"}])
    now = clock.now()
    year = now.astimezone(clock.SHANGHAI).year
    agency = unit.agency_short_name or unit.code
    # First: the number (given back if anything below refuses), which also brings the reference revision.
    number, case_id, instance_id = _take_case_number(agency, year)
    spec_row = active_spec(procedure)
    if not spec_row.startable:
        raise InvalidInput(f"“{procedure}”只能由其他程序调用，不能直接立案 (this process runs only as a call activity)")
    deadlines, recorder = Deadlines(), ClockRecorder()
    workflow = new_workflow(spec_row.id, deadlines, recorder)
    case_number = f"{agency}案〔{year}〕{number}号"
    party_name = party["party_name"].strip()
    workflow.get_next_task(state=TaskState.READY).data.update({
        **facts,
        # System keys last: what the case row says is what the procedure sees.
        "case_number": case_number,
        "party_type": party["party_type"],
        "party_name": party_name,
        "unit_code": unit.code,
        "opened_on": now.astimezone(clock.SHANGHAI).date().isoformat(),
    })
    workflow.do_engine_steps()
    case = _insert(Case, case_id, dict(
        case_number=case_number, procedure=procedure, unit_id=unit.id, party_type=party["party_type"],
        party_name=party_name, party_id_masked=mask_id_number(party.get("party_id_number", "")), facts=facts,
        status="open", opened_at=now, opened_by=actor.id, paused_days=0, clock_deadline=None, clock_provisional=False,
        paused_since=None,
        decided_at=None, closed_at=None,
    ))
    # The instance is inserted with its state after the first engine steps: one INSERT, no UPDATE.
    due = pending_timers(workflow)
    instance = _insert(ProcessInstance, instance_id, dict(
        case_id=case.id, process_id=procedure, process_spec_id=spec_row.id, status="running", started_at=now,
        started_by=actor.id, state=dump_state(workflow), state_format=STATE_FORMAT, next_timer_at=min(due) if due else None,
        timers_provisional=timers_provisional(due, deadlines),
        version=1, error=None, ended_at=None, ended_by=None,
    ))
    audit.record("case.started", actor.username,
                 {"procedure": procedure, "deployment": spec_row.deployment_id, "case_number": case.case_number,
                  "party_type": case.party_type, "facts": facts},
                 case_id=case.id, instance_id=instance.id, new_chain=True)
    session = Session(instance, workflow, deadlines, actor.username, recorder, new=True)
    save(session, state=None if recorder.events else instance.state)
    return case


@command
def suspend_case(actor: User, case_id: int, reason: str) -> Case:
    """中止: stop the case and pause its clock (the pause is not counted, 法 Art. 60)."""
    case, instance = _case_for_change(actor, case_id, reason)
    if instance.status != "running":
        raise InvalidState("案件当前不能中止 (only a running case can be suspended)")
    instance.status = "suspended"
    case.status = "suspended"
    case_clock.pause(case, clock.today_shanghai(), actor.username, "中止 (suspension)")
    audit.record("case.suspended", actor.username, {"reason": reason}, case_id=case.id, instance_id=instance.id)
    return case


@command
def resume_case(actor: User, case_id: int, reason: str) -> Case:
    case, instance = _case_for_change(actor, case_id, reason)
    if instance.status != "suspended":
        raise InvalidState("案件未处于中止状态 (the case is not suspended)")
    paused_before = case.paused_days
    case_clock.resume(case, clock.today_shanghai(), actor.username, "恢复 (resumed after suspension)")
    paused_days = case.paused_days - paused_before
    instance.status = "running"
    case.status = "open"
    audit.record("case.resumed", actor.username, {"reason": reason, "paused_days": paused_days},
                 case_id=case.id, instance_id=instance.id)
    return case


@command
def terminate_case(actor: User, case_id: int, reason: str) -> Case:
    """终止: cancel the workflow and withdraw its open tasks."""
    case, instance = _case_for_change(actor, case_id, reason)
    if instance.status not in ("running", "suspended"):
        raise InvalidState("案件已结束 (the case has already ended)")
    session = open_session(instance, actor.username)
    session.workflow.cancel()
    now = clock.now()
    instance.status = "terminated"  # before save(): a cancelled workflow is not a closed case
    save(session)
    instance.ended_at = now
    instance.ended_by = actor.id
    instance.next_timer_at = None
    case.status = "terminated"
    case.closed_at = now
    if case.clock_state not in (None, "stopped"):
        case.clock_state = "stopped"
    audit.record("case.terminated", actor.username, {"reason": reason}, case_id=case.id, instance_id=instance.id)
    return case


def mask_id_number(value: str) -> str:
    """Keep the first 4 and last 4 characters of an ID number (DOMAIN.md §6 masking)."""
    value = (value or "").strip()
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def _starting_unit(actor: User, unit_code: str | None) -> OrgUnit:
    if not actor.has_role(*STARTER_ROLES):
        raise Forbidden("只有承办人或承办机构负责人可以立案 (only handlers and unit heads start cases)")
    if unit_code is None or unit_code == actor.unit.code:
        return actor.unit
    unit = db.session.scalars(select(OrgUnit).where(OrgUnit.code == unit_code)).first()
    if unit is None or unit.id != actor.unit_id:
        raise NotFound("单位不存在或无权在该单位立案 (unit not found)")
    return unit


def _case_for_change(actor: User, case_id: int, reason: str) -> tuple[Case, ProcessInstance]:
    if not actor.has_role("unit_head", "agency_head"):
        raise Forbidden("需要承办机构负责人或行政机关负责人 (unit head or agency head required)")
    if not reason or not reason.strip():
        raise InvalidInput("请填写理由 (a reason is required)")
    case = get_case(actor, case_id)
    instance_id = db.session.scalars(
        select(ProcessInstance.id).where(ProcessInstance.case_id == case.id).order_by(ProcessInstance.id.desc())
    ).first()
    if instance_id is None:
        raise NotFound("流程实例不存在 (process instance not found)")
    return case, lock_instance(instance_id)


M = TypeVar("M", Case, ProcessInstance)
# Statements built once, parameters apart: building or values()-binding them per call costs more.
_INSERTS = {m: insert(m.__table__).inline() for m in (Case, ProcessInstance)}
_INSERTS_RETURNING = {m: insert(m.__table__).returning(m.__table__.c.id) for m in (Case, ProcessInstance)}
# PostgreSQL: the case number and both ids in one statement, so that the case's rows need no
# answer from the database and travel with the commit (engine/models/writebehind.py).
# The reference-data revision rides along too: the command's first statement answers all of it.
_TAKE_WITH_IDS = taking(*(func.nextval(func.pg_get_serial_sequence(f'"{m.__tablename__}"', "id"))
                          for m in (Case, ProcessInstance)), reference.REVISION.scalar_subquery())


def _take_case_number(agency: str, year: int) -> tuple[int, int | None, int | None]:
    if db.session.connection().dialect.name != "postgresql":
        return next_number(agency, "case", year), None, None  # SQLite: ids come back from the INSERTs
    number, case_id, instance_id, revision = take_number(agency, "case", year, _TAKE_WITH_IDS)
    reference.seen_revision(int(revision or 0))
    return int(number), int(case_id), int(instance_id)


def _insert(model: type[M], new_id: int | None, values: dict[str, Any]) -> M:
    """INSERT one row with Core and adopt it as a persistent ORM object, skipping the unit of work.

    A case start writes two rows whose every column is known here; going through the ORM flush
    would cost more than the rest of the command (see bench/engine.py). With its id known, the row
    is written with the commit.
    """
    if new_id is None:
        new_id = db.session.connection().execute(_INSERTS_RETURNING[model], values).scalar_one()
    else:
        defer(_INSERTS[model], {"id": new_id, **values})
    obj = model(id=new_id, **values)
    make_transient_to_detached(obj)
    db.session.add(obj)
    return obj
