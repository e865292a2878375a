"""The case file as an officer reads it: the case page and ``GET /api/v1/cases/<id>`` both render this.

One read of the case's rows (tasks, the audit chain, process instances, documents, the clock's
uncounted periods, designated handlers, 回避 requests) and of its fine's execution, built once so the
page and the API cannot drift. Access is checked first: another unit's case is a 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from engine import clock
from engine.definitions.serialization import load_state
from engine.definitions.specs import load_specs
from engine.documents import case_documents
from engine.models import AuditEvent, Case, ClockPause, Document, ProcessInstance, ProcessSpec, Recusal, Task, User, db
from engine.policy.access import get_case
from engine.policy.officers import designated_handlers
from engine.runtime.case_clock import pauses_of
from engine.runtime.execution import summary as execution_summary
from engine.runtime.instance import ready_user_tasks
from engine.runtime.recusal import recusals_of


@dataclass
class CaseFile:
    """Plain data of one case (ORM rows, not yet rendered)."""

    case: Case
    tasks: list[Task]  # every task, oldest first
    events: list[AuditEvent]  # the case's audit chain in order
    instances: list[tuple[ProcessInstance, ProcessSpec]]
    documents: list[Document]
    periods: list[ClockPause]  # 中止, hearing, excluded periods: what the case clock does not count
    execution: dict[str, Any] | None  # 罚款的执行 as of today, or None
    designated_handlers: list[User]
    recusals: list[Recusal]

    @property
    def deadlines(self) -> list[Task]:
        """Open tasks with a due date (the case's running deadlines)."""
        return [t for t in self.tasks if t.status == "open" and t.due_at]


def case_file(user: User, case_id: int) -> CaseFile:
    """The case ``case_id`` as ``user`` may read it (another unit's case is a 404)."""
    return read_case_file(get_case(user, case_id))


def read_case_file(case: Case) -> CaseFile:
    """The file of a case the caller has already checked access to (e.g. right after an action on it)."""
    instances = [(pi, spec) for pi, spec in db.session.execute(
        select(ProcessInstance, ProcessSpec).join(ProcessSpec, ProcessSpec.id == ProcessInstance.process_spec_id)
        .where(ProcessInstance.case_id == case.id).order_by(ProcessInstance.id))]
    return CaseFile(
        case=case,
        tasks=list(db.session.scalars(select(Task).where(Task.case_id == case.id).order_by(Task.created_at))),
        events=list(db.session.scalars(select(AuditEvent).where(AuditEvent.chain == f"case:{case.id}").order_by(AuditEvent.seq))),
        instances=instances,
        documents=case_documents(case.id),
        periods=pauses_of(case.id),
        execution=case_execution(case, instances[0][0] if instances else None),
        designated_handlers=designated_handlers(case.id),
        recusals=recusals_of(case.id),
    )


def case_execution(case: Case, instance: ProcessInstance | None = None) -> dict[str, Any] | None:
    """罚款的执行 as of today (balance, 加处罚款, periods; engine/runtime/execution.py) from the case's
    process data; None before the decision or when no fine was decided."""
    if case.decided_at is None:
        return None
    if instance is None:
        instance = db.session.scalars(select(ProcessInstance).where(ProcessInstance.case_id == case.id)
                                      .order_by(ProcessInstance.id)).first()
    if instance is None:
        return None
    workflow = load_state(instance.state, load_specs(instance.process_spec_id))
    ready = ready_user_tasks(workflow)
    return execution_summary(ready[0].data if ready else workflow.last_task.data, clock.today_shanghai())
