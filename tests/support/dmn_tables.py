"""Decision tables written inline for the hit-policy and FEEL tests, and ways to run them: as a business
rule task would (``decide``), through deploy validation (``problems_of``) and through the stored-spec
round trip a running case uses (``stored_engine``)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree

from engine.definitions import Bundle, BundleFile
from engine.definitions.deploy import validate_bundle
from engine.definitions.hitpolicy import HitPolicyEngine, honour_hit_policies
from engine.definitions.parse import BundleParser, parse_bundle
from engine.definitions.serialization import specs_from_json, specs_to_json
from engine.expressions import make_script_engine

DMN13 = "https://www.omg.org/spec/DMN/20191111/MODEL/"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"


def table(policy: str, inputs: list[tuple[str, str]], outputs: list[tuple[str, str | None]], rules: list[tuple[list[str], list[str]]],
          *, aggregation: str | None = None, namespace: str = DMN13, decision: str = "d", extra: str = "") -> str:
    """A DMN file with one decision ``decision`` and one table.

    ``inputs``: (label, expression); ``outputs``: (name, output values or None); ``rules``: (input cells,
    output cells), each cell as the designer types it (escaped here)."""
    aggregated = f' aggregation="{aggregation}"' if aggregation else ""
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<definitions xmlns="{namespace}" id="defs" name="t" namespace="http://zhifa.test/t">',
             f'<decision id="{decision}" name="决策">', f'<decisionTable id="table" hitPolicy="{policy}"{aggregated}>']
    for index, (label, expression) in enumerate(inputs):
        parts.append(f'<input id="in{index}" label="{label}"><inputExpression id="ie{index}"><text>{escape(expression)}</text>'
                     f"</inputExpression></input>")
    for index, (name, values) in enumerate(outputs):
        listed = f"<outputValues><text>{escape(values)}</text></outputValues>" if values else ""
        named = f' name="{name}"' if name else ""
        parts.append(f'<output id="out{index}"{named}>{listed}</output>')
    for number, (cells, results) in enumerate(rules, start=1):
        entries = "".join(f'<inputEntry id="r{number}i{i}"><text>{escape(c)}</text></inputEntry>' for i, c in enumerate(cells))
        entries += "".join(f'<outputEntry id="r{number}o{i}"><text>{escape(c)}</text></outputEntry>' for i, c in enumerate(results))
        parts.append(f'<rule id="rule{number}">\n{entries}</rule>')
    parts += [extra, "</decisionTable>", "</decision>", "</definitions>"]
    return "\n".join(parts)


def fake_task(**data: Any) -> Any:
    """Just what a decision table reads of a business rule task (and what SpiffWorkflow's errors name)."""
    workflow = SimpleNamespace(script_engine=make_script_engine(), spec=SimpleNamespace(file="rt.bpmn"))
    workflow.top_workflow = workflow
    return SimpleNamespace(data=data, workflow=workflow, task_spec=SimpleNamespace(bpmn_name="rule_task"))


def decide(dmn: str, decision: str = "d", **data: Any) -> dict[str, Any]:
    """What a business rule task of a parsed bundle merges into the case data for ``data``."""
    parser = BundleParser()
    parser.add_dmn_xml(etree.fromstring(dmn.encode()), "t.dmn")
    engine = parser.get_engine(decision, None)
    assert type(engine) is HitPolicyEngine
    return engine.result(fake_task(**data))


def rule_task_bpmn(decision: str = "d") -> str:
    """start → business rule task calling ``decision`` → end."""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="{BPMN_NS}" xmlns:spiffworkflow="{SPIFF_NS}" '
            f'id="defs_rt" targetNamespace="http://zhifa.test/rt">\n<bpmn:process id="rt" isExecutable="true">\n'
            f'<bpmn:startEvent id="start"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>\n'
            f'<bpmn:businessRuleTask id="rule_task"><bpmn:extensionElements><spiffworkflow:calledDecisionId>{decision}'
            f"</spiffworkflow:calledDecisionId></bpmn:extensionElements><bpmn:incoming>a</bpmn:incoming><bpmn:outgoing>b</bpmn:outgoing>"
            f"</bpmn:businessRuleTask>\n"
            f'<bpmn:endEvent id="end"><bpmn:incoming>b</bpmn:incoming></bpmn:endEvent>\n'
            f'<bpmn:sequenceFlow id="a" sourceRef="start" targetRef="rule_task"/>\n'
            f'<bpmn:sequenceFlow id="b" sourceRef="rule_task" targetRef="end"/>\n</bpmn:process>\n</bpmn:definitions>')


def bundle_of(dmn: str, bpmn: str | None = None) -> Bundle:
    return Bundle((BundleFile("processes/rt.bpmn", (bpmn or rule_task_bpmn()).encode()), BundleFile("processes/t.dmn", dmn.encode())))


def problems_of(dmn: str, bpmn: str | None = None) -> list[Any]:
    """Every deploy problem of the bundle (needs an app context: lint reads the time-limit registry)."""
    return validate_bundle(bundle_of(dmn, bpmn))[1]


def stored_engine(dmn: str) -> Any:
    """The engine a running case gets: parsed, stored as JSON, loaded back as specs.py loads it."""
    parsed = parse_bundle(bundle_of(dmn))
    assert not parsed.problems, parsed.problems
    spec, subprocess_specs = parsed.specs["rt"]
    loaded = specs_from_json(specs_to_json(spec, subprocess_specs))
    honour_hit_policies([loaded[0], *loaded[1].values()])
    [engine] = [ts.dmnEngine for ts in loaded[0].task_specs.values() if hasattr(ts, "dmnEngine")]
    return engine
