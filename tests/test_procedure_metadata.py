"""Procedure metadata on the BPMN ``<process>`` (engine/definitions/procedures.py): a procedure names its
labels, its case-clock limit and its decision document itself, checked at deploy time."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.definitions import Bundle, deploy_bundle, validate_bundle
from engine.definitions.procedures import (
    DEFAULT_CLOCK_KEY,
    DEFAULT_DECISION_DOCUMENT,
    NS,
    clock_key,
    decision_documents,
    lint_procedures,
    procedure,
    procedures,
)
from engine.models import TimeLimit, db
from tests.conftest import ROOT
from tests.support.bundles import MINI_BPMN, mutated, problem_at, rejected

pytestmark = pytest.mark.usefixtures("ctx")

PROCESS = '<bpmn:process id="mini" name="测试程序" isExecutable="true">'


def with_properties(*props: tuple[str, str]):
    lines = "".join(f'<spiffworkflow:property name="{n}" value="{v}"/>' for n, v in props)
    return mutated(MINI_BPMN, (PROCESS, PROCESS + f"<bpmn:extensionElements><spiffworkflow:properties>{lines}"
                                        "</spiffworkflow:properties></bpmn:extensionElements>"))


def test_a_procedure_is_described_by_its_own_process_properties(app, mini) -> None:
    deploy_bundle(with_properties(("label", "测试程序简称"), ("label_en", "Test procedure"),
                                  ("clock_key", "legal_review")), "test", "带属性")
    db.session.remove()
    mini_procedure = procedure("mini")
    assert mini_procedure is not None
    assert (mini_procedure.label, mini_procedure.label_en) == ("测试程序简称", "Test procedure")
    assert clock_key("mini") == "legal_review"
    assert decision_documents() == {DEFAULT_DECISION_DOCUMENT}  # what 公示 publishes when no procedure names another
    # A process that says nothing keeps today's meaning: its name, the 90-day clock, the 行政处罚决定书.
    child = procedures()["mini_child"]
    assert child.label == child.label_en and child.label
    assert (child.clock_key, child.decision_document) == (DEFAULT_CLOCK_KEY, DEFAULT_DECISION_DOCUMENT)
    assert clock_key("no_such_procedure") == DEFAULT_CLOCK_KEY


def test_the_pages_show_the_label_the_procedure_gives_itself(app, mini) -> None:
    from flask_babel import refresh

    from webui.i18n import PROCEDURES

    deploy_bundle(with_properties(("label", "测试程序简称"), ("label_en", "Test procedure")), "test", "带属性")
    db.session.remove()
    with app.test_request_context("/"):
        assert PROCEDURES["mini"] == "测试程序简称"
    with app.test_request_context("/", headers={"Cookie": "zhifa_lang=en"}):
        refresh()  # the locale is remembered per app context, which the ctx fixture keeps open
        assert PROCEDURES["mini"] == "Test procedure"
        assert "mini" in PROCEDURES and PROCEDURES.get("unknown", "x") == "x"


@pytest.mark.parametrize(("prop", "value", "says"), [
    ("colour", "red", "未知的流程属性 'colour'"),
    ("clock_key", "no_such_limit", "不是时限登记表中的时限"),
    ("decision_document", "不存在的文书", "不是本部署中任何环节生成的文书"),
    ("label", "", "1 至 40 个字符"),
    ("startable", "yes", "startable 须为 true 或 false"),
])
def test_a_wrong_process_property_is_refused_at_deploy_naming_its_line(app, mini, prop: str, value: str, says: str) -> None:
    details = rejected(with_properties((prop, value)))
    found = problem_at(details, MINI_BPMN, element="mini", kind="lint")
    assert says in found["message"] and found["line"]


def test_the_shipped_procedures_pass_the_process_property_checks(app) -> None:
    parsed, _problems = validate_bundle(Bundle.from_directories(ROOT / "processes", ROOT / "forms"))
    keys = set(db.session.scalars(select(TimeLimit.key)))
    assert lint_procedures(parsed, keys) == []
    labels = {root.xpath("//bpmn:process/@id", namespaces=NS)[0]: root.xpath(
        "//bpmn:process/bpmn:extensionElements//spiffworkflow:property[@name='label']/@value", namespaces=NS)
        for path, root in parsed.trees.items() if path.endswith(".bpmn")}
    assert all(labels.values()), labels  # every shipped procedure names itself
