"""Running one expression inside a tiny workflow (tests/data/expressions/<template>.bpmn), the way a
procedure would run it: what the expression tests and the expression-limit tests share."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine.errors import UnsafeExpression
from engine.expressions import make_script_engine

DATA = Path(__file__).resolve().parent.parent / "data" / "expressions"


def workflow_from_template(template: str, payload: str, engine: Any = None) -> BpmnWorkflow:
    """Parse ``<template>.bpmn`` with ``payload`` as its script/condition/timer, ready to run."""
    xml = (DATA / f"{template}.bpmn").read_text(encoding="utf-8").replace("{{PAYLOAD}}", escape(payload))
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_str(xml.encode("utf-8"), filename=f"{template}.bpmn")
    workflow = BpmnWorkflow(parser.get_spec(template))
    workflow.script_engine = engine if engine is not None else make_script_engine()
    return workflow


def give_data(workflow: BpmnWorkflow, data: dict[str, Any]) -> None:
    """Task data enters at the start task (what runtime does with the case facts)."""
    workflow.get_next_task(state=TaskState.READY).data.update(data)


def unsafe_cause(error: BaseException) -> UnsafeExpression | None:
    """SpiffWorkflow wraps what the engine raises; find our UnsafeExpression in the chain."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, UnsafeExpression):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
