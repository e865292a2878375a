"""DMN hit policies and COLLECT aggregations as zhifa runs them, and what each writes into case data.

SpiffWorkflow 3.2's ``DMNEngine`` knows UNIQUE and COLLECT only: every other policy silently returns
the first match, and COLLECT's aggregation (``aggregation="SUM"``) is not even read by its parser, so a
"sum of points" table returned the raw list. :class:`HitPolicyEngine` runs every policy of the DMN
standard (DMN 1.3 §8.2.11). What a business rule task merges into the case data (``out`` stands for
each output's ``name``, or its ``label`` when it has no name; ``a.b`` writes ``data["a"]["b"]``):

============== ===================================================== ========================================
policy          rules that decide                                     written
============== ===================================================== ========================================
UNIQUE         the only match (overlapping rules are refused at      ``out = value`` of that rule; nothing
               deploy, dmncheck.py; at run time the first match)     when no rule matches
FIRST          the first match top down; later rules not evaluated   same
PRIORITY       the match whose outputs come first in the outputs'    same
               ``outputValues`` lists (ties: the earlier rule)
ANY            any match: all matches must give the same outputs     same; differing outputs stop the task
                                                                     with an error naming the rows
COLLECT        every match, in rule order                            ``out = [v1, v2, …]`` per output (empty
                                                                     lists when no rule matches)
RULE ORDER     every match, in rule order                            same
OUTPUT ORDER   every match, by the outputs' ``outputValues`` order   same
COLLECT SUM    every match (one output only)                         ``out = v1 + v2 + …`` (None if none)
COLLECT MIN    every match (one output only)                         ``out = min(…)`` (None if none)
COLLECT MAX    every match (one output only)                         ``out = max(…)`` (None if none)
COLLECT COUNT  every match (one output only)                         ``out = number of values`` (0 if none)
============== ===================================================== ========================================

In lists, an empty output cell gives None; aggregations leave None values out (DMN: they are not
values). How PRIORITY and OUTPUT ORDER are run: when the table is built from the DMN file
(:func:`prepare_table`), its rules are put in priority order (a stable sort on the index of each
output value in its ``outputValues`` list); PRIORITY is then "first match", OUTPUT ORDER "every match
in order", and each rule keeps its ``row_number`` so errors still name the row the designer wrote.
The aggregation is kept in the policy name (``"COLLECT SUM"``). Both survive SpiffWorkflow's spec
serializer unchanged (it stores the rules in order and the policy as a string), so stored specs need
nothing beyond :func:`honour_hit_policies`. dmncheck.py refuses at deploy what cannot be run this way
(PRIORITY without ``outputValues``, an aggregation over several outputs, …).

Two places build engines: the parser (:class:`DmnParserMixin`, for parse-time specs) and the spec
serializer, which always rebuilds a plain ``DMNEngine`` from stored JSON; :func:`honour_hit_policies`
swaps those for :class:`HitPolicyEngine` when specs are loaded (engine/definitions/specs.py), so no
workflow ever runs on the plain engine.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine

from engine.definitions.xmlnames import local_name

FIRST_MATCH = ("UNIQUE", "FIRST", "PRIORITY")  # one row answers: the first matching rule in table order
SINGLE_HIT = ("UNIQUE", "FIRST", "PRIORITY", "ANY")
MULTIPLE_HIT = ("COLLECT", "RULE ORDER", "OUTPUT ORDER")
POLICIES = SINGLE_HIT + MULTIPLE_HIT
AGGREGATIONS = ("SUM", "MIN", "MAX", "COUNT")
ORDERED_BY_OUTPUT = ("PRIORITY", "OUTPUT ORDER")
SUPPORTED = POLICIES  # every policy of the standard is run


def split_policy(hit_policy: str) -> tuple[str, str | None]:
    """``"COLLECT SUM"`` → ``("COLLECT", "SUM")``; ``"RULE ORDER"`` → ``("RULE ORDER", None)``."""
    policy = (hit_policy or "UNIQUE").upper().strip()
    for aggregation in AGGREGATIONS:
        if policy == f"COLLECT {aggregation}":
            return "COLLECT", aggregation
    return policy, None


class HitPolicyEngine(DMNEngine):
    """``DMNEngine`` that runs every DMN hit policy and COLLECT aggregation (see the module docstring)."""

    def decide(self, task: Any) -> list[Any]:
        policy, _aggregation = split_policy(self.decision_table.hit_policy)
        first_only = policy in FIRST_MATCH
        matched = []
        for rule in self.decision_table.rules:
            if self._DMNEngine__check_rule(rule, task):  # SpiffWorkflow's own cell evaluation (name-mangled)
                matched.append(rule)
                if first_only:
                    break
        return matched

    def result(self, task: Any) -> dict[str, Any]:
        policy, aggregation = split_policy(self.decision_table.hit_policy)
        matched = self.decide(task)
        if policy in FIRST_MATCH:
            return dict(matched[0].output_as_dict(task)) if matched else {}
        if policy == "ANY":
            return self._any(matched, task)
        names = [_key(output) for output in self.decision_table.outputs]
        rows = [_flat_outputs(rule, task) for rule in matched]
        if aggregation is not None:
            name = names[0] if names else ""
            values = [row.get(name) for row in rows if row.get(name) is not None]
            return _nested({name: _aggregate(aggregation, values, task)})
        return _nested({name: [row.get(name) for row in rows] for name in names})

    def _any(self, matched: list[Any], task: Any) -> dict[str, Any]:
        results = [dict(rule.output_as_dict(task)) for rule in matched]
        differing = [rule for rule, result in zip(matched, results, strict=True) if result != results[0]]
        if differing:
            rows = ", ".join(str(rule.row_number) for rule in [matched[0], *differing])
            raise WorkflowTaskException(
                f"决策表「{self.decision_table.name or self.decision_table.id}」的命中策略为 ANY，但第 {rows} 行规则同时命中且输出不同；"
                f"请修改规则使同时命中的规则输出相同，或改用 FIRST/PRIORITY "
                f"(hit policy ANY: rules {rows} match with different outputs; make their outputs equal or use FIRST or PRIORITY)",
                task=task)
        return results[0] if results else {}


def _key(output: Any) -> str:
    return output.name or output.label or ""


def _flat_outputs(rule: Any, task: Any) -> dict[str, Any]:
    """One rule's outputs by their full (possibly dotted) name; an empty cell is None."""
    script_engine = task.workflow.script_engine
    values = {}
    for entry in rule.outputEntries:
        text = getattr(entry, "text", None)
        values[_key(entry.output)] = script_engine.evaluate(task, text) if text and text.strip() else None
    return values


def _aggregate(aggregation: str, values: list[Any], task: Any) -> Any:
    if aggregation == "COUNT":
        return len(values)
    if not values:
        return None
    try:
        if aggregation == "SUM":
            total = values[0]
            for value in values[1:]:
                total = total + value
            return total
        return min(values) if aggregation == "MIN" else max(values)
    except TypeError as exc:
        raise WorkflowTaskException(
            f"COLLECT {aggregation} 无法汇总这些输出值 (cannot aggregate the outputs {values!r}): {exc}", task=task) from exc


def _nested(flat: dict[str, Any]) -> dict[str, Any]:
    """``{"a.b": v}`` → ``{"a": {"b": v}}``, as SpiffWorkflow writes dotted output names."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        *parents, last = key.split(".")
        target = out
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = value
    return out


# ---------------------------------------------------------------------------------------------- building tables
def prepare_table(table: Any, root: Any) -> None:
    """Complete a parsed ``DecisionTable`` from its DMN file (lxml ``root``): the aggregation goes into
    the policy name, and PRIORITY / OUTPUT ORDER rules are put in output-priority order (in place)."""
    element = next((e for e in root.iter() if local_name(e) == "decisionTable" and e.get("id") == table.id), None)
    if element is None:
        return
    policy, _ = split_policy(table.hit_policy)
    aggregation = (element.get("aggregation") or "").upper()
    if policy == "COLLECT" and aggregation in AGGREGATIONS:
        table.hit_policy = f"COLLECT {aggregation}"
    if policy in ORDERED_BY_OUTPUT:
        priorities = output_priorities(element)
        table.rules.sort(key=lambda rule: rule_rank(rule.outputEntries, priorities))


def output_priorities(table_element: Any) -> dict[str, list[Any]]:
    """Each output's ``outputValues`` (highest priority first), by output id; outputs without one are left out."""
    priorities = {}
    for output in table_element:
        if local_name(output) != "output":
            continue
        values = next((child for child in output if local_name(child) == "outputValues"), None)
        text = next((child.text or "" for child in values if local_name(child) == "text"), "") if values is not None else ""
        listed = literal_list(text)
        if listed:
            priorities[output.get("id")] = listed
    return priorities


def literal_list(text: str) -> list[Any] | None:
    """``"high","medium","low"`` (or one literal) as a Python list, or None if it is not literals."""
    if not text.strip():
        return None
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return list(value) if isinstance(value, tuple) else [value]


def rule_rank(entries: Iterable[Any], priorities: dict[str, list[Any]]) -> tuple[int, ...]:
    """A rule's priority: for each prioritised output, the index of its value (unlisted values last)."""
    by_output = {entry.output.id: entry for entry in entries}
    rank = []
    for output_id, listed in priorities.items():
        entry = by_output.get(output_id)
        value = literal_list(getattr(entry, "text", "") or "") if entry is not None else None
        rank.append(listed.index(value[0]) if value and len(value) == 1 and value[0] in listed else len(listed))
    return tuple(rank)


class DmnParserMixin:
    """For a ``BpmnDmnParser`` subclass: business rule tasks get a :class:`HitPolicyEngine` on a prepared table,
    and DMN files are read whatever prefix their elements use."""

    def add_dmn_xml(self, node: Any, filename: str | None = None) -> None:
        # SpiffWorkflow reads DMN through the prefix "dmn", bound only when the file's namespace is the
        # default one or is itself prefixed "dmn:"; a file written as <semantic:definitions> (the DMN TCK,
        # Signavio) made every lookup fail with lxml's "Undefined namespace prefix".
        saved = self.namespaces  # type: ignore[has-type]
        self.namespaces = {**saved, "dmn": etree.QName(node).namespace}
        try:
            super().add_dmn_xml(node, filename)  # type: ignore[misc]
        finally:
            self.namespaces = saved

    def get_engine(self, decision_ref: str, node: Any) -> DMNEngine:
        if not decision_ref:  # SpiffWorkflow would say 'No DMN Diagram available with id "None"'
            available = ", ".join(sorted(self.dmn_parsers)) or "（无）"  # type: ignore[attr-defined]
            raise ValidationException(
                f"业务规则任务没有指定决策表：请在任务的 <bpmn:extensionElements> 中写 <spiffworkflow:calledDecisionId>决策 id"
                f"</spiffworkflow:calledDecisionId>（本次部署中的决策：{available}） (the business rule task names no decision: "
                f"write <spiffworkflow:calledDecisionId>decision id</spiffworkflow:calledDecisionId>)", node=node, file_name="")
        engine = super().get_engine(decision_ref, node)  # type: ignore[misc]
        prepare_table(engine.decision_table, self.dmn_parsers[decision_ref].node)  # type: ignore[attr-defined]
        return HitPolicyEngine(engine.decision_table)


def honour_hit_policies(specs: Iterable[Any]) -> None:
    """Give every business rule task of these process specs a :class:`HitPolicyEngine` (in place)."""
    for spec in specs:
        for task_spec in spec.task_specs.values():
            engine = getattr(task_spec, "dmnEngine", None)
            if engine is not None and not isinstance(engine, HitPolicyEngine):
                task_spec.dmnEngine = HitPolicyEngine(engine.decision_table)
