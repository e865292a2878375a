"""What a user is shown when the workflow engine fails while running a case: the step, not a 500.

The deploy check refuses what it knows would not run, but a case can still fail inside SpiffWorkflow
(task data a script did not expect, a construct deployed before a rule existed). SpiffWorkflow wraps
script and expression errors in ``WorkflowTaskException``; some of its own code paths raise plain
``NotImplementedError``/``NameError``/``AttributeError`` instead (a service task without an operator
registry raised both). Either way the command rolls back (the case stays where it was, so the user
can try again once the designer has fixed the procedure) and the user gets an ``ExpressionFailed``
naming the task, its process and, for a script, the line.
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import Any

import SpiffWorkflow
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.task import Task

from engine.errors import ExpressionFailed

# What SpiffWorkflow's own code raises unwrapped when a diagram asks for something it cannot do.
ENGINE_FAILURES: tuple[type[BaseException], ...] = (NotImplementedError, NameError, LookupError, AttributeError, TypeError,
                                                    ValueError, AssertionError)
_SPIFF_DIR = os.path.dirname(SpiffWorkflow.__file__) + os.sep


def raised_in_workflow_engine(exc: BaseException) -> bool:
    """The innermost frame of ``exc`` is SpiffWorkflow's: the workflow engine failed, not zhifa."""
    tb = _innermost(exc.__traceback__)
    return tb is not None and tb.tb_frame.f_code.co_filename.startswith(_SPIFF_DIR)


def workflow_failure(exc: BaseException) -> ExpressionFailed:
    """The located error for a failure inside the workflow engine."""
    task = getattr(exc, "task", None) if isinstance(exc, WorkflowException) else None
    task = task if isinstance(task, Task) else _task_in_traceback(exc.__traceback__)
    spec = getattr(task, "task_spec", None) or (getattr(exc, "task_spec", None) if isinstance(exc, WorkflowException) else None)
    details: dict[str, Any] = {"error": type(exc).__name__}
    where_zh = where_en = ""
    if spec is not None:
        bpmn_id = getattr(spec, "bpmn_id", None) or getattr(spec, "name", "?")
        name = getattr(spec, "bpmn_name", None) or bpmn_id
        process = getattr(getattr(task, "workflow", None), "spec", None) or getattr(spec, "_wf_spec", None)
        details.update(task=bpmn_id, task_name=name, process=getattr(process, "name", None))
        where_zh, where_en = f"在“{name}”({bpmn_id}) 处", f" at task '{bpmn_id}'"
        line = getattr(exc, "line_number", None)
        if line:
            details["line"] = line
            where_zh += f"脚本第 {line} 行"
            where_en += f", script line {line}"
    # SpiffWorkflow's own text already names what failed ("Error evaluating expression …"); a bare
    # Python error gets its class name, which is all its text may be.
    text = str(exc).strip() if isinstance(exc, WorkflowException) else f"{type(exc).__name__}: {exc}"
    return ExpressionFailed(
        f"流程{where_zh}执行出错，案件保持原状，请联系流程设计人员修正后重试 (the procedure failed{where_en}; the case was left "
        f"as it was: ask the process designer to fix the procedure, then try again): {text}"[:2000],
        details=details,
    )


def _innermost(tb: TracebackType | None) -> TracebackType | None:
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb


def _task_in_traceback(tb: TracebackType | None) -> Task | None:
    """The SpiffWorkflow task being run where the error was raised (innermost first)."""
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        for name in ("my_task", "task", "self"):
            value = frame.f_locals.get(name)
            if isinstance(value, Task):
                return value
    return None
