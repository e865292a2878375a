"""The shape of a DMN file SpiffWorkflow can read: one decision table per decision, every part with an id.

SpiffWorkflow 3.2 reads only the first ``<decision>`` of a file (a second one fails with
``AttributeError: 'list' object has no attribute 'tag'``), reads every decision table part by
``attrib['id']`` (a missing id is ``KeyError('id')``), and fails with ``IndexError`` on a decision
that is a literal expression rather than a table. Camunda Modeler and Signavio write several decisions
into one file, so :func:`split_decisions` gives SpiffWorkflow one copy of the file per decision (each
keeps its line numbers); what cannot run is refused by :func:`check_dmn_shape` with file, line, element
and the fix. Decision requirements (one decision feeding another) are not evaluated by SpiffWorkflow:
the requiring decision would read a name nobody set, so they are refused too.
"""

from __future__ import annotations

import copy
from typing import Any

from engine.definitions.problems import Problem
from engine.definitions.xmlnames import local_name

# Parts SpiffWorkflow reads by id (DMNParser), with what a designer calls them.
_NEEDS_ID = {"decision": "决策 decision", "decisionTable": "决策表 decisionTable", "input": "输入列 input",
             "output": "输出列 output", "rule": "规则 rule", "inputEntry": "输入单元格 inputEntry",
             "outputEntry": "输出单元格 outputEntry"}


def check_dmn_shape(path: str, root: Any) -> list[Problem]:
    """Every reason SpiffWorkflow could not build (or would misrun) the decisions of one DMN file."""
    problems: list[Problem] = []
    decisions = _children(root, "decision")
    if not decisions:
        problems.append(Problem(path, "DMN 文件中没有决策 decision：请至少定义一个含决策表的决策 (the DMN file defines no "
                                      "decision: add a decision with a decision table)", line=root.sourceline, kind="reference"))
    for node in root.iter():
        kind = local_name(node)
        if kind in _NEEDS_ID and _in_dmn(node, root) and not (node.get("id") or "").strip():
            owner = _nearest_id(node.getparent()) if node.getparent() is not None else None
            where_zh, where_en = (f"（位于 {owner}）", f" (in {owner})") if owner else ("", "")
            problems.append(Problem(
                path, f"{_NEEDS_ID[kind]} 缺少 id 属性{where_zh}：请在设计器中为它设置 id，或在 XML 中加 id=\"…\" "
                      f"(a {kind}{where_en} has no id attribute: give it an id in the modeler, or add id=\"…\" in the XML)",
                line=node.sourceline, element=_nearest_id(node), kind="reference"))
    for decision in decisions:
        name = decision.get("name") or decision.get("id") or ""
        if not _children(decision, "decisionTable"):
            problems.append(Problem(
                path, f"决策“{name}”不是决策表（例如文字表达式 literalExpression）：zhifa 只运行决策表，请改为 decisionTable "
                      f"(decision '{decision.get('id')}' is not a decision table, e.g. a literal expression: zhifa runs decision "
                      "tables only; make it a decisionTable)", line=decision.sourceline, element=decision.get("id"), kind="reference"))
        for required in decision.iter(_tag(root, "requiredDecision")):
            other = (required.get("href") or "").lstrip("#")
            problems.append(Problem(
                path, f"决策“{name}”依赖决策“{other}”的结果，但 zhifa 一次只计算一个决策表：请在它之前用单独的业务规则任务调用“{other}”，"
                      f"并删除此依赖 (decision '{decision.get('id')}' requires decision '{other}', which zhifa does not evaluate "
                      f"for it: call '{other}' in its own business rule task before, and remove the requirement)",
                line=required.sourceline, element=decision.get("id"), kind="reference"))
    return problems


def split_decisions(root: Any) -> list[Any]:
    """One tree per decision (the others removed), as SpiffWorkflow reads one decision per file."""
    decisions = _children(root, "decision")
    if len(decisions) <= 1:
        return [root]
    trees = []
    for keep in range(len(decisions)):
        tree = copy.deepcopy(root)  # lxml keeps source lines in the copy
        for index, decision in enumerate(_children(tree, "decision")):
            if index != keep:
                tree.remove(decision)
        trees.append(tree)
    return trees


def _children(node: Any, kind: str) -> list[Any]:
    return [child for child in node if local_name(child) == kind]


def _tag(root: Any, kind: str) -> str:
    namespace = root.tag.rsplit("}", 1)[0].lstrip("{") if root.tag.startswith("{") else ""
    return f"{{{namespace}}}{kind}" if namespace else kind


def _in_dmn(node: Any, root: Any) -> bool:
    return node.tag == _tag(root, local_name(node))


def _nearest_id(node: Any) -> str | None:
    while node is not None:
        if node.get("id"):
            return str(node.get("id"))
        node = node.getparent()
    return None
