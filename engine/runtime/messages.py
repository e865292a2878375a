"""Deliver a BPMN message (e.g. a party's reply recorded by an officer) to a waiting case."""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition  # the class the parser builds
from sqlalchemy import select

from engine.db.command import command
from engine.errors import InvalidState
from engine.models import ProcessInstance, User, db
from engine.policy.access import get_case
from engine.record import audit
from engine.runtime.instance import lock_instance, open_session, save


@command
def send_message(actor: User, case_id: int, message: str, payload: dict[str, Any] | None = None) -> None:
    case = get_case(actor, case_id)
    instance_id = db.session.scalars(
        select(ProcessInstance.id).where(ProcessInstance.case_id == case.id, ProcessInstance.status == "running")
    ).first()
    if instance_id is None:
        raise InvalidState("案件没有正在运行的流程 (the case has no running process)")
    instance = lock_instance(instance_id)
    session = open_session(instance, actor.username)
    try:
        session.workflow.send_event(BpmnEvent(MessageEventDefinition(message), payload or {}))
    except WorkflowException:
        raise InvalidState(f"案件当前不在等待消息“{message}” (the case is not waiting for this message)")
    session.workflow.do_engine_steps()
    audit.record("message.received", actor.username, {"message": message, "payload": payload or {}},
                 case_id=case.id, instance_id=instance.id)
    save(session)
