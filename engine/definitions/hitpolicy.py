"""DMN hit policies as zhifa runs them: UNIQUE, FIRST and COLLECT.

SpiffWorkflow 3.2's ``DMNEngine`` knows UNIQUE and COLLECT only. Its UNIQUE stops at the first rule
that matches without checking that no other rule would (zhifa's deploy check, dmncheck.py, refuses a
UNIQUE table whose rules overlap). Any other policy falls through to "evaluate every rule, return the
first match": FIRST gives the right answer, but a later rule's cell is still evaluated, so a cell
that cannot read the input (``? >= 10000`` on ``None``) fails a decision an earlier rule had already
made. :class:`HitPolicyEngine` stops at the first match for FIRST, as the DMN standard says.

Two places build engines: the parser (:class:`DmnParserMixin`, for parse-time specs) and the spec
serializer, which always rebuilds a plain ``DMNEngine`` from stored JSON; :func:`honour_hit_policies`
swaps those for :class:`HitPolicyEngine` when specs are loaded (engine/definitions/specs.py), so no
workflow ever runs on the plain engine.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine

FIRST = "FIRST"
SUPPORTED = ("UNIQUE", "FIRST", "COLLECT")


class HitPolicyEngine(DMNEngine):
    """``DMNEngine`` that stops at the first matching rule under hit policy FIRST."""

    def decide(self, task: Any) -> list[Any]:
        if self.decision_table.hit_policy != FIRST:
            return super().decide(task)
        for rule in self.decision_table.rules:
            if self._DMNEngine__check_rule(rule, task):  # SpiffWorkflow's own cell evaluation (name-mangled)
                return [rule]
        return []


class DmnParserMixin:
    """For a ``BpmnDmnParser`` subclass: business rule tasks get a :class:`HitPolicyEngine`."""

    def get_engine(self, decision_ref: str, node: Any) -> DMNEngine:
        engine = super().get_engine(decision_ref, node)  # type: ignore[misc]
        return HitPolicyEngine(engine.decision_table)


def honour_hit_policies(specs: Iterable[Any]) -> None:
    """Give every business rule task of these process specs a :class:`HitPolicyEngine` (in place)."""
    for spec in specs:
        for task_spec in spec.task_specs.values():
            engine = getattr(task_spec, "dmnEngine", None)
            if engine is not None and not isinstance(engine, HitPolicyEngine):
                task_spec.dmnEngine = HitPolicyEngine(engine.decision_table)
