"""Reachability: every element can be reached from a start event, and can still reach an end event.

SpiffWorkflow runs whatever tokens reach; an element no sequence flow leads to is silently never run
(校验 used to report "校验通过" for such a diagram), and a branch or loop with no way out leaves the case
open for ever. Both are checked per process and per embedded subprocess, on the XML sequence flows:
a boundary event is reached from the activity it is attached to, a link throw event leads to the
catch event of the same name, and an event subprocess is entered by its own start event (it has no
incoming flow and is checked as a scope of its own). Compensation handlers (``isForCompensation``)
and compensation boundary events are reached by association, not flow, and are left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from engine.definitions.problems import Problem
from engine.definitions.xmlnames import local_name

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NS = {"bpmn": BPMN}
_SCOPES = ("process", "subProcess", "transaction", "adHocSubProcess")
_NODES = frozenset({
    "startEvent", "endEvent", "boundaryEvent", "intermediateCatchEvent", "intermediateThrowEvent",
    "task", "userTask", "manualTask", "scriptTask", "serviceTask", "businessRuleTask", "sendTask", "receiveTask",
    "callActivity", "subProcess", "transaction", "adHocSubProcess",
    "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway",
})


def check_graphs(trees: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    for path, root in sorted(trees.items()):
        if path.endswith(".bpmn"):
            for scope in root.iter(*(f"{{{BPMN}}}{kind}" for kind in _SCOPES)):
                problems += _check_scope(path, scope)
    return problems


def _check_scope(path: str, scope: Any) -> list[Problem]:
    nodes = {n.get("id"): n for n in scope if local_name(n) in _NODES and n.get("id") and not _exempt(n)}
    if not nodes or local_name(scope) == "adHocSubProcess":  # ad-hoc activities need no flows
        return []
    succ: dict[str, set[str]] = {i: set() for i in nodes}
    pred: dict[str, set[str]] = {i: set() for i in nodes}

    def link(a: str | None, b: str | None) -> None:
        if a in nodes and b in nodes:
            succ[a].add(b)
            pred[b].add(a)

    incoming: dict[str, int] = dict.fromkeys(nodes, 0)
    outgoing: dict[str, int] = dict.fromkeys(nodes, 0)
    for flow in scope.findall("bpmn:sequenceFlow", NS):
        source, target = flow.get("sourceRef"), flow.get("targetRef")
        link(source, target)
        if source in nodes and target in nodes:
            outgoing[source] += 1
            incoming[target] += 1
    catches: dict[str, list[str]] = {}
    for node_id, node in nodes.items():
        if local_name(node) == "boundaryEvent":
            link(node.get("attachedToRef"), node_id)
        elif local_name(node) == "intermediateCatchEvent":
            for definition in node.findall("bpmn:linkEventDefinition", NS):
                catches.setdefault(definition.get("name") or "", []).append(node_id)
    for node_id, node in nodes.items():
        if local_name(node) == "intermediateThrowEvent":
            for definition in node.findall("bpmn:linkEventDefinition", NS):
                for target in catches.get(definition.get("name") or "", []):
                    link(node_id, target)

    starts = [i for i, n in nodes.items() if local_name(n) == "startEvent"] or [i for i in nodes if not pred[i]]
    ends = [i for i, n in nodes.items() if local_name(n) == "endEvent"]
    reached = _closure(starts, succ)
    alive = _closure(ends, pred)
    problems = []
    for node_id, node in nodes.items():
        name = node.get("name") or node_id
        if node_id not in reached:
            problems.append(Problem(
                path, f"“{name}”从开始事件无法到达，永远不会执行：请用顺序流把它连入流程，或删除它 (element '{node_id}' cannot be "
                      f"reached from a start event of '{scope.get('id')}' and would never run: connect it with a sequence flow, "
                      "or remove it)", line=node.sourceline, element=node_id, kind="lint"))
        elif node_id not in alive and (node_id in starts or any(p in alive for p in pred[node_id])):
            problems.append(Problem(
                path, f"从“{name}”出发无法到达结束事件，案件会停在这里或无限循环：请加一条通往结束事件的顺序流 (no end event of "
                      f"'{scope.get('id')}' can be reached from '{node_id}': the case would stop there or loop for ever; add a "
                      "sequence flow that leads to an end event)", line=node.sourceline, element=node_id, kind="lint"))
    problems += _starved_joins(path, nodes, pred, incoming, outgoing, starts)
    return problems


def _starved_joins(path: str, nodes: dict[str, Any], pred: dict[str, set[str]], incoming: dict[str, int],
                   outgoing: dict[str, int], starts: list[str]) -> list[Problem]:
    """A parallel join waits for a token on every incoming flow; if nothing before it ever makes a
    second token (a parallel or inclusive split, an activity with several outgoing flows, a
    non-interrupting boundary event, several start events), it waits for ever. bpmn.io users often
    join the branches of an exclusive gateway with a parallel one."""
    problems = []
    for node_id, node in nodes.items():
        if local_name(node) != "parallelGateway" or incoming[node_id] < 2:
            continue
        before = _closure(pred[node_id], pred)
        if len(starts) > 1 or any(_splits(nodes[n], outgoing[n]) for n in before):
            continue
        problems.append(Problem(
            path, f"并行网关“{node.get('name') or node_id}”要等 {incoming[node_id]} 条入口都到达才继续，但它之前没有并行分支，"
                  f"只会有一条到达，案件会永远停在这里：汇合排他分支请改用排他网关 exclusiveGateway (parallel join '{node_id}' "
                  f"waits for all {incoming[node_id]} incoming flows, but nothing before it splits the case into parallel "
                  "branches, so only one ever arrives: join exclusive branches with an exclusiveGateway instead)",
            line=node.sourceline, element=node_id, kind="lint"))
    return problems


def _splits(node: Any, outgoing: int) -> bool:
    kind = local_name(node)
    if kind == "boundaryEvent":
        return node.get("cancelActivity") == "false"
    if kind in ("exclusiveGateway", "eventBasedGateway"):
        return False
    return outgoing > 1


def _exempt(node: Any) -> bool:
    if node.get("triggeredByEvent") == "true" or node.get("isForCompensation") == "true":
        return True
    return local_name(node) == "boundaryEvent" and node.find("bpmn:compensateEventDefinition", NS) is not None


def _closure(seeds: Iterable[str], edges: dict[str, set[str]]) -> set[str]:
    seen = set(seeds)
    todo = list(seen)
    while todo:
        for nxt in edges[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen
