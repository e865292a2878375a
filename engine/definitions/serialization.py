"""Workflow state <-> JSON, with specs stored once per deployment.

SpiffWorkflow embeds the whole spec in every serialized workflow (about 70 % of the bytes). zhifa
stores specs once in ``process_spec`` and keeps only instance state per case; loading re-attaches
the cached, already-deserialized spec objects, which are shared read-only between workflows.

Stored state carries ``zhifa_format``; older formats are upgraded by the named steps in
``STATE_MIGRATIONS`` (the way SpiffWorkflow's own serializer migrations work).

Task data is stored as SpiffWorkflow 3.2 stores it: as is (the root's data, and each task's changes),
written by a JSON encoder that asks the registry for the types JSON lacks. ``date``, ``datetime``,
``timedelta`` and ``Decimal`` are registered and come back as themselves, so a script may keep
``today()`` or a ``Decimal`` fine in task data. What the restricted evaluator lets through is already
storable (engine/expressions/storable.py); anything else left in task data is refused here with a 422
instead of failing the save with a 500.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from types import ModuleType
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.migration.version_migration import MIGRATIONS as SPIFF_MIGRATIONS
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SPIFF_VERSION
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.errors import ExpressionFailed, InvalidState

STATE_FORMAT = 1

Specs = tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]]


class _SpecFreeWorkflowConverter(BpmnWorkflowConverter):
    """BpmnWorkflow converter that leaves the spec out and takes it back as an argument."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], specs: Specs | None = None) -> BpmnWorkflow:  # type: ignore[override]
        if specs is None:
            return super().from_dict(dct)
        spec, subprocess_specs = specs
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        from uuid import UUID

        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _make_registry() -> Any:
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = _SpecFreeWorkflowConverter
    registry = BpmnWorkflowSerializer.configure(config)
    # Form data holds dates and money; keep their types across a save/restore.
    registry.register(dt.date, lambda v: {"value": v.isoformat()}, lambda v: dt.date.fromisoformat(v["value"]))
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]))
    return registry


_registry = _make_registry()
_spec_registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)


def specs_to_json(spec: BpmnProcessSpec, subprocess_specs: Mapping[str, BpmnProcessSpec]) -> str:
    return json.dumps(
        {
            "spiff_version": SPIFF_VERSION,
            "spec": _spec_registry.convert(spec),
            "subprocess_specs": {k: _spec_registry.convert(v) for k, v in subprocess_specs.items()},
        },
        ensure_ascii=False,
        sort_keys=True,
    )


def specs_from_json(text: str) -> Specs:
    dct = json.loads(text)
    spec = _spec_registry.restore(dct["spec"])
    subprocess_specs = {k: _spec_registry.restore(v) for k, v in dct["subprocess_specs"].items()}
    return spec, subprocess_specs


class _StateEncoder(json.JSONEncoder):
    """Registered types as the registry writes them (``{"typename": "date", "value": ...}``)."""

    def default(self, o: Any) -> Any:
        typename = _registry.typenames.get(type(o))
        if typename is not None:
            return _registry.convert_to_dict[typename](o)
        if callable(o) or isinstance(o, ModuleType):
            return None  # as SpiffWorkflow's own encoder: functions never belong to the data
        if isinstance(o, set | frozenset):
            try:
                return sorted(o)
            except TypeError:
                return sorted(o, key=repr)
        raise _unstorable(f"类型为 {type(o).__name__} 的值", f"a value of type {type(o).__name__}")


def _unstorable(chinese: str, english: str) -> ExpressionFailed:
    return ExpressionFailed(f"任务数据含有{chinese}，无法保存流程状态 (task data holds {english}; the case cannot be saved)",
                            details={"reason": "unstorable", "value": english})


def dump_state(workflow: BpmnWorkflow) -> str:
    dct = _registry.convert(workflow)
    dct["zhifa_format"] = STATE_FORMAT
    dct["spiff_version"] = SPIFF_VERSION
    try:
        return json.dumps(dct, ensure_ascii=False, separators=(",", ":"), cls=_StateEncoder)
    except (TypeError, ValueError) as exc:  # a dict key JSON cannot hold, an integer of 5,000 digits, a cycle
        raise _unstorable("无法写成 JSON 的值", f"a value JSON cannot hold: {exc}") from exc


def load_state(text: str, specs: Specs) -> BpmnWorkflow:
    dct = json.loads(text)
    fmt = dct.pop("zhifa_format", None)
    if fmt is None or fmt > STATE_FORMAT:
        raise InvalidState(f"无法读取的流程状态格式 {fmt!r} (unreadable stored state format)")
    for step in range(fmt, STATE_FORMAT):
        STATE_MIGRATIONS[step](dct)
    spiff_version = dct.pop("spiff_version", SPIFF_VERSION)
    if spiff_version != SPIFF_VERSION and spiff_version in SPIFF_MIGRATIONS:
        SPIFF_MIGRATIONS[spiff_version](dct)
    return _registry.restore(dct, specs=specs)


# format N -> N+1 upgrade steps, applied in order; empty while only format 1 exists.
STATE_MIGRATIONS: dict[int, Callable[[dict[str, Any]], None]] = {}
