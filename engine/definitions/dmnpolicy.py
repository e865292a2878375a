"""Deploy-time checks that a decision table can run under its hit policy, and FEEL in its cells.

hitpolicy.py runs every DMN hit policy; some tables still cannot be run as written, and are refused
here with the file, the line and what to write instead:

- PRIORITY and OUTPUT ORDER order matches by the outputs' ``outputValues`` lists (highest priority
  first, DMN 1.3 §8.2.11): a table with no such list has no priority, and a rule whose output is not
  one of the listed values has none either;
- an aggregation (SUM, MIN, MAX, COUNT) belongs to COLLECT only and to a table with exactly one
  output (the standard: "decision tables with compound outputs do not support aggregation"); SUM
  adds numbers, so a literal output that is not a number is refused;
- every output needs a ``name`` (or a label) that a later expression can read as a variable: it is
  the key the business rule task writes into the case data;
- FEEL or JUEL in an input cell, input expression or output cell (feel.py): refused with the Python
  to write, because zhifa evaluates cells as Python, and FEEL such as ``true`` or ``"a","b"`` would
  otherwise deploy and then fail or match wrongly.
"""

from __future__ import annotations

from typing import Any

from engine.definitions.feel import cell_hint, expression_hint, hint_message
from engine.definitions.hitpolicy import AGGREGATIONS, ORDERED_BY_OUTPUT, POLICIES, literal_list, output_priorities
from engine.definitions.problems import Problem
from engine.definitions.xmlnames import local_name

_POLICY_NAMES = ("UNIQUE（唯一命中）、FIRST（首条命中）、PRIORITY（按输出值优先级）、ANY（命中规则输出须相同）、"
                 "COLLECT（收集全部，可加 SUM/MIN/MAX/COUNT 汇总）、RULE ORDER（按规则顺序列出）、OUTPUT ORDER（按输出值优先级列出）")


def policy_problems(path: str, table: Any, name: str) -> list[Problem]:
    """Problems of one ``decisionTable`` element under its hit policy and aggregation."""
    policy = (table.get("hitPolicy") or "UNIQUE").upper()
    aggregation = (table.get("aggregation") or "").upper()
    outputs = [child for child in table if local_name(child) == "output"]
    rules = [child for child in table if local_name(child) == "rule"]

    def at(message: str, element: Any = table) -> Problem:
        return Problem(path, f"决策表「{name}」{message}", line=element.sourceline, element=element.get("id"), kind="lint")

    if policy not in POLICIES:
        return [at(f"的命中策略 {policy} 不存在；可用的命中策略为 {_POLICY_NAMES} "
                   f"(unknown hit policy {policy}; use one of {', '.join(POLICIES)})")]
    problems = [at(m, o) for o, m in _output_name_problems(outputs)]
    if aggregation:
        if policy != "COLLECT":
            problems.append(at(f"的汇总方式 aggregation=\"{aggregation}\" 只能与命中策略 COLLECT 一起使用；"
                               f"请将 hitPolicy 改为 COLLECT 或删除 aggregation (aggregation {aggregation} requires hitPolicy COLLECT)"))
        elif aggregation not in AGGREGATIONS:
            problems.append(at(f"的汇总方式 {aggregation} 不存在；可用 SUM、MIN、MAX、COUNT (unknown aggregation {aggregation})"))
        elif len(outputs) != 1:
            problems.append(at(f"使用 COLLECT {aggregation} 汇总时只能有一个输出列（现有 {len(outputs)} 个）；请拆分决策表，或去掉汇总改为 "
                               f"COLLECT 列表 (COLLECT {aggregation} needs exactly one output, the table has {len(outputs)})"))
        elif aggregation == "SUM":
            for rule in rules:
                value = _literal_output(rule, 0)
                if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                    problems.append(at(f"使用 COLLECT SUM 求和，但规则 {rules.index(rule) + 1} 的输出 {value!r} 不是数字 "
                                       f"(COLLECT SUM adds numbers; rule {rules.index(rule) + 1} outputs {value!r})", rule))
    if policy in ORDERED_BY_OUTPUT:
        problems += _priority_problems(at, policy, outputs, rules, table)
    return problems


def _priority_problems(at: Any, policy: str, outputs: list[Any], rules: list[Any], table: Any) -> list[Problem]:
    priorities = output_priorities(table)
    if not priorities:
        return [at(f"的命中策略 {policy} 按输出值的优先级排序，但没有任何输出列声明输出值列表：请在输出列中写 "
                   f'<outputValues><text>"高","中","低"</text></outputValues>，优先级高的值在前 '
                   f"({policy} orders matches by the output values list: declare <outputValues> on the output, highest priority first)")]
    problems = []
    for number, rule in enumerate(rules, start=1):
        for index, output in enumerate(outputs):
            listed = priorities.get(output.get("id"))
            if listed is None:
                continue
            value = _literal_output(rule, index)
            if value is None or value not in listed:
                shown = _output_text(rule, index) or "（空）"
                problems.append(at(
                    f"的命中策略为 {policy}，但规则 {number} 在输出列「{output.get('name') or output.get('label') or output.get('id')}」"
                    f"的值 {shown} 不在其输出值列表 {', '.join(repr(v) for v in listed)} 中，无法确定优先级：请写列表中的一个值 "
                    f"({policy}: rule {number} outputs {shown}, which is not in the output values list)", rule))
    return problems


def _output_name_problems(outputs: list[Any]) -> list[tuple[Any, str]]:
    problems = []
    for number, output in enumerate(outputs, start=1):
        key = output.get("name") or output.get("label") or ""
        if not key.strip():
            problems.append((output, f"的第 {number} 个输出列没有名称：业务规则任务按输出列的 name 把结果写入案件数据，请填写 "
                                     f'name="变量名"（例如 name="result"） (output {number} has no name: set name="..." — it is the '
                                     f"case-data variable the result is written to)"))
        elif not all(part.isidentifier() for part in key.split(".")):
            problems.append((output, f"的输出列名称「{key}」不能作为变量名（不能含空格或标点）：请填写 name 属性，例如 "
                                     f'name="{_identifier(key)}" (output "{key}" is not a variable name: set name="{_identifier(key)}")'))
    return problems


def _identifier(text: str) -> str:
    cleaned = "".join(c if c.isalnum() else "_" for c in text.strip()).strip("_") or "result"
    return cleaned if cleaned.isidentifier() else f"v_{cleaned}"


def feel_problems(path: str, table: Any) -> list[Problem]:
    """FEEL/JUEL in the table's input expressions, input cells and output cells."""
    problems = []
    inputs = [child for child in table if local_name(child) == "input"]
    expressions = []
    for item in inputs:
        expression = next((child for child in item if local_name(child) == "inputExpression"), None)
        text = _text(expression) if expression is not None else ""
        expressions.append(text)
        hint = expression_hint(text) if text else None
        if hint is not None:
            problems.append(Problem(path, hint_message(hint, text, "input"), line=expression.sourceline,
                                    element=item.get("id"), kind="expression"))
    for rule in (child for child in table if local_name(child) == "rule"):
        for index, entry in enumerate(e for e in rule if local_name(e) == "inputEntry"):
            text = _text(entry)
            hint = cell_hint(text, expressions[index] if index < len(expressions) else "")
            if hint is not None:
                problems.append(Problem(path, hint_message(hint, text, "cell"), line=entry.sourceline,
                                        element=rule.get("id"), kind="expression"))
        for entry in (e for e in rule if local_name(e) == "outputEntry"):
            text = _text(entry)
            hint = expression_hint(text) if text else None
            if hint is not None:
                problems.append(Problem(path, hint_message(hint, text, "output"), line=entry.sourceline,
                                        element=rule.get("id"), kind="expression"))
    return problems


def _literal_output(rule: Any, index: int) -> Any:
    value = literal_list(_output_text(rule, index))
    return value[0] if value and len(value) == 1 else None


def _output_text(rule: Any, index: int) -> str:
    entries = [e for e in rule if local_name(e) == "outputEntry"]
    return _text(entries[index]) if index < len(entries) else ""


def _text(element: Any) -> str:
    return next((child.text or "" for child in element if local_name(child) == "text"), "").strip()
