"""Running restricted expressions and workflows under watch: the escape harness of the expression fuzzers.

``watching`` records every audited interpreter event (import, open, os/subprocess, …) made on the
evaluating thread and fails if there was one; ``assert_contained`` fails on any module, frame, code,
class or function object in a result, or a result larger than the task-data limit. ``run_workflow``
runs a workflow under both; ``dmn_workflow`` and ``timer_workflow`` put an expression where deployed
files do (a DMN input cell, a timer). Shared by tests/fuzz/test_expression_fuzz.py and the pinned
regressions (tests/fuzz/test_regressions.py).
"""

from __future__ import annotations

import sys
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from engine import clock
from engine.errors import UnsafeExpression
from engine.expressions import MAX_DATA_SIZE, SAFE_FUNCTIONS, make_script_engine

DATA = Path(__file__).resolve().parent.parent / "data" / "expressions"

_watch = threading.local()
_events: list[str] = []
_ALLOWED_EVENTS = {"exec", "compile", "time.sleep", "builtins.id"}


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if getattr(_watch, "on", False) and event not in _ALLOWED_EVENTS and not _reads_source_for_a_traceback(event, args):
        _events.append(f"{event}{args!r}"[:200])


def _reads_source_for_a_traceback(event: str, args: tuple[Any, ...]) -> bool:
    """SpiffWorkflow formats a failing expression's traceback, and linecache opens '<unknown>' or a
    module's .py file to quote the line: a read the expression cannot steer, not an escape."""
    if event != "open" or not args or not isinstance(args[0], str) or args[1] not in ("r", "rb"):
        return False
    return args[0].startswith("<") or args[0].endswith(".py")


sys.addaudithook(_audit)  # permanent, but records only inside watching() on the evaluating thread


@contextmanager
def watching() -> Iterator[None]:
    _events.clear()
    _watch.on = True
    try:
        yield
    finally:
        _watch.on = False
    assert not _events, f"audited event during evaluation: {_events[:3]}"


_SAFE_CLASSES = {date, datetime, timedelta, Decimal, list, dict, tuple, set, float, bool, int, str, range}
_SAFE_CALLABLES = {id(f) for f in SAFE_FUNCTIONS.values()}


def assert_contained(value: Any) -> None:
    """No object that opens the interpreter up, anywhere in what came back; and bounded size."""
    seen: set[int] = set()
    stack, budget = [value], MAX_DATA_SIZE
    while stack and budget > 0:
        item = stack.pop()
        budget -= 1
        if id(item) in seen:
            continue
        seen.add(id(item))
        assert not isinstance(item, types.ModuleType), f"module leaked: {item!r}"
        assert not isinstance(item, types.FrameType | types.CodeType | types.TracebackType), f"interpreter internals leaked: {type(item)}"
        if isinstance(item, type):
            assert item in _SAFE_CLASSES, f"class leaked: {item!r}"
        if isinstance(item, types.FunctionType | types.LambdaType):
            assert id(item) in _SAFE_CALLABLES, f"function leaked: {item!r}"
        if isinstance(item, BaseException):
            continue
        if isinstance(item, dict):
            assert "__builtins__" not in item and "__import__" not in item, "builtins or globals leaked"
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
    assert budget > 0, "result larger than the task-data limit"


def run_workflow(workflow: BpmnWorkflow, data: dict[str, Any]) -> None:
    from SpiffWorkflow.util.task import TaskState

    workflow.get_next_task(state=TaskState.READY).data.update(data)
    clock.install_spiff_clock()
    with watching(), clock.use_clock(clock.FrozenClock(datetime(2026, 3, 2, 2, 0, tzinfo=clock.SHANGHAI))):
        try:
            workflow.do_engine_steps()
        except Exception as error:  # noqa: BLE001 - SpiffWorkflow wraps whatever the expression raised
            assert isinstance(error, SpiffWorkflowException | UnsafeExpression), repr(error)
    for task in workflow.get_tasks():
        assert_contained(task.data)


def dmn_workflow(cell: str) -> BpmnWorkflow:
    dmn = (DATA / "penalty_level.dmn").read_text(encoding="utf-8").replace("<text>&gt;= 100000</text>", f"<text>{escape(cell)}</text>", 1)
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_dmn_str(dmn.encode("utf-8"), filename="penalty_level.dmn")
    parser.add_bpmn_file(str(DATA / "penalty_level.bpmn"))
    workflow = BpmnWorkflow(parser.get_spec("penalty_level_process"))
    workflow.script_engine = make_script_engine()
    return workflow


def timer_workflow(expression: str) -> BpmnWorkflow:
    xml = (DATA / "timer_template.bpmn").read_text(encoding="utf-8").replace("{{PAYLOAD}}", escape(expression))
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_str(xml.encode("utf-8"), filename="timer_template.bpmn")
    workflow = BpmnWorkflow(parser.get_spec("timer_template"))
    workflow.script_engine = make_script_engine()
    return workflow
