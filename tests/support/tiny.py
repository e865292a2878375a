"""Tiny one-process BPMN files (and DMN files) written inline, deployed beside the mini bundle: what
the deploy-runnable tests refuse or run (tests/support/bundles.py ``rejected`` checks nothing was written)."""

from __future__ import annotations

from typing import Any

from engine.definitions import Bundle, BundleFile
from tests.support.bundles import BPMN_NS, mini_bundle, rejected

TINY = "processes/tiny.bpmn"
TINY_DMN = "processes/tiny.dmn"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
DMN_NS = "https://www.omg.org/spec/DMN/20191111/MODEL/"


def script(node_id: str, code: str = "x = 1") -> str:
    return f'<bpmn:scriptTask id="{node_id}" name="计算{node_id}"><bpmn:script>{code}</bpmn:script></bpmn:scriptTask>'


def chain(*nodes: tuple[str, str], start: str = "start", end: str = "end") -> str:
    """``start`` → each (id, xml) node in turn → ``end``, one sequence flow between each pair."""
    ids = [start, *(node_id for node_id, _xml in nodes), end]
    body = [f'<bpmn:startEvent id="{start}"/>', *(xml for _id, xml in nodes), f'<bpmn:endEvent id="{end}"/>']
    pairs = enumerate(zip(ids, ids[1:], strict=False))
    body += [f'<bpmn:sequenceFlow id="{start}_f{i}" sourceRef="{a}" targetRef="{b}"/>' for i, (a, b) in pairs]
    return "\n".join(body)


def definitions(*processes: str, before: str = "") -> str:
    """A BPMN file: ``before`` (messages, data stores…) then the ``<process>`` elements, one per line."""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="{BPMN_NS}" xmlns:spiffworkflow="{SPIFF_NS}" '
            f'id="tiny_defs" targetNamespace="http://zhifa.test/tiny">\n{before}\n' + "\n".join(processes) + "\n</bpmn:definitions>\n")


def process(body: str, process_id: str = "tiny", executable: bool = True) -> str:
    return f'<bpmn:process id="{process_id}" name="小流程{process_id}" isExecutable="{str(executable).lower()}">\n{body}\n</bpmn:process>'


def tiny(body: str, **kwargs: Any) -> str:
    """A file with one process ``tiny`` holding ``body``."""
    return definitions(process(body, **kwargs))


def with_tiny(text: str, *more: tuple[str, str]) -> Bundle:
    """The mini bundle plus processes/tiny.bpmn (and other ``(path, text)`` files)."""
    return mini_bundle().replace([BundleFile(TINY, text.encode("utf-8")), *(BundleFile(p, t.encode("utf-8")) for p, t in more)])


def refused(text: str, *more: tuple[str, str]) -> list[dict[str, Any]]:
    """Deploy mini + tiny, expect the refusal (nothing written); return the problems."""
    return rejected(with_tiny(text, *more))


def line(text: str, needle: str) -> int:
    assert text.count(needle) == 1, f"{needle!r} must occur once"
    return text[: text.index(needle)].count("\n") + 1


def only(details: list[dict[str, Any]], element: str, file: str = TINY) -> dict[str, Any]:
    """The one problem on ``element`` of ``file``."""
    found = [d for d in details if d["file"] == file and d["element"] == element]
    assert len(found) == 1, f"expected one problem on {element}: {details}"
    return found[0]


def dmn(*decisions: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<definitions xmlns="{DMN_NS}" id="tiny_dmn" name="小决策" '
            'namespace="http://zhifa.test/tiny">\n' + "\n".join(decisions) + "\n</definitions>\n")


def decision(decision_id: str, output: str, value: str, table_id: str | None = "auto") -> str:
    """A one-rule table ``decision_id`` setting ``output`` to ``value`` for any input."""
    table = f' id="{decision_id}_table"' if table_id == "auto" else (f' id="{table_id}"' if table_id else "")
    return (f'<decision id="{decision_id}" name="决策{decision_id}">\n'
            f'<decisionTable{table} hitPolicy="UNIQUE">\n'
            f'<input id="{decision_id}_in"><inputExpression id="{decision_id}_expr" typeRef="number"><text>1</text>'
            "</inputExpression></input>\n"
            f'<output id="{decision_id}_out" name="{output}" typeRef="string"/>\n'
            f'<rule id="{decision_id}_rule"><inputEntry id="{decision_id}_ie"><text>-</text></inputEntry>'
            f'<outputEntry id="{decision_id}_oe"><text>{value}</text></outputEntry></rule>\n'
            "</decisionTable>\n</decision>")


def rule_task(node_id: str, decision_id: str) -> str:
    return (f'<bpmn:businessRuleTask id="{node_id}"><bpmn:extensionElements><spiffworkflow:calledDecisionId>{decision_id}'
            "</spiffworkflow:calledDecisionId></bpmn:extensionElements></bpmn:businessRuleTask>")

