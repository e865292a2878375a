"""The mini procedure bundle (tests/data/mini) and ways to edit it: what the definition tests deploy,
break and expect refused (``rejected`` checks that a refused deployment wrote nothing)."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import func, select

from engine.definitions import Bundle, BundleFile, deploy_bundle
from engine.errors import DeploymentInvalid
from engine.models import ActiveProcess, AuditEvent, Deployment, DeploymentFile, ProcessSpec, db
from tests.conftest import DATA

MINI = DATA / "mini"
MINI_BPMN = "processes/mini.bpmn"
PARENT_BPMN = "processes/mini_parent.bpmn"
MINI_DMN = "processes/mini_review_required.dmn"
CONDITION = "review_required == True"
TIMER = "deadline('statement_period', served_on)"
ESCAPE = "__import__('os').system('id')"
PARTY = {"party_type": "citizen", "party_name": "张三"}


# ---------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------
def xml_text(source: str) -> str:
    """``source`` as XML character data (``<``, ``>``, ``&`` and both quotes escaped)."""
    return escape(source, {'"': "&quot;", "'": "&apos;"})


def mini_bundle() -> Bundle:
    return Bundle.from_directories(MINI / "processes", MINI / "forms")


def original(path: str) -> str:
    return (MINI / path).read_text(encoding="utf-8")


def edited(path: str, *replacements: tuple[str, str]) -> str:
    text = original(path)
    for old, new in replacements:
        assert text.count(old) == 1, f"{old!r} must occur exactly once in {path}"
        text = text.replace(old, new)
    return text


def mutated(path: str, *replacements: tuple[str, str]) -> Bundle:
    """The mini bundle with ``path`` edited by exact, unique string replacements."""
    return with_file(path, edited(path, *replacements))


def with_file(path: str, text: str) -> Bundle:
    return mini_bundle().replace([BundleFile(path, text.encode("utf-8"))])


def line_of(text: str, needle: str) -> int:
    """1-based line of the first occurrence of ``needle``."""
    assert needle in text, needle
    return text[: text.index(needle)].count("\n") + 1


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def deployed_state() -> tuple[Any, ...]:
    """Everything a deployment writes, in a comparable form."""
    active = sorted(
        (a.process_id, a.process_spec_id, a.version) for a in db.session.scalars(select(ActiveProcess))
    )
    return count(Deployment), count(ProcessSpec), count(DeploymentFile), count(AuditEvent), active


def rejected(bundle: Bundle) -> list[dict[str, Any]]:
    """Deploy ``bundle``, expect DeploymentInvalid, check nothing was written; return its details."""
    before = deployed_state()
    assert before[0] == 1 and before[4], "the valid mini bundle must be deployed first"
    with pytest.raises(DeploymentInvalid) as err:
        deploy_bundle(bundle, "test")
    # Nothing was even staged: a caller committing its own transaction afterwards persists nothing.
    assert not db.session.new and not db.session.dirty
    db.session.commit()
    assert deployed_state() == before
    details = err.value.details
    assert details, "a rejection must list its problems"
    for d in details:
        assert set(d) == {"file", "line", "element", "message", "kind"}
        assert d["message"]
    return details


def problem_at(details: list[dict[str, Any]], file: str, *, line: int | None = None, element: str | None = None,
               kind: str | None = None) -> dict[str, Any]:
    """The problem naming ``file`` and the given line and/or element (and kind, if given)."""
    assert line is not None or element is not None
    for d in details:
        if d["file"] != file or (kind is not None and d["kind"] != kind):
            continue
        if line is not None and d["line"] != line:
            continue
        if element is not None and d["element"] != element:
            continue
        return d
    raise AssertionError(f"no problem at {file} line={line} element={element} kind={kind}: {details}")


def add_script_task(bpmn: str, code: str, after: str = "decide", before: str = "end", flow: str = "f9") -> str:
    """``bpmn`` with a scriptTask ``calc`` running ``code`` inserted on sequence flow ``flow``."""
    old_flow = f'<bpmn:sequenceFlow id="{flow}" sourceRef="{after}" targetRef="{before}"/>'
    assert bpmn.count(old_flow) == 1
    new = (
        f'<bpmn:sequenceFlow id="{flow}" sourceRef="{after}" targetRef="calc"/>'
        f'<bpmn:scriptTask id="calc" name="计算"><bpmn:incoming>{flow}</bpmn:incoming>'
        f"<bpmn:outgoing>{flow}_calc</bpmn:outgoing><bpmn:script>{xml_text(code)}</bpmn:script></bpmn:scriptTask>"
        f'<bpmn:sequenceFlow id="{flow}_calc" sourceRef="calc" targetRef="{before}"/>'
    )
    bpmn = bpmn.replace(old_flow, new)
    # the target's incoming flow is now the one out of the script task
    head, sep, tail = bpmn.partition(f'id="{before}"')
    return head + sep + tail.replace(f"<bpmn:incoming>{flow}</bpmn:incoming>", f"<bpmn:incoming>{flow}_calc</bpmn:incoming>", 1)


BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def parallel_bpmn(tasks: int, process_id: str = "big", cardinality: str | None = None) -> bytes:
    """start → parallel split into ``tasks`` tasks → join → end (one compact line, as an attacker writes it)."""
    body = "".join(f'<bpmn:task id="t{i}"/><bpmn:sequenceFlow id="a{i}" sourceRef="split" targetRef="t{i}"/>'
                   f'<bpmn:sequenceFlow id="b{i}" sourceRef="t{i}" targetRef="join"/>' for i in range(tasks))
    mi = ""
    if cardinality is not None:
        mi = (f'<bpmn:task id="many"><bpmn:multiInstanceLoopCharacteristics>'
              f'<bpmn:loopCardinality>{cardinality}</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics></bpmn:task>'
              '<bpmn:sequenceFlow id="m1" sourceRef="join" targetRef="many"/><bpmn:sequenceFlow id="m2" sourceRef="many" targetRef="end"/>')
    else:
        mi = '<bpmn:sequenceFlow id="m2" sourceRef="join" targetRef="end"/>'
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="{BPMN_NS}" id="defs_{process_id}" '
            f'targetNamespace="http://zhifa.test/big">\n<bpmn:process id="{process_id}" isExecutable="true">'
            f'<bpmn:startEvent id="start"/><bpmn:sequenceFlow id="s1" sourceRef="start" targetRef="split"/>'
            f'<bpmn:parallelGateway id="split"/>{body}<bpmn:parallelGateway id="join"/>{mi}<bpmn:endEvent id="end"/>'
            "</bpmn:process>\n</bpmn:definitions>").encode()
