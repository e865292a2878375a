"""The shipped procedure library (processes/ + forms/) run on bare SpiffWorkflow, without the zhifa engine.

Shared by the library tests (tests/test_processes_parse.py), the 听证 and 告知承诺制 procedure tests and
the procedure-document check: parsing the library, driving one process instance through its READY user
tasks (straight, or with a serialize/deserialize round trip after every step), a sample case, form
validation, SpiffWorkflow's timer clock frozen, and calendar-true deadlines. The fixtures built on these
(``parser``, ``specs``, ``roundtrip``, ``frozen_timer_clock``, ``clock_calls``) are in tests/conftest.py.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import jsonschema
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from engine.deadlines.holidays import Calendar, load_seed_time_limits, parse_start
from engine.expressions import make_script_engine
from engine.runtime.case_clock import ClockRecorder
from engine.runtime.execution import SCRIPT_FUNCTIONS

ROOT = Path(__file__).resolve().parent.parent.parent
PROCESSES = ROOT / "processes"
FORMS = ROOT / "forms"


def parse_library() -> SpiffBpmnParser:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_dmn_files([str(p) for p in sorted(PROCESSES.glob("*.dmn"))])  # DMN before the BPMN using it
    parser.add_bpmn_files([str(p) for p in sorted(PROCESSES.glob("*.bpmn"))])
    return parser


SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
FAR_FUTURE = "2099-01-01T00:00:00+08:00"
LONG_AGO = "2000-01-01T00:00:00+08:00"


def script_engine(deadline_value: str) -> PythonScriptEngine:
    # zhifa's restricted engine, with a fixed deadline and a case clock that only records calls.
    return make_script_engine({"deadline": lambda key, start: deadline_value, "case_clock": ClockRecorder(), **SCRIPT_FUNCTIONS})


class Run:
    """Drives one process instance the way an officer would, through READY user tasks only."""

    def __init__(self, specs, process_id: str, case: dict, roundtrip: bool, deadline: str = FAR_FUTURE):
        spec, subprocess_specs = specs[process_id]
        self.roundtrip = roundtrip
        self.deadline = deadline
        self.wf = BpmnWorkflow(spec, subprocess_specs)
        self.wf.script_engine = script_engine(deadline)
        start = self.wf.get_next_task(state=TaskState.READY)
        start.data.update(case)
        self.wf.do_engine_steps()
        self.done: list[str] = []
        self._save_and_reload()

    def _save_and_reload(self):
        if self.roundtrip:
            self.wf = SERIALIZER.deserialize_json(SERIALIZER.serialize_json(self.wf))
            self.wf.script_engine = script_engine(self.deadline)

    def ready(self) -> list[str]:
        return sorted(t.task_spec.bpmn_id for t in self.wf.get_tasks(state=TaskState.READY, manual=True))

    def complete(self, bpmn_id: str, data: dict | None = None):
        tasks = [t for t in self.wf.get_tasks(state=TaskState.READY, manual=True) if t.task_spec.bpmn_id == bpmn_id]
        assert tasks, f"{bpmn_id} is not ready; ready: {self.ready()}"
        task = tasks[0]
        task.data.update(data or {})
        task.run()
        self.wf.do_engine_steps()
        self.done.append(bpmn_id)
        self._save_and_reload()

    def fire_timers(self):
        self.wf.refresh_timers()
        self.wf.do_engine_steps()
        self._save_and_reload()

    @property
    def data(self) -> dict:
        return self.wf.last_task.data if self.wf.is_completed() else self.wf.get_next_task(state=TaskState.READY).data


def case(party_type="citizen", penalty_kind="fine", proposed_fine=0, **extra):
    return {
        "case_number": "X市监处罚〔2026〕1号",
        "party_type": party_type,
        "party_name": "张三",
        "unit_code": "U01",
        "violation": "未按规定明码标价",
        "penalty_kind": penalty_kind,
        "proposed_fine": proposed_fine,
        "discretion_tier_raise": 0,  # what start_case gives every case (engine/runtime/cases.py CASE_DEFAULTS)
        **extra,
    }


def validate_form(form: str, data: dict):
    schema = json.loads((FORMS / f"{form}.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(data)


class FrozenTimerClock(dt.datetime):
    """Stands in for SpiffWorkflow's timer-module clock (zhifa's engine/clock does the same)."""

    at = dt.datetime(2026, 3, 24, 9, 0, tzinfo=dt.UTC)

    @classmethod
    def now(cls, tz=None):
        return cls.at.astimezone(tz) if tz else cls.at


CALENDAR = Calendar.from_seed()
LIMITS = {item["key"]: item for item in load_seed_time_limits()}


def real_deadline(key: str, start: str) -> str:
    limit = LIMITS[key]
    return CALENDAR.deadline(parse_start(start), limit["amount"], limit["unit"]).isoformat()
