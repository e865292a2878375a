"""退回: a path that sends work back says why, and voids the 文书 issued on the path it refused.

The convention the procedures follow: a gateway's return path runs a script task that sets, in the
task data,

- ``returned_because``: one Chinese sentence naming the rule and article and what to do next
  (e.g. "决定的罚款高于事先告知的数额（行政处罚法第四十五条），已退回事先告知：请按拟作出的处罚重新告知当事人");
- ``void_documents``: the 文书 types issued on the refused path (e.g. ``["行政处罚决定审批表"]``).

When the step the path leads back to becomes ready, the runtime takes both variables out of its
data before the state is serialized (SpiffWorkflow copies a task's data into the next ones: left
there, every later step would look returned and void again), stores the reason on the step's
inbox row and in the chain (``task.returned``), voids each named type's latest valid document
(engine/documents/void.py) and, when the refused document was the decision's approval form, lets the
case clock count on (engine/case_clock.reopen): the clock stops only at a decision that stands (法 Art. 60).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.task import Task as SpiffTask

from engine import clock
from engine.deadlines.limits import Deadlines
from engine.documents.void import void_latest
from engine.models import Case
from engine.record import audit
from engine.runtime.case_clock import reopen

REASON = "returned_because"
VOID = "void_documents"
KEYS = (REASON, VOID)
# The record of the decision itself (法 Art. 57): voided, the decision did not stand and the clock that
# stopped for it counts on. A 决定书 redrawn for a drafting fault leaves the decision, and the stop, as they are.
DECISION_DOCUMENTS = frozenset({"行政处罚决定审批表"})
DEFAULT_REASON = "所在办理环节已被退回重办，该文书不再有效"
MAX_REASON = 1000
MAX_TYPE = 40


@dataclass
class Return:
    """What one ready step was sent back with."""

    reason: str | None
    void: list[str] = field(default_factory=list)


def take_returns(ready: Iterable[SpiffTask]) -> dict[str, Return]:
    """Task id -> its return, for every ready step whose data carries one; the variables are removed
    from the step and from the finished steps it inherited them from (so that no later step, a
    parallel join included, inherits them again). Call before serializing the workflow."""
    found: dict[str, Return] = {}
    for task in ready:
        if not any(key in task.data for key in KEYS):
            continue
        ret = Return(_reason(task.data.pop(REASON, None)), _types(task.data.pop(VOID, None)))
        parent = task.parent
        while parent is not None and any(key in parent.data for key in KEYS):
            for key in KEYS:
                parent.data.pop(key, None)
            parent = parent.parent
        if ret.reason or ret.void:
            found[str(task.id)] = ret
    return found


def record_return(row: dict[str, Any], ret: Return, actor: str, case_id: int, instance_id: int) -> None:
    """A new inbox row that was sent back: its reason on the row and in the case's chain."""
    row["returned_because"] = ret.reason
    if ret.reason:
        audit.record("task.returned", actor,
                     {"task": row["name"], "bpmn_id": row["bpmn_id"], "reason": ret.reason, "void_documents": ret.void},
                     case_id=case_id, instance_id=instance_id, task_id=row["id"])


def void_refused(returns: dict[str, Return], actor: str, case: Case, instance_id: int, deadlines: Deadlines) -> None:
    """Void the documents the returns name (each type once: parallel steps carry the same list). A
    voided decision approval form lets the case clock count on."""
    done: set[str] = set()
    decision_refused = ""
    for task_id, ret in returns.items():
        reason = ret.reason or DEFAULT_REASON
        for doc_type in ret.void:
            if doc_type in done:
                continue
            done.add(doc_type)
            if void_latest(case.id, doc_type, reason, actor, instance_id, task_id) and doc_type in DECISION_DOCUMENTS:
                decision_refused = decision_refused or reason
    if decision_refused:
        reopen(case, clock.today_shanghai(), actor, decision_refused, deadlines)


def _reason(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text[:MAX_REASON] or None


def _types(value: Any) -> list[str]:
    values = [value] if isinstance(value, str) else value if isinstance(value, list | tuple) else []
    out: list[str] = []
    for item in values:
        name = str(item).strip()[:MAX_TYPE] if isinstance(item, str) else ""
        if name and name not in out:
            out.append(name)
    return out
