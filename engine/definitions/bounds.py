"""Size limits of a deployed diagram, checked on the lxml tree before SpiffWorkflow sees it.

Every case start builds the task tree of its process while holding the write lock: a process with
10,000 parallel tasks takes seconds per case for everyone. The shipped library is far below these
limits (the largest process, ordinary.bpmn, has 51 flow nodes and no parallel split wider than 2);
a diagram beyond them is refused by counting elements, which takes milliseconds where XSD
validation and parsing would take seconds.
"""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass
from typing import Any

from engine.definitions.problems import Problem

MAX_FLOW_NODES = 500  # per process, its embedded subprocesses included
MAX_FAN_OUT = 50  # outgoing sequence flows of one element (a parallel or inclusive split, or an implicit one)
MAX_CARDINALITY = 100  # a multi-instance activity's literal loopCardinality
MAX_BUNDLE_FLOW_NODES = 5_000  # all processes of one deployment together
MAX_FILE_ELEMENTS = 20_000  # XML elements of one BPMN or DMN file, diagram shapes included

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
FLOW_NODES = frozenset(f"{{{BPMN}}}{name}" for name in (
    "task", "userTask", "manualTask", "serviceTask", "scriptTask", "businessRuleTask", "sendTask", "receiveTask",
    "callActivity", "subProcess", "adHocSubProcess", "transaction",
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent", "implicitThrowEvent",
    "exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway",
))
SEQUENCE_FLOW = f"{{{BPMN}}}sequenceFlow"
PROCESS = f"{{{BPMN}}}process"
CARDINALITY = f"{{{BPMN}}}loopCardinality"


@dataclass
class BundleCount:
    """Flow nodes counted so far over the files of one bundle."""

    flow_nodes: int = 0
    reported: bool = False


def check_diagram(path: str, root: Any, total: BundleCount) -> list[Problem]:
    """Problems of one parsed BPMN/DMN file against the limits; an empty list lets parsing go on."""
    problems: list[Problem] = []
    elements = sum(1 for e in root.iter() if isinstance(e.tag, str))
    if not path.endswith(".bpmn"):
        if elements > MAX_FILE_ELEMENTS:
            problems.append(_file_too_large(path, elements))
        return problems
    file_nodes = 0
    for process in root.iter(PROCESS):
        process_id = process.get("id") or "?"
        nodes = [e for e in process.iter() if e.tag in FLOW_NODES]
        file_nodes += len(nodes)
        if len(nodes) > MAX_FLOW_NODES:
            problems.append(Problem(
                path,
                f"流程 '{process_id}' 有 {len(nodes)} 个流程节点，超过上限 {MAX_FLOW_NODES} 个；请拆分为多个流程（调用活动） "
                f"(process '{process_id}' has {len(nodes)} flow nodes, more than the limit of {MAX_FLOW_NODES})",
                line=process.sourceline, element=process_id, kind="limit",
            ))
        fan_out = Counter(flow.get("sourceRef") for flow in process.iter(SEQUENCE_FLOW))
        for source, count in sorted(fan_out.items(), key=lambda kv: str(kv[0])):
            if count > MAX_FAN_OUT:
                element = next((e for e in nodes if e.get("id") == source), None)
                problems.append(Problem(
                    path,
                    f"流程 '{process_id}' 中 '{source}' 有 {count} 条出口顺序流，超过上限 {MAX_FAN_OUT} 条 "
                    f"(element '{source}' of process '{process_id}' has {count} outgoing flows, more than {MAX_FAN_OUT})",
                    line=element.sourceline if element is not None else process.sourceline, element=source, kind="limit",
                ))
        for cardinality in process.iter(CARDINALITY):
            value = _literal_int(cardinality.text)
            if value is not None and value > MAX_CARDINALITY:
                activity = cardinality.getparent().getparent()
                activity_id = activity.get("id") if activity is not None else None
                problems.append(Problem(
                    path,
                    f"流程 '{process_id}' 中多实例活动 '{activity_id}' 的实例数 {value} 超过上限 {MAX_CARDINALITY} "
                    f"(multi-instance activity '{activity_id}' of process '{process_id}' has cardinality {value}, "
                    f"more than {MAX_CARDINALITY})",
                    line=cardinality.sourceline, element=activity_id or process_id, kind="limit",
                ))
    if problems:  # refused on its own: the bundle's total is not blamed on the files that follow
        return problems
    total.flow_nodes += file_nodes
    if total.flow_nodes > MAX_BUNDLE_FLOW_NODES and not total.reported:
        total.reported = True
        problems.append(Problem(
            path,
            f"部署中的流程节点总数超过上限 {MAX_BUNDLE_FLOW_NODES} 个（计至此文件为 {total.flow_nodes} 个） "
            f"(the bundle has more than {MAX_BUNDLE_FLOW_NODES} flow nodes in all)",
            kind="limit",
        ))
    if elements > MAX_FILE_ELEMENTS:
        problems.append(_file_too_large(path, elements))
    return problems


def _file_too_large(path: str, elements: int) -> Problem:
    return Problem(path, f"文件有 {elements} 个 XML 元素，超过上限 {MAX_FILE_ELEMENTS} 个 "
                         f"(the file has {elements} XML elements, more than the limit of {MAX_FILE_ELEMENTS})", kind="limit")


def _literal_int(text: str | None) -> int | None:
    """The value of a cardinality written as an integer literal (an expression is decided at run time)."""
    try:
        node = ast.parse((text or "").strip(), mode="eval").body
    except (SyntaxError, ValueError):
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value
    return None

