"""Deployments (engine/definitions): every broken bundle is refused whole, located, and deploys nothing.

Broken bundles are built in memory from the valid ``tests/data/mini`` bundle by replacing one file
with a ``str.replace``d copy, after the valid bundle has been deployed (``mini`` fixture). Each test
checks the error names the file and the line or element, and that no Deployment, ProcessSpec,
DeploymentFile, ActiveProcess or audit row changed. Then: the run-time side of the sandbox (task data
cannot smuggle code), versioning of re-deploys, and the upload path sanitising.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.definitions import Bundle, BundleFile, deploy_bundle
from engine.definitions.serialization import load_state
from engine.definitions.specs import load_specs
from engine.errors import DeploymentInvalid, InvalidInput
from engine.models import (
    ActiveProcess,
    Deployment,
    ProcessInstance,
    ProcessSpec,
    Task,
    db,
)
from engine.runtime import complete_task, start_case
from engine.runtime.instance import ready_user_tasks
from tests.conftest import user
from tests.support.bundles import (
    CONDITION,
    ESCAPE,
    MINI_BPMN,
    MINI_DMN,
    PARENT_BPMN,
    PARTY,
    TIMER,
    add_script_task,
    count,
    deployed_state,
    edited,
    line_of,
    mini_bundle,
    mutated,
    original,
    problem_at,
    rejected,
    with_file,
    xml_text,
)


# ---------------------------------------------------------------------------------------------------
# The valid bundle
# ---------------------------------------------------------------------------------------------------
def test_valid_mini_bundle_deploys_and_activates_every_process(ctx, mini):
    assert db.session.get(Deployment, mini) is not None
    active = {a.process_id: a for a in db.session.scalars(select(ActiveProcess))}
    assert set(active) == {"mini", "mini_parent", "mini_child", "mini_message", "mini_timer", "mini_quick"}
    assert all(a.spec.deployment_id == mini and a.version == 1 for a in active.values())
    paths = {f.path for f in db.session.get(Deployment, mini).files}
    assert paths == {f.path for f in mini_bundle().files}


# ---------------------------------------------------------------------------------------------------
# XML and XSD
# ---------------------------------------------------------------------------------------------------
def test_malformed_xml_is_rejected_with_its_line(ctx, mini):
    # A designer forgot to escape '<' in a condition.
    text = edited(MINI_BPMN, (CONDITION, "proposed_fine < 10000"))
    details = rejected(with_file(MINI_BPMN, text))
    problem_at(details, MINI_BPMN, line=line_of(text, "proposed_fine < 10000"), kind="xml")


def test_mismatched_closing_tag_is_rejected_with_its_line(ctx, mini):
    old = "<bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing>\n    </bpmn:userTask>"
    text = edited(MINI_BPMN, (old, old.replace("</bpmn:userTask>", "</bpmn:userTusk>")))
    details = rejected(with_file(MINI_BPMN, text))
    problem_at(details, MINI_BPMN, line=line_of(text, "</bpmn:userTusk>"), kind="xml")


def test_unknown_bpmn_element_is_an_xsd_violation_with_its_line(ctx, mini):
    text = edited(MINI_BPMN, ('<bpmn:endEvent id="end">', '<bpmn:bogusElement id="bogus"/>\n    <bpmn:endEvent id="end">'))
    details = rejected(with_file(MINI_BPMN, text))
    problem = problem_at(details, MINI_BPMN, line=line_of(text, "bogusElement"), kind="xsd")
    assert "bogusElement" in problem["message"]


def test_unknown_attribute_is_an_xsd_violation_with_its_line(ctx, mini):
    text = edited(MINI_BPMN, ('<bpmn:endEvent id="end">', '<bpmn:endEvent id="end" colour="red">'))
    details = rejected(with_file(MINI_BPMN, text))
    problem = problem_at(details, MINI_BPMN, line=line_of(text, 'colour="red"'), kind="xsd")
    assert "colour" in problem["message"]


def test_dmn_xsd_violation_is_rejected_with_its_line(ctx, mini):
    text = edited(MINI_DMN, ('hitPolicy="UNIQUE"', 'hitPolicy="SOMETIMES"'))
    details = rejected(with_file(MINI_DMN, text))
    problem_at(details, MINI_DMN, line=line_of(text, "SOMETIMES"), kind="xsd")


def test_dmn_without_a_decision_is_rejected_not_crashing(ctx, mini):
    """SpiffWorkflow's DMN parser indexes the first decision unguarded (IndexError: a 500 from the
    upload fuzzer); an empty DMN file is a listed problem like any other."""
    text = original(MINI_DMN)
    empty = text[: text.index("  <decision ")] + text[text.index("</decision>") + len("</decision>\n"):]
    assert "<decision" not in empty
    details = rejected(with_file(MINI_DMN, empty))
    assert any(d["file"] == MINI_DMN for d in details), details


XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
LAUGHS = "".join(
    [f'<!ENTITY {chr(97 + k)} "{("&" + chr(96 + k) + ";") * 10 if k else "a" * 10}">' for k in range(8)]
)


def test_entity_expansion_bomb_is_rejected_as_malformed_xml(ctx, mini):
    text = edited(MINI_BPMN, (XML_DECLARATION, f"{XML_DECLARATION}\n<!DOCTYPE d [{LAUGHS}]>"), (CONDITION, "&h;"))
    details = rejected(with_file(MINI_BPMN, text))
    assert any(d["file"] == MINI_BPMN and d["kind"] == "xml" and d["line"] for d in details), details


@pytest.mark.parametrize("entity", [
    pytest.param('<!ENTITY xxe SYSTEM "file:///etc/passwd">', id="external"),
    pytest.param(f'<!ENTITY xxe "{xml_text(ESCAPE)}">', id="internal"),
])
def test_entity_reference_in_bpmn_is_rejected_not_crashing(ctx, mini, entity):
    text = edited(MINI_BPMN, (XML_DECLARATION, f"{XML_DECLARATION}\n<!DOCTYPE d [{entity}]>"), (CONDITION, "&xxe;"))
    details = rejected(with_file(MINI_BPMN, text))
    assert any(d["file"] == MINI_BPMN and (d["line"] or d["element"]) for d in details)


def test_bpmn_in_another_encoding_is_rejected_or_deployed_never_crashing(ctx, mini):
    text = original(MINI_BPMN).replace('encoding="UTF-8"', 'encoding="GB18030"')
    bundle = mini_bundle().replace([BundleFile(MINI_BPMN, text.encode("gb18030"))])
    try:
        deploy_bundle(bundle, "test")
    except DeploymentInvalid as err:
        assert any(d["file"] == MINI_BPMN for d in err.details)
        db.session.rollback()
        assert count(Deployment) == 1


# ---------------------------------------------------------------------------------------------------
# References
# ---------------------------------------------------------------------------------------------------
def test_unknown_called_element_is_rejected_naming_the_caller(ctx, mini):
    details = rejected(mutated(PARENT_BPMN, ('calledElement="mini_child"', 'calledElement="no_such_process"')))
    problem = next(d for d in details if d["file"] == PARENT_BPMN and d["element"] in ("call_child", "mini_parent"))
    assert problem["line"] and "no_such_process" in problem["message"]


def test_unknown_dmn_decision_is_rejected_naming_the_business_rule_task(ctx, mini):
    decision = "{}</spiffworkflow:calledDecisionId>"
    text = edited(MINI_BPMN, (decision.format(">mini_review_required"), decision.format(">no_such_decision")))
    details = rejected(with_file(MINI_BPMN, text))
    problem = problem_at(details, MINI_BPMN, element="assess")
    assert problem["line"] == line_of(text, '<bpmn:businessRuleTask id="assess"')
    assert "no_such_decision" in problem["message"]


def test_missing_form_is_rejected_naming_the_user_task(ctx, mini):
    details = rejected(mutated(MINI_BPMN, ('value="mini_register"', 'value="no_such_form"')))
    problem = problem_at(details, MINI_BPMN, element="register", line=line_of(original(MINI_BPMN), 'id="register"'))
    assert "no_such_form" in problem["message"]


def test_unknown_time_limit_key_is_rejected_naming_the_user_task(ctx, mini):
    details = rejected(mutated(MINI_BPMN, ('value="legal_review"', 'value="no_such_limit"')))
    problem = problem_at(details, MINI_BPMN, element="review", line=line_of(original(MINI_BPMN), 'id="review"'))
    assert "no_such_limit" in problem["message"]


def test_user_task_outside_any_lane_is_rejected(ctx, mini):
    details = rejected(mutated(MINI_BPMN, ("<bpmn:flowNodeRef>serve</bpmn:flowNodeRef>", "")))
    problem_at(details, MINI_BPMN, element="serve", line=line_of(original(MINI_BPMN), 'id="serve"'))


def test_user_task_in_a_lane_not_named_after_a_role_is_rejected(ctx, mini):
    details = rejected(mutated(MINI_BPMN, ('name="legal_reviewer"', 'name="janitor"')))
    problem = problem_at(details, MINI_BPMN, element="review")
    assert "janitor" in problem["message"]


def test_unknown_extension_property_is_rejected(ctx, mini):
    prop = '<spiffworkflow:property name="time_limit" value="service"/>'
    details = rejected(mutated(MINI_BPMN, (prop, prop + '<spiffworkflow:property name="colour" value="red"/>')))
    problem = problem_at(details, MINI_BPMN, element="serve")
    assert "colour" in problem["message"]


def test_unknown_separate_from_task_is_rejected(ctx, mini):
    details = rejected(mutated(MINI_BPMN, ('name="separate_from" value="register"', 'name="separate_from" value="nobody"')))
    problem = problem_at(details, MINI_BPMN, element="review")
    assert "nobody" in problem["message"]


# ---------------------------------------------------------------------------------------------------
# Forms
# ---------------------------------------------------------------------------------------------------
def test_invalid_json_in_a_form_is_rejected_with_its_line(ctx, mini):
    text = edited("forms/mini_serve.json", ('"required": ["served_on"],', '"required": ["served_on"],,'))
    details = rejected(with_file("forms/mini_serve.json", text))
    problem_at(details, "forms/mini_serve.json", line=line_of(text, ",,"), kind="form")


def test_form_that_is_not_a_json_schema_is_rejected(ctx, mini):
    details = rejected(mutated("forms/mini_serve.json", ('"required": ["served_on"]', '"required": "served_on"')))
    [problem] = [d for d in details if d["file"] == "forms/mini_serve.json"]
    assert problem["kind"] == "form" and "required" in problem["message"]


def test_form_that_is_not_a_json_schema_names_line_or_element(ctx, mini):
    details = rejected(mutated("forms/mini_serve.json", ('"required": ["served_on"]', '"required": "served_on"')))
    [problem] = [d for d in details if d["file"] == "forms/mini_serve.json"]
    assert problem["line"] or problem["element"]


# ---------------------------------------------------------------------------------------------------
# Expressions
# ---------------------------------------------------------------------------------------------------
def test_syntax_error_in_a_condition_is_rejected_naming_the_gateway(ctx, mini):
    details = rejected(mutated(MINI_BPMN, (CONDITION, "review_required == = True")))
    problem = problem_at(details, MINI_BPMN, element="gw_review", kind="expression")
    assert problem["line"] == line_of(original(MINI_BPMN), 'id="gw_review"')
    assert "syntax" in problem["message"]


def test_syntax_error_in_a_timer_is_rejected(ctx, mini):
    details = rejected(mutated(MINI_BPMN, (TIMER, "deadline(&apos;statement_period&apos;, served_on")))
    problem_at(details, MINI_BPMN, element="statement_period", kind="expression")


def _unsafe_in_condition() -> Bundle:
    return mutated(MINI_BPMN, (CONDITION, xml_text(ESCAPE)))


def _unsafe_in_timer() -> Bundle:
    return mutated(MINI_BPMN, (TIMER, xml_text(ESCAPE)))


def _unsafe_in_dmn_output() -> Bundle:
    return mutated(MINI_DMN, ("<text>True</text>", f"<text>{xml_text(ESCAPE)}</text>"))


def _unsafe_in_dmn_input() -> Bundle:
    return mutated(MINI_DMN, ("<text>&gt;= 10000</text>", f"<text>{xml_text(ESCAPE)}</text>"))


def _unsafe_in_dmn_input_expression() -> Bundle:
    return mutated(MINI_DMN, ("<text>proposed_fine</text>", f"<text>{xml_text(ESCAPE)}</text>"))


def _unsafe_in_script() -> Bundle:
    return with_file(MINI_BPMN, add_script_task(original(MINI_BPMN), "total = 1\n" + ESCAPE))


def _unsafe_in_prescript() -> Bundle:
    prop = '<spiffworkflow:property name="time_limit" value="service"/>\n        </spiffworkflow:properties>'
    return mutated(MINI_BPMN, (prop, prop + f"<spiffworkflow:preScript>{xml_text(ESCAPE)}</spiffworkflow:preScript>"))


@pytest.mark.parametrize(("build", "file", "element"), [
    pytest.param(_unsafe_in_condition, MINI_BPMN, "gw_review", id="gateway-condition"),
    pytest.param(_unsafe_in_timer, MINI_BPMN, "statement_period", id="timer-timeDate"),
    pytest.param(_unsafe_in_dmn_output, MINI_DMN, "rule_big", id="dmn-output-cell"),
    pytest.param(_unsafe_in_dmn_input, MINI_DMN, "rule_big", id="dmn-input-cell"),
    pytest.param(_unsafe_in_dmn_input_expression, MINI_DMN, "in_fine", id="dmn-input-expression"),
    pytest.param(_unsafe_in_script, MINI_BPMN, "calc", id="script-task"),
    pytest.param(_unsafe_in_prescript, MINI_BPMN, "serve", id="pre-script"),
])
def test_unsafe_expression_is_rejected_where_it_is_written(ctx, mini, build, file, element):
    details = rejected(build())
    problem = problem_at(details, file, element=element, kind="expression")
    assert problem["line"]


def test_valid_script_task_deploys(ctx, mini):
    deployment = deploy_bundle(with_file(MINI_BPMN, add_script_task(original(MINI_BPMN), "total = 1")), "test")
    assert deployment.id != mini


SANDBOX_ESCAPES = [
    "().__class__.__bases__[0].__subclasses__()",
    "getattr(x, 'y')",
    "open('/etc/passwd')",
    "open('/etc/passwd').read()",
    "eval('1')",
    "exec('1')",
    "type(1)",
    "globals()",
    "locals()",
    "vars()",
    "lambda: 1",
    "(lambda: 1)()",
    "'{0.__class__}'.format(1)",
    "'{x.__class__}'.format_map({'x': 1})",
    "f'{().__class__}'",
    "(x := 1)",
    "[].__class__.__mro__",
    "compile('1','','eval')",
    "breakpoint()",
    "9**9**9**9",
    "'a'*10**10",
    "(i for i in ()).gi_frame",
    "(i for i in ()).gi_frame.f_back.f_globals",
    "__builtins__",
    "__builtins__['__import__']('os')",
    "__import__('os').system('id')",
    "review_required and __import__('os').system('id')",
    "dir()",
    "help()",
    "setattr(x,'a',1)",
    "delattr(x, 'a')",
    "x.__dict__",
    "{}.get.__self__",
    "[c for c in ().__class__.__base__.__subclasses__()]",
    "'%s' % review_required.__class__",
    "object.__subclasses__()",
    "super()",
    "input()",
    "memoryview(b'')",
    "id(1)",
    "exit()",
]


@pytest.mark.parametrize("payload", SANDBOX_ESCAPES)
def test_sandbox_escape_in_a_gateway_condition_is_rejected_at_deploy(ctx, mini, payload):
    details = rejected(mutated(MINI_BPMN, (CONDITION, xml_text(payload))))
    problem_at(details, MINI_BPMN, element="gw_review", kind="expression")


# ---------------------------------------------------------------------------------------------------
# Constructs SpiffWorkflow mishandles
# ---------------------------------------------------------------------------------------------------
def event_subprocess(interrupting: bool) -> str:
    flag = "true" if interrupting else "false"
    return (
        '<bpmn:subProcess id="esp" triggeredByEvent="true">\n'
        f'      <bpmn:startEvent id="esp_start" isInterrupting="{flag}"><bpmn:outgoing>e1</bpmn:outgoing>'
        '<bpmn:timerEventDefinition id="esp_timer"><bpmn:timeDuration>"P1D"</bpmn:timeDuration>'
        "</bpmn:timerEventDefinition></bpmn:startEvent>\n"
        '      <bpmn:endEvent id="esp_end"><bpmn:incoming>e1</bpmn:incoming></bpmn:endEvent>\n'
        '      <bpmn:sequenceFlow id="e1" sourceRef="esp_start" targetRef="esp_end"/>\n'
        "    </bpmn:subProcess>\n  </bpmn:process>"
    )


def test_interrupting_event_subprocess_is_rejected(ctx, mini):
    text = edited(MINI_BPMN, ("  </bpmn:process>", event_subprocess(interrupting=True)))
    details = rejected(with_file(MINI_BPMN, text))
    problem_at(details, MINI_BPMN, element="esp_start", line=line_of(text, 'id="esp_start"'))


def test_non_interrupting_event_subprocess_is_accepted(ctx, mini):
    text = edited(MINI_BPMN, ("  </bpmn:process>", event_subprocess(interrupting=False)))
    assert deploy_bundle(with_file(MINI_BPMN, text), "test").id != mini


def event_gateway_with_timers(count: int) -> str:
    """mini.bpmn with the statement-period timer replaced by an event gateway before ``count`` timers."""
    text = original(MINI_BPMN)
    start = text.index('    <bpmn:intermediateCatchEvent id="statement_period"')
    end = text.index("</bpmn:intermediateCatchEvent>") + len("</bpmn:intermediateCatchEvent>")
    gateway = ('<bpmn:eventBasedGateway id="evgw"><bpmn:incoming>f7</bpmn:incoming>'
               + "".join(f"<bpmn:outgoing>g{k}</bpmn:outgoing>" for k in range(count)) + "</bpmn:eventBasedGateway>\n")
    timers = "".join(
        f'    <bpmn:intermediateCatchEvent id="t{k}"><bpmn:incoming>g{k}</bpmn:incoming><bpmn:outgoing>h{k}</bpmn:outgoing>'
        f'<bpmn:timerEventDefinition id="t{k}_def"><bpmn:timeDate>{xml_text(TIMER)}</bpmn:timeDate>'
        "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>\n"
        f'    <bpmn:sequenceFlow id="g{k}" sourceRef="evgw" targetRef="t{k}"/>\n'
        f'    <bpmn:sequenceFlow id="h{k}" sourceRef="t{k}" targetRef="decide"/>\n'
        for k in range(count)
    )
    text = text[:start] + "    " + gateway + timers + text[end:]
    incoming = "".join(f"<bpmn:incoming>h{k}</bpmn:incoming>" for k in range(count))
    for old, new in (
        ('targetRef="statement_period"', 'targetRef="evgw"'),
        ('<bpmn:sequenceFlow id="f8" sourceRef="statement_period" targetRef="decide"/>', ""),
        ("<bpmn:incoming>f8</bpmn:incoming>", incoming),
    ):
        assert text.count(old) == 1
        text = text.replace(old, new)
    return text


def test_event_gateway_followed_by_two_timers_is_rejected(ctx, mini):
    text = event_gateway_with_timers(2)
    details = rejected(with_file(MINI_BPMN, text))
    problem_at(details, MINI_BPMN, element="evgw", line=line_of(text, 'id="evgw"'))


def test_event_gateway_followed_by_one_timer_is_accepted(ctx, mini):
    assert deploy_bundle(with_file(MINI_BPMN, event_gateway_with_timers(1)), "test").id != mini


def test_every_problem_of_a_bundle_is_reported_at_once(ctx, mini):
    bpmn = edited(MINI_BPMN, ('value="mini_register"', 'value="no_such_form"'), ('value="legal_review"', 'value="no_such_limit"'),
                  (CONDITION, xml_text(ESCAPE)))
    details = rejected(with_file(MINI_BPMN, bpmn))
    assert {d["element"] for d in details} >= {"register", "review", "gw_review"}


# ---------------------------------------------------------------------------------------------------
# Run time: task data is data
# ---------------------------------------------------------------------------------------------------
def test_task_data_cannot_smuggle_code_into_a_script(ctx, people, frozen, tmp_path: Path):
    script = "items = [party_name, violation]\nresult = len(items)"
    bpmn = add_script_task(original(MINI_BPMN), script, after="start", before="register", flow="f1")
    deploy_bundle(with_file(MINI_BPMN, bpmn), "test")
    canary = tmp_path / "pwned"
    payload = f"__import__('os').system('touch {canary}')"

    case = start_case(user("a_handler1"), "mini", PARTY, {"violation": payload})

    assert case.facts["violation"] == payload
    instance = db.session.scalars(select(ProcessInstance).where(ProcessInstance.case_id == case.id)).one()
    workflow = load_state(instance.state, load_specs(instance.process_spec_id))
    [register] = ready_user_tasks(workflow)
    assert register.task_spec.bpmn_id == "register"
    assert register.data["result"] == 2  # the script ran, and saw the payload only as a string
    assert register.data["violation"] == payload and register.data["items"] == ["张三", payload]
    assert not canary.exists()

    # A form value is data too: it is validated and stored, never evaluated.
    [open_task] = db.session.scalars(select(Task).where(Task.case_id == case.id, Task.status == "open"))
    complete_task(user("a_handler1"), open_task.id, {"facts": payload, "proposed_fine": 1})
    assert not canary.exists()


# ---------------------------------------------------------------------------------------------------
# Versions
# ---------------------------------------------------------------------------------------------------
def test_identical_redeploy_with_skip_if_unchanged_returns_the_same_deployment(ctx, mini):
    before = deployed_state()
    again = deploy_bundle(mini_bundle(), "test", skip_if_unchanged=True)
    assert again.id == mini
    assert deployed_state() == before


def test_identical_redeploy_without_skip_records_a_deployment_but_activates_nothing(ctx, mini):
    active_before = deployed_state()[4]
    again = deploy_bundle(mini_bundle(), "test")
    assert again.id != mini
    assert deployed_state()[4] == active_before


def test_changed_bundle_is_used_by_new_cases_while_old_cases_keep_their_version(ctx, people, mini, frozen):
    old_case = start_case(user("a_handler1"), "mini", PARTY, {"violation": "旧版本"})
    old_spec = db.session.scalars(select(ProcessInstance.process_spec_id).where(ProcessInstance.case_id == old_case.id)).one()
    parent_before = db.session.get(ActiveProcess, "mini_parent").process_spec_id

    changed = mutated(MINI_BPMN, ('name="送达告知书"', 'name="送达行政处罚告知书"'))
    assert changed.hash != mini_bundle().hash
    deployment = deploy_bundle(changed, "test", skip_if_unchanged=True)
    assert deployment.id != mini

    active = db.session.get(ActiveProcess, "mini")
    assert active.version == 2 and active.spec.deployment_id == deployment.id
    assert db.session.get(ActiveProcess, "mini_parent").process_spec_id == parent_before  # unchanged content

    new_case = start_case(user("a_handler1"), "mini", PARTY, {"violation": "新版本"})
    new_spec = db.session.scalars(select(ProcessInstance.process_spec_id).where(ProcessInstance.case_id == new_case.id)).one()
    assert new_spec == active.process_spec_id != old_spec
    db.session.expire_all()
    still = db.session.scalars(select(ProcessInstance.process_spec_id).where(ProcessInstance.case_id == old_case.id)).one()
    assert still == old_spec
    assert db.session.get(ProcessSpec, old_spec).deployment_id == mini


# ---------------------------------------------------------------------------------------------------
# Uploads
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "path"), [
    ("../../etc/passwd.bpmn", "processes/passwd.bpmn"),
    ("..\\x.json", "forms/x.json"),
    ("/abs/dir/y.dmn", "processes/y.dmn"),
    ("C:\\Windows\\z.BPMN", "processes/z.BPMN"),
    ("forms/../../../w.json", "forms/w.json"),
    ("mini.bpmn", "processes/mini.bpmn"),
])
def test_upload_names_are_reduced_to_a_safe_relative_path(name, path):
    [f] = Bundle.from_uploads([(name, b"<x/>")]).files
    assert f.path == path
    assert ".." not in f.path and not f.path.startswith("/") and "\\" not in f.path


@pytest.mark.parametrize("name", ["evil.py", "../x.sh", "a.bpmn.exe", "..", "../", ".hidden.json", "nul\0.bpmn", "x.json/"])
def test_upload_names_that_are_not_process_files_are_refused(name):
    with pytest.raises(InvalidInput):
        Bundle.from_uploads([(name, b"print(1)")])


def test_no_uploads_are_refused():
    with pytest.raises(InvalidInput):
        Bundle.from_uploads([])


def zip_of(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_zip_upload_is_expanded_in_memory_with_safe_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = zip_of({"../../evil/p.bpmn": b"<p/>", "deep/dir/f.json": b"{}", "dir/": b"", "d.dmn": b"<d/>"})
    bundle = Bundle.from_uploads([("bundle.zip", data), ("extra.json", b"[]")])
    assert {f.path: f.content for f in bundle.files} == {
        "processes/p.bpmn": b"<p/>", "forms/f.json": b"{}", "processes/d.dmn": b"<d/>", "forms/extra.json": b"[]",
    }
    assert list(tmp_path.iterdir()) == []  # nothing written anywhere
    assert not (tmp_path / "../../evil").resolve().exists()


def test_zip_with_a_forbidden_member_is_refused():
    with pytest.raises(InvalidInput):
        Bundle.from_uploads([("bundle.zip", zip_of({"ok.bpmn": b"<p/>", "evil.py": b"import os"}))])


def test_zip_with_a_corrupt_member_is_refused():
    data = bytearray(zip_of({"a.bpmn": b"<definitions>hello world</definitions>"}))
    data[data.index(b"hello")] ^= 0x20  # stored uncompressed: flip one bit, the CRC no longer matches
    with pytest.raises(InvalidInput):
        Bundle.from_uploads([("bundle.zip", bytes(data))])


def test_corrupt_zip_is_refused():
    with pytest.raises(InvalidInput):
        Bundle.from_uploads([("bundle.zip", b"PK\x03\x04 not really a zip")])


def test_zipped_mini_bundle_equals_the_directory_bundle_and_is_skipped_when_unchanged(ctx, mini):
    files = {f.path: f.content for f in mini_bundle().files}
    uploaded = Bundle.from_uploads([("mini.zip", zip_of(files))])
    assert uploaded.hash == mini_bundle().hash
    assert deploy_bundle(uploaded, "upload", skip_if_unchanged=True).id == mini


def test_form_field_named_like_a_system_key_is_rejected(ctx, mini):
    details = rejected(mutated("forms/mini_serve.json", ('"served_on": {', '"party_type": {"type": "string"}, "served_on": {')))
    problem_at(details, "forms/mini_serve.json", element="/properties/party_type", kind="form")


def test_cycle_timer_is_rejected(ctx, mini):
    details = rejected(mutated(MINI_BPMN, ("<bpmn:timeDate>deadline('statement_period', served_on)</bpmn:timeDate>",
                                           "<bpmn:timeCycle>'R3/PT1H'</bpmn:timeCycle>")))
    problem_at(details, MINI_BPMN, element="statement_period", kind="lint")
