"""Which procedure fits the facts: the simplified-procedure eligibility table decides (法 Art. 51).

The table is the one the active ``simplified`` procedure uses, evaluated by running that
procedure in memory up to its first wait: an administrator's edit of the table changes the
suggestion at once, and nothing is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.util.task import TaskState

from engine.deadlines.limits import Deadlines
from engine.definitions.specs import active_spec
from engine.errors import InvalidInput
from engine.runtime.case_clock import ClockRecorder
from engine.runtime.instance import new_workflow


@dataclass(frozen=True)
class Suggestion:
    procedure: str
    reason: str


def suggest_procedure(party_type: str, facts: dict[str, Any]) -> Suggestion:
    workflow = new_workflow(active_spec("simplified").id, Deadlines(), ClockRecorder())
    workflow.get_next_task(state=TaskState.READY).data.update({
        **facts, "party_type": party_type, "case_number": "", "party_name": "", "unit_code": "", "opened_on": "",
    })
    try:
        workflow.do_engine_steps()
    except Exception as exc:  # noqa: BLE001 - a fact the table cannot read means "not eligible", with the reason
        raise InvalidInput(f"无法判断适用的程序：{exc} (the eligibility table could not read these facts)") from exc
    data = (workflow.last_task.data if workflow.is_completed() else
            next(iter(workflow.get_tasks(state=TaskState.READY, manual=True)), workflow.last_task).data)
    reason = str(data.get("simplified_eligibility_reason") or "")
    if data.get("simplified_eligible"):
        return Suggestion("simplified", reason or "符合简易程序条件 (eligible for the simplified procedure)")
    return Suggestion("ordinary", reason or "不符合简易程序条件，适用普通程序 (use the ordinary procedure)")
