"""Start a case; suspend, resume and terminate it."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, insert, select
from sqlalchemy.orm import make_transient_to_detached

from engine import clock
from engine.db.command import command
from engine.db.writebehind import defer
from engine.deadlines import reference
from engine.deadlines.limits import Deadlines
from engine.definitions.serialization import STATE_FORMAT, dump_state
from engine.definitions.specs import active_spec
from engine.documents import issue_case_document
from engine.errors import InvalidInput, InvalidState, NotFound
from engine.expressions import refuse_non_finite
from engine.forms.schema import RESERVED_NAMES, validate_form_data
from engine.models import Case, Document, OrgUnit, ProcessInstance, User, db
from engine.models.case import PARTY_FIELDS
from engine.models.sequences import next_number, take_number, taking
from engine.policy.access import get_case, refuse_recused
from engine.policy.permissions import AGENCY_HEAD, CASE_STARTERS, require
from engine.record import audit
from engine.runtime import case_clock
from engine.runtime.case_clock import ClockRecorder
from engine.runtime.instance import Session, lock_instance, new_workflow, open_session, pending_timers, save, timers_provisional
from engine.runtime.party import ID_TYPES, check_party, mask_id_number, masked
from engine.runtime.party import LABELS as PARTY_LABELS
from engine.runtime.party import LIMITS as PARTY_LIMITS
from engine.runtime.start_facts import facts_schema

STARTER_ROLES = CASE_STARTERS

START_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["party_type", "party_name"],
    "properties": {
        "party_type": {"title": "当事人类型", "type": "string", "enum": ["citizen", "organization"]},
        "party_name": {"title": "当事人名称", "type": "string", "minLength": 1, "maxLength": 200},
        # The details documents are served with (engine/runtime/party.py: which a type requires, checksums).
        "party_id_type": {"title": "证件类型", "type": "string", "enum": list(ID_TYPES)},
        **{key: {"title": PARTY_LABELS[key], "type": "string", "maxLength": PARTY_LIMITS[key]}
           for key in ("party_id_number", "party_credit_code", "party_legal_rep", "party_contact", "party_address",
                       "party_phone")},
        "e_service_consent": {"title": PARTY_LABELS["e_service_consent"], "type": "boolean"},
        "e_service_address": {"title": PARTY_LABELS["e_service_address"], "type": "string",
                              "maxLength": PARTY_LIMITS["e_service_address"]},
    },
}
_FACT_KEY = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
# Data every case starts with, whatever its procedure: a decision table that several paths reach
# reads these names on each of them, and an expression cannot ask whether a name exists. The
# procedure that hands a case over sets them; a case started directly has the neutral value.
# discretion_tier_raise: tiers the discretion benchmark adds to the officer's choice (告知承诺未履行:
# one heavier, set by commitment_notice on handing over to the ordinary procedure).
CASE_DEFAULTS: dict[str, Any] = {"discretion_tier_raise": 0}


@command
def start_case(actor: User, procedure: str, party: dict[str, Any], facts: dict[str, Any] | None = None,
               unit_code: str | None = None, *, complete_party: bool = False) -> Case:
    """File a case under ``procedure`` in the actor's unit and run it to its first waiting point.

    ``party`` holds the party's columns (engine/runtime/party.py checks them); ``complete_party``
    also requires every detail the party's type needs for serving documents (the registration page)."""
    unit = _starting_unit(actor, unit_code)
    party = {key: value for key, value in party.items() if value not in ("", None)}  # a blank field is one not given
    validate_form_data(START_SCHEMA, party, reserved=frozenset())  # the engine's own schema names the party
    details = check_party(party, complete=complete_party)
    facts = dict(facts or {})
    refuse_non_finite(facts)  # NaN passes "minimum"/"maximum" and would be emitted as invalid JSON
    for key, value in facts.items():
        if not _FACT_KEY.match(key) or not isinstance(value, str | int | float | bool | type(None)):
            raise InvalidInput(f"无效的事实字段 '{key}' (facts are flat snake_case keys with scalar values)")
        if key in RESERVED_NAMES or key in CASE_DEFAULTS:
            raise InvalidInput(f"事实字段 '{key}' 由系统设定，不能填写 (reserved name)", details=[{"field": key, "message": "保留字段"}])
    now = clock.now()
    year = now.astimezone(clock.SHANGHAI).year
    agency = unit.numbering_name  # the organ's short name: one case sequence per organ × year
    # First: the number (given back if anything below refuses), which also brings the reference revision.
    number, case_id, instance_id = _take_case_number(agency, year)
    # The procedure's own start form (start_facts.py); facts are open-ended, but never reserved names.
    # Checked after the number: the procedure metadata reads the reference revision, which the
    # number's statement has just brought along (one round trip less for the hottest command).
    validate_form_data(facts_schema(procedure), facts, closed=False)
    spec_row = active_spec(procedure)
    if not spec_row.startable:
        raise InvalidInput(f"“{procedure}”只能由其他程序调用，不能直接立案 (this process runs only as a call activity)")
    deadlines, recorder = Deadlines(), ClockRecorder()
    case_number = f"{agency}案〔{year}〕{number}号"
    party_name = details["party_name"]
    system = {  # what the case row says (instance.system_values), and what scripts cannot change
        "case_number": case_number,
        "party_type": party["party_type"],
        "party_name": party_name,
        "unit_code": unit.code,
        "opened_on": now.astimezone(clock.SHANGHAI).date().isoformat(),
    }
    workflow = new_workflow(spec_row.id, deadlines, recorder, lambda: system)
    # System keys last: what the case row says is what the procedure sees.
    workflow.get_next_task(state=TaskState.READY).data.update({**CASE_DEFAULTS, **facts, **system})
    workflow.do_engine_steps()
    case = _insert(Case, case_id, dict(
        case_number=case_number, procedure=procedure, unit_id=unit.id, **details,
        party_id_masked=mask_id_number(details["party_id_number"]), facts=facts,
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
                  "party_type": case.party_type, "facts": facts,
                  "party": {key: masked(details, key) for key in PARTY_FIELDS if details[key] not in ("", False)}},
                 case_id=case.id, instance_id=instance.id, new_chain=True)
    session = Session(instance, workflow, deadlines, actor.username, recorder, new=True)
    save(session, state=None if recorder.events else instance.state)
    return case


# 中止 and 终止调查 (SAMR, on the agency head's approval): the legal grounds an approval names.
SUSPENSION_GROUNDS: dict[str, str] = {
    "party_death_successor": "当事人死亡，须等待确定权利义务承受人",
    "party_missing": "当事人下落不明，致使案件暂时无法调查",
    "force_majeure": "因不可抗力致使案件暂时无法调查",
    "legal_interpretation": "涉及法律适用等问题，需要送请有权机关作出解释或者确认",
    "awaiting_other_case": "须以相关案件的裁判结果或者其他行政决定为依据，而相关案件尚未审结或者决定尚未作出",
    "other": "其他应当中止调查的情形",
}
TERMINATION_GROUNDS: dict[str, str] = {
    "no_successor": "当事人死亡且无遗产，或者法人、其他组织终止且无权利义务承受人，致使案件调查无法继续",
    "time_barred": "违法行为已过追责时效（《行政处罚法》第三十六条）",
    "other": "其他应当终止调查的情形",
}
# Who decides: the agency head (行政机关负责人) approves 中止、恢复、终止调查 as every other decision on
# the case (DOMAIN.md "Roles"); the handlers' request is the paper the approval cites, recorded here
# as its ground and reason. The check is the engine's, so the API and the page refuse alike.
DECIDER_ROLE = AGENCY_HEAD
MAX_REASON = 1000


@command
def suspend_case(actor: User, case_id: int, reason: str, *, ground: str) -> Case:
    """中止调查: the case stops (no task can be done) and its clock pauses from today (法 Art. 60:
    the suspension is not counted). Issues the 中止调查决定书 in the same transaction."""
    reason = _decision_input(actor, case_id, "中止调查", ground, SUSPENSION_GROUNDS, reason)
    case, instance = _case_for_change(actor, case_id)
    if instance.status != "running":
        raise InvalidState("只有办理中的案件可以中止：已中止的案件请先恢复调查，已结束的案件不能中止 "
                           "(only a running case can be suspended: resume a suspended one first; an ended one cannot be)")
    today = clock.today_shanghai()
    instance.status = "suspended"
    case.status = "suspended"
    pause = case_clock.open_pause(case, "suspension", today, actor.username, f"中止：{SUSPENSION_GROUNDS[ground]}", Deadlines())
    document = issue_case_document(actor, case, "中止调查决定书", [
        ("ground", "中止情形", SUSPENSION_GROUNDS[ground]),
        ("reason", "中止理由", reason),
        ("suspended_on", "中止日期", today.isoformat()),
        ("clock", "办案期限", f"自{today.isoformat()}起暂停计算，中止期间不计入办案期限" if pause else _clock_note(case)),
    ], instance.id)
    audit.record("case.suspended", actor.username,
                 {"reason": reason, "ground": ground, "document": document.number, "pause": pause.seq if pause else None},
                 case_id=case.id, instance_id=instance.id)
    return case


@command
def resume_case(actor: User, case_id: int, reason: str) -> Case:
    """恢复调查: the ground of the suspension is gone; the case runs again and the suspension's days
    are not counted. Issues the 恢复调查决定书 in the same transaction."""
    reason = _decision_input(actor, case_id, "恢复调查", None, None, reason)
    case, instance = _case_for_change(actor, case_id)
    if instance.status != "suspended":
        raise InvalidState("案件未处于中止状态，无需恢复调查 (the case is not suspended)")
    today = clock.today_shanghai()
    paused_before = case.paused_days
    suspension = None
    for pause in case_clock.pauses_of(case.id):
        if pause.kind == "suspension" and pause.ended_on is None:
            case_clock.close_pause(case, pause, today, actor.username, "恢复调查", Deadlines())
            suspension = pause
    paused_days = case.paused_days - paused_before
    instance.status = "running"
    case.status = "open"
    period = (f"{suspension.started_on.isoformat()}至{today.isoformat()}，共{suspension.days()}日不计入办案期限"
              if suspension else "—")
    document = issue_case_document(actor, case, "恢复调查决定书", [
        ("suspension_document", "中止调查决定书", _earlier(case.id, "中止调查决定书")),
        ("reason", "恢复理由", reason),
        ("resumed_on", "恢复日期", today.isoformat()),
        ("suspension_period", "中止期间", period),
        ("clock", "办案期限", _clock_note(case)),
    ], instance.id)
    audit.record("case.resumed", actor.username, {"reason": reason, "paused_days": paused_days, "document": document.number},
                 case_id=case.id, instance_id=instance.id)
    return case


@command
def terminate_case(actor: User, case_id: int, reason: str, *, ground: str) -> Case:
    """终止调查: cancel the workflow, withdraw its open tasks, stop the clock for good.
    Issues the 终止调查决定书 in the same transaction."""
    reason = _decision_input(actor, case_id, "终止调查", ground, TERMINATION_GROUNDS, reason)
    case, instance = _case_for_change(actor, case_id)
    if instance.status not in ("running", "suspended"):
        raise InvalidState("案件已结束（已结案或已终止），不能终止调查 (the case has already ended)")
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
    today = now.astimezone(clock.SHANGHAI).date()
    case_clock.halt(case, today, actor.username, "终止调查")
    document = issue_case_document(actor, case, "终止调查决定书", [
        ("ground", "终止情形", TERMINATION_GROUNDS[ground]),
        ("reason", "终止理由", reason),
        ("terminated_on", "终止日期", today.isoformat()),
        ("clock", "办案期限", "停止计算" if case.clock_state == "stopped" else "未开始计算"),
    ], instance.id)
    audit.record("case.terminated", actor.username, {"reason": reason, "ground": ground, "document": document.number},
                 case_id=case.id, instance_id=instance.id)
    return case


def _starting_unit(actor: User, unit_code: str | None) -> OrgUnit:
    require(actor, "case.start")
    if unit_code is None or unit_code == actor.unit.code:
        return actor.unit
    unit = db.session.scalars(select(OrgUnit).where(OrgUnit.code == unit_code)).first()
    if unit is None or unit.id != actor.unit_id:
        raise NotFound("单位不存在或无权在该单位立案 (unit not found)")
    return unit


def require_decider(actor: User, what: str) -> None:
    """中止、恢复、终止调查 are the agency head's decisions; anyone else is told whom to ask."""
    require(actor, "case.decide", what=what)


def _decision_input(actor: User, case_id: int, what: str, ground: str | None, grounds: dict[str, str] | None,
                    reason: str) -> str:
    """Validate before anything is touched: who decides, whether the case is theirs to see (another
    unit's case is a 404 whatever the body), the legal ground, the reason."""
    require_decider(actor, what)
    get_case(actor, case_id)
    refuse_recused(actor, case_id)  # 法 Art. 43: a recused agency head takes no part in the case
    if grounds is not None and ground not in grounds:
        raise InvalidInput(f"请选择{what}的法定情形 (choose the legal ground)", details=[{"field": "ground", "message": "必选"}])
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(f"请填写{what}理由 (a reason is required)", details=[{"field": "reason", "message": "必填"}])
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"理由不超过 {MAX_REASON} 字 (reason too long)", details=[{"field": "reason", "message": "过长"}])
    return reason


def _case_for_change(actor: User, case_id: int) -> tuple[Case, ProcessInstance]:
    case = get_case(actor, case_id)
    instance_id = db.session.scalars(
        select(ProcessInstance.id).where(ProcessInstance.case_id == case.id).order_by(ProcessInstance.id.desc())
    ).first()
    if instance_id is None:
        raise NotFound("流程实例不存在 (process instance not found)")
    instance = lock_instance(instance_id)
    db.session.refresh(case)  # what a command that committed while we waited for the lock changed
    return case, instance


def _clock_note(case: Case) -> str:
    if case.clock_state in (None, "stopped"):
        return "未开始计算（立案后计算）" if case.clock_state is None else "已停止计算"
    if case.clock_state == "paused":
        return "暂停计算"
    return f"计算中，届满日期 {case_clock.deadline_day(case.clock_deadline)}（已扣除不计入期间 {case.paused_days} 日）"


def _earlier(case_id: int, doc_type: str) -> str:
    number = db.session.scalars(select(Document.number).where(Document.case_id == case_id, Document.doc_type == doc_type)
                                .order_by(Document.id.desc())).first()
    return number or "—"


M = TypeVar("M", Case, ProcessInstance)
# Statements built once, parameters apart: building or values()-binding them per call costs more.
_INSERTS = {m: insert(m.__table__).inline() for m in (Case, ProcessInstance)}
_INSERTS_RETURNING = {m: insert(m.__table__).returning(m.__table__.c.id) for m in (Case, ProcessInstance)}
# PostgreSQL: the case number and both ids in one statement, so that the case's rows need no
# answer from the database and travel with the commit (engine/db/writebehind.py).
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
