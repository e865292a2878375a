"""Moving running cases to another deployment of their procedure (a designer's deliberate act).

Cases keep the version they started on; a migration is the exception and is planned first. The plan
comes from SpiffWorkflow's spec diff: a case is **unsafe** to move when a task it has run, or is
running, no longer exists in the target (its history would point at nothing), or when a running
call activity's process is missing there. Safe cases are moved with their open tasks reset and
re-predicted on the new spec; timers are re-armed by evaluating their expressions again, and as
every flow timer is an absolute date computed from recorded facts (``deadline(key, served_on)``),
the legal deadline stays what it was. Open inbox rows keep their due dates and assignees.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select, update

from engine.db.command import command
from engine.definitions.specs import active_spec, deployment_of, load_specs
from engine.errors import InvalidInput, InvalidState, NotFound
from engine.models import Case, ProcessInstance, ProcessSpec, Task, User, db
from engine.record import audit
from engine.runtime.instance import lock_instance, open_session, ready_user_tasks, save

_REGISTRY = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
MAX_CASES = 1000
_RESET = TaskState.READY | TaskState.WAITING
_LIVED = TaskState.COMPLETED | TaskState.STARTED | TaskState.READY | TaskState.WAITING | TaskState.ERROR


@dataclass
class MigrationPlan:
    case_id: int
    case_number: str
    instance_id: int
    process_id: str
    from_deployment: int
    to_deployment: int
    safe: bool
    reasons: list[str] = field(default_factory=list)
    reset_tasks: list[str] = field(default_factory=list)  # open or waiting steps reset and re-predicted
    changed: list[str] = field(default_factory=list)  # steps of the case whose definition changed
    added: list[str] = field(default_factory=list)  # steps that exist only in the target
    applied: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def plan_migrations(case_ids: list[int], deployment_id: int | None = None) -> list[MigrationPlan]:
    """The dry run: what would happen to each case (nothing is changed)."""
    try:
        return [_plan(instance, _target_spec(instance, deployment_id))[0] for instance in _instances(case_ids)]
    finally:
        db.session.rollback()


@command
def migrate_cases(actor: User, case_ids: list[int], deployment_id: int | None = None) -> list[MigrationPlan]:
    """Move every listed case, all or nothing: one unsafe case refuses the whole batch with its reason."""
    plans = []
    for instance in _instances(case_ids):
        instance = lock_instance(instance.id)
        target = _target_spec(instance, deployment_id)
        plan, session, diffs = _plan(instance, target)
        if not plan.safe:
            raise InvalidState(f"案件 {plan.case_number} 不能迁移：" + "；".join(plan.reasons)
                               + " (unsafe migration refused; nothing was changed)", details=[p.to_dict() for p in [*plans, plan]])
        _apply(session, target, diffs)
        plan.applied = True
        audit.record("instance.migrated", actor.username,
                     {"process": plan.process_id, "from_deployment": plan.from_deployment, "to_deployment": plan.to_deployment,
                      "reset_tasks": plan.reset_tasks, "changed": plan.changed},
                     case_id=plan.case_id, instance_id=instance.id)
        plans.append(plan)
    return plans


def running_cases(process_id: str, from_deployment: int | None = None) -> list[int]:
    """Cases of a procedure still running (or suspended), optionally only those on one deployment."""
    query = select(ProcessInstance.case_id).where(ProcessInstance.process_id == process_id,
                                                  ProcessInstance.status.in_(("running", "suspended")))
    if from_deployment is not None:
        query = query.where(ProcessInstance.process_spec_id.in_(
            select(ProcessSpec.id).where(ProcessSpec.deployment_id == from_deployment)))
    return list(db.session.scalars(query.order_by(ProcessInstance.case_id).limit(MAX_CASES + 1)))


# --------------------------------------------------------------------------------------------- helpers
def _instances(case_ids: list[int]) -> list[ProcessInstance]:
    if not case_ids:
        raise InvalidInput("请选择要迁移的案件 (choose the cases to migrate)")
    if len(case_ids) > MAX_CASES:
        raise InvalidInput(f"一次最多迁移 {MAX_CASES} 件案件 (at most {MAX_CASES} cases at once)")
    rows = list(db.session.scalars(select(ProcessInstance).where(ProcessInstance.case_id.in_(case_ids))
                                   .order_by(ProcessInstance.case_id, ProcessInstance.id)))
    found = {r.case_id for r in rows}
    if missing := sorted(set(case_ids) - found):
        raise NotFound(f"案件不存在：{missing} (cases not found)")
    not_running = [r.case_id for r in rows if r.status not in ("running", "suspended")]
    if not_running:
        raise InvalidState(f"已结束的案件不能迁移：{not_running} (only running or suspended cases can be migrated)")
    return rows


def _target_spec(instance: ProcessInstance, deployment_id: int | None) -> ProcessSpec:
    if deployment_id is None:
        spec_id = active_spec(instance.process_id).id
        target = db.session.get(ProcessSpec, spec_id)
    else:
        target = db.session.scalars(select(ProcessSpec).where(ProcessSpec.deployment_id == deployment_id,
                                                              ProcessSpec.process_id == instance.process_id)).first()
    if target is None:
        raise NotFound(f"部署 {deployment_id} 中没有流程 '{instance.process_id}' (process not in that deployment)")
    return target


def _plan(instance: ProcessInstance, target: ProcessSpec) -> tuple[MigrationPlan, Any, Any]:
    case = db.session.get(Case, instance.case_id)
    assert case is not None
    session = open_session(instance, "migration")
    workflow = session.workflow
    new_spec, new_deps = load_specs(target.id)
    top, subs = diff_workflow(_REGISTRY, workflow, new_spec, new_deps)
    reasons = []
    # Predicted steps below an open task are dropped and re-predicted; only steps the case ran or is
    # running must still exist in the target.
    removed = {_name(t) for t in top.removed if t.state & _LIVED}
    for sp_id, sub_diff in subs.items():
        sub = workflow.subprocesses[sp_id]
        if sub_diff is None:
            reasons.append(f"调用的流程“{sub.spec.name}”在目标版本中不存在 (called process missing in the target)")
        else:
            removed |= {_name(t) for t in sub_diff.removed if t.state & _LIVED}
    removed.discard("")
    if removed:
        reasons.append("已执行或正在执行的步骤在目标版本中被删除：" + "、".join(sorted(removed))
                       + " (steps the case ran or is running were removed)")
    reset = sorted({_name(t) for t in workflow.get_tasks(state=_RESET) if getattr(t.task_spec, "bpmn_id", None)})
    changed = sorted({_name(t) for d in [top, *[s for s in subs.values() if s]] for t in d.changed
                      if getattr(t.task_spec, "bpmn_id", None)})
    plan = MigrationPlan(
        case_id=case.id, case_number=case.case_number, instance_id=instance.id, process_id=instance.process_id,
        from_deployment=deployment_of(instance.process_spec_id), to_deployment=target.deployment_id, safe=not reasons,
        reasons=reasons, reset_tasks=reset, changed=changed,
        added=sorted({s.bpmn_name or s.bpmn_id for s in new_spec.task_specs.values()
                      if getattr(s, "bpmn_id", None) and s.name not in workflow.spec.task_specs}),
    )
    return plan, session, (top, subs, new_spec, new_deps)


def _apply(session: Any, target: ProcessSpec, diffs: Any) -> None:
    top, subs, new_spec, new_deps = diffs
    workflow = session.workflow
    before = {t.bpmn_id: t for t in db.session.scalars(select(Task).where(
        Task.instance_id == session.instance.id, Task.status == "open"))}
    migrate_workflow(top, workflow, new_spec)
    for sp_id, sub_diff in subs.items():
        sub = workflow.subprocesses[sp_id]
        migrate_workflow(sub_diff, sub, new_deps[sub.spec.name])
    workflow.subprocess_specs = new_deps
    workflow.do_engine_steps()
    session.instance.process_spec_id = target.id
    save(session)
    # A reset task may come back under a new id: it is the same legal step, so it keeps its due date
    # and its assignee (the projection row of the old id was withdrawn by save()).
    for task in ready_user_tasks(workflow):
        old = before.get(task.task_spec.bpmn_id)
        if old is not None and old.id != str(task.id):
            db.session.execute(update(Task).where(Task.id == str(task.id)).values(
                due_at=old.due_at, warn_at=old.warn_at, assignee_id=old.assignee_id, created_at=old.created_at))


def _name(task: Any) -> str:
    spec = task.task_spec
    return str(getattr(spec, "bpmn_name", None) or getattr(spec, "bpmn_id", None) or "")
