"""Deploy-time checks of decision tables: policy, FEEL in cells, and overlapping rules.

hitpolicy.py runs every DMN hit policy; dmnpolicy.py refuses what cannot run under its policy (a
PRIORITY table without output values, an aggregation over several outputs, an output without a
name) and FEEL/JUEL cells, with the Python to write. Here, rules that overlap are refused where the
policy forbids it, with the file and line of the rule:

- UNIQUE: two rules that match the same input. SpiffWorkflow runs UNIQUE as "first match" without
  checking, so an overlapping UNIQUE table would silently depend on its order. The input is shown.
- ANY: two rules that match the same input and give different outputs (the standard allows
  overlapping ANY rules only when their outputs are equal). At run time differing matches stop the
  task with an error (hitpolicy.py); this finds them before a case does.

How overlap is decided: every input cell is a Python expression of one column's input value (``?``,
or a value compared for equality, or an operator-led test such as ``>= 10000``, exactly as
SpiffWorkflow's ``DMNEngine.evaluate`` reads it). Cells are evaluated, with the restricted evaluator,
on sample values derived from the literals written in the column: each literal, numbers one unit and
one cent either side, ``True``/``False``, ``None`` and a string no cell names. Since a cell reads
only its own column, two rules overlap exactly when, in every column, some sample satisfies both
cells. The check is conservative: it reports an overlap only with a witness input on which both
rules really match; a cell that cannot be evaluated on a sample (it reads other task data, or fails)
counts as not matching it, so no overlap is claimed from it.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

from engine.definitions.dmnpolicy import feel_problems, policy_problems
from engine.definitions.problems import Problem
from engine.definitions.xmlnames import local_name
from engine.expressions import RestrictedEnvironment

PLACEHOLDER = "dmninputexpr"  # the name SpiffWorkflow's DMNEngine substitutes for "?"
OTHER = "（其他值）"  # a string no cell names
MAX_EVALUATIONS = 100_000  # cells × samples per table; beyond this the table is not worth the deploy's time
MAX_REPORTED = 10  # overlapping pairs reported per table
_QUESTION_MARK = re.compile(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")  # "?" outside quotes, as DMNEngine


def check_decision_tables(path: str, root: Any) -> list[Problem]:
    """Problems of every decision table in one DMN file (its lxml root, with source lines)."""
    problems: list[Problem] = []
    for element in root.iter():
        if local_name(element) == "decisionTable":
            problems += _check_table(path, element)
    return problems


@dataclass
class _Column:
    label: str
    type_ref: str
    samples: list[Any]


@dataclass
class _Rule:
    number: int
    id: str
    description: str
    line: int | None
    cells: list[str | None]  # None: "-", any value
    outputs: tuple[str, ...] = ()  # the output cells' text, as written


def _check_table(path: str, table: Any) -> list[Problem]:
    decision = table.getparent()
    name = decision.get("name") or decision.get("id") or table.get("id") or ""
    policy = (table.get("hitPolicy") or "UNIQUE").upper()
    problems = policy_problems(path, table, name) + feel_problems(path, table)
    if policy not in ("UNIQUE", "ANY"):
        return problems
    columns, rules = _read(table)
    if not rules or not columns:
        return problems
    if len(rules) * sum(len(c.samples) for c in columns) > MAX_EVALUATIONS:
        if policy == "ANY":
            return problems  # differing matches still stop the task at run time (hitpolicy.py)
        return problems + [Problem(
            path,
            f"决策表「{name}」规则过多，无法校验 {policy} 命中策略下规则是否重叠：请将命中策略改为 FIRST，或者拆分决策表 "
            f"(too large to check that its {policy} rules do not overlap: declare hitPolicy FIRST or split the table)",
            line=table.sourceline, element=table.get("id"), kind="lint")]
    masks = _match_masks(columns, rules)
    overlaps = 0
    for j, later in enumerate(rules):
        for i in range(j):
            if policy == "ANY" and rules[i].outputs == later.outputs:
                continue  # ANY: overlapping rules may agree
            witness = _witness(columns, masks[i], masks[j])
            if witness is None:
                continue
            overlaps += 1
            if overlaps <= MAX_REPORTED:
                problems.append(_overlap_problem(path, name, policy, rules[i], later, columns, witness))
    if overlaps > MAX_REPORTED:
        problems.append(Problem(
            path, f"决策表「{name}」另有 {overlaps - MAX_REPORTED} 处规则重叠未逐一列出 "
                  f"({overlaps - MAX_REPORTED} more overlapping pairs not listed)",
            line=table.sourceline, element=table.get("id"), kind="lint"))
    return problems


def _read(table: Any) -> tuple[list[_Column], list[_Rule]]:
    inputs = [child for child in table if local_name(child) == "input"]
    rule_elements = [child for child in table if local_name(child) == "rule"]
    rules = []
    for number, element in enumerate(rule_elements, start=1):
        cells = [_cell_text(entry) for entry in element if local_name(entry) == "inputEntry"]
        description = next((child.text or "" for child in element if local_name(child) == "description"), "")
        outputs = tuple(" ".join((_cell_text(entry) or "").split()) for entry in element if local_name(entry) == "outputEntry")
        rules.append(_Rule(number, element.get("id") or "", description.strip(), element.sourceline,
                           cells + [None] * (len(inputs) - len(cells)), outputs))
    columns = []
    for index, element in enumerate(inputs):
        expression = next((child for child in element if local_name(child) == "inputExpression"), None)
        text = next((child.text or "" for child in expression if local_name(child) == "text"), "") if expression is not None else ""
        type_ref = (expression.get("typeRef") if expression is not None else "") or ""
        label = element.get("label") or text.strip() or f"第 {index + 1} 列"
        columns.append(_Column(label, type_ref.lower(), _samples([r.cells[index] for r in rules], type_ref.lower())))
    return columns, rules


def _cell_text(entry: Any) -> str | None:
    text = next((child.text or "" for child in entry if local_name(child) == "text"), "").strip()
    return None if text in ("", "-") else text


def _samples(cells: list[str | None], type_ref: str) -> list[Any]:
    """Sample values of one column: its literals first (readable witnesses), then their neighbours."""
    literals: list[Any] = []
    for cell in cells:
        if cell is None:
            continue
        try:
            tree = ast.parse(_expression(cell), mode="eval")
        except SyntaxError:
            continue
        literals += [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)]
    numbers = [v for v in literals if isinstance(v, int | float) and not isinstance(v, bool)]
    neighbours = [n + d for n in numbers for d in (-1, -0.01, 0.01, 1)]
    extra: list[Any] = [True, False] if type_ref == "boolean" or any(isinstance(v, bool) for v in literals) else []
    if numbers or type_ref in ("number", "integer", "long", "double"):
        extra.append(0)
    if type_ref == "string" or any(isinstance(v, str) for v in literals):
        extra.append(OTHER)
    extra.append(None)
    samples: list[Any] = []
    seen: set[tuple[str, Any]] = set()
    for value in [*literals, *neighbours, *extra]:
        key = (type(value).__name__, value)
        if isinstance(value, str | int | float | bool | type(None)) and key not in seen:
            seen.add(key)
            samples.append(value)
    return samples


def _expression(cell: str) -> str:
    """The test SpiffWorkflow's DMNEngine makes of a cell, on the input value named PLACEHOLDER."""
    replaced = _QUESTION_MARK.sub(PLACEHOLDER, cell)
    if PLACEHOLDER in replaced:
        return replaced
    try:
        ast.parse(cell, mode="eval")
    except SyntaxError:
        return f"{PLACEHOLDER} {cell}"  # an operator-led cell: ">= 10000"
    return f"({PLACEHOLDER}) == ({cell})"


def _match_masks(columns: list[_Column], rules: list[_Rule]) -> list[list[int]]:
    """For each rule and column, a bit mask of the samples the cell accepts."""
    environment = RestrictedEnvironment()
    everything = [(1 << len(c.samples)) - 1 for c in columns]
    masks = []
    for rule in rules:
        row = []
        for index, column in enumerate(columns):
            cell = rule.cells[index]
            if cell is None:
                row.append(everything[index])
                continue
            expression, mask = _expression(cell), 0
            for bit, value in enumerate(column.samples):
                if _accepts(environment, expression, value):
                    mask |= 1 << bit
            row.append(mask)
        masks.append(row)
    return masks


def _accepts(environment: RestrictedEnvironment, expression: str, value: Any) -> bool:
    try:
        return bool(environment.evaluate(expression, {PLACEHOLDER: value}))
    except Exception:  # noqa: BLE001 - a cell that cannot read this value does not match it
        return False


def _witness(columns: list[_Column], first: list[int], second: list[int]) -> list[Any] | None:
    """One input on which both rules match (None for a column any value satisfies), or None."""
    witness: list[Any] = []
    for index, column in enumerate(columns):
        both = first[index] & second[index]
        if not both:
            return None
        everything = (1 << len(column.samples)) - 1
        if first[index] == everything and second[index] == everything:
            witness.append(_ANY)
        else:
            witness.append(column.samples[(both & -both).bit_length() - 1])  # the lowest bit: literals come first
    return witness


class _Any:
    pass


_ANY = _Any()


def _overlap_problem(path: str, name: str, policy: str, first: _Rule, second: _Rule, columns: list[_Column],
                     witness: list[Any]) -> Problem:
    shown = [(c.label, v) for c, v in zip(columns, witness, strict=True) if v is not _ANY]
    chinese = "、".join(f"{label} = {_show(value)}" for label, value in shown) or "任意输入"
    english = ", ".join(f"{label} = {_show(value)}" for label, value in shown) or "any input"
    if policy == "ANY":
        return Problem(
            path,
            f"决策表「{name}」的命中策略为 ANY（允许多条规则同时命中，但输出必须相同），但规则 {first.number}{_about(first)}与规则 "
            f"{second.number}{_about(second)}在 {chinese} 时同时命中且输出不同。请让两条规则的输出一致或使其互不重叠；如果规则"
            f"本应自上而下、首条命中生效，请将命中策略声明为 FIRST "
            f"(ANY table: rules {first.number} and {second.number} both match for {english} with different outputs; make the "
            f"outputs equal or the rules disjoint, or declare hitPolicy=\"FIRST\")",
            line=second.line, element=second.id or None, kind="lint")
    return Problem(
        path,
        f"决策表「{name}」的命中策略为 UNIQUE（只允许一条规则命中），但规则 {first.number}{_about(first)}与规则 "
        f"{second.number}{_about(second)}重叠：当 {chinese} 时两条规则同时命中。请修改规则使其互不重叠；如果规则"
        f"本应自上而下、首条命中生效，请将命中策略声明为 FIRST "
        f"(UNIQUE table: rules {first.number} and {second.number} both match for {english}; make them disjoint, "
        f"or declare hitPolicy=\"FIRST\" if the first match is meant to decide)",
        line=second.line, element=second.id or None, kind="lint")


def _about(rule: _Rule) -> str:
    return f"（{rule.description}）" if rule.description else ""


def _show(value: Any) -> str:
    if value == OTHER:
        return "其他任一值"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, str) else str(value)
