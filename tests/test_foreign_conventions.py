"""Camunda 7, Zeebe and Flowable extensions, and FEEL / JUEL in BPMN expressions, are refused at deploy
with the line, the element and the zhifa XML or Python to write instead (engine/definitions/foreign.py,
camunda.py, feel.py). Extensions that only tune the other engine's runtime deploy untouched."""

from __future__ import annotations

import pytest

from engine.definitions.deploy import validate_bundle
from tests.support.bundles import CONDITION, MINI_BPMN, TIMER, add_script_task, line_of, original, with_file, xml_text
from tests.support.camunda import at, foreign_text, problems

REGISTER = '<bpmn:userTask id="register" name="登记">'
REVIEW = '<bpmn:userTask id="review" name="法制审核">'
SPIFF_FORM = '<spiffworkflow:property name="form" value="mini_register"/>'
ASSESS_REF = "<spiffworkflow:calledDecisionId>mini_review_required</spiffworkflow:calledDecisionId>"


def messages(found) -> str:
    return "\n".join(p.message for p in found)


# ------------------------------------------------------------------------------ runtime tuning: left alone
def test_extensions_that_only_tune_the_other_engine_deploy(ctx):
    assert problems(
        ('<bpmn:process id="mini" name="测试程序" isExecutable="true">',
         '<bpmn:process id="mini" name="测试程序" isExecutable="true" camunda:historyTimeToLive="180" camunda:versionTag="v1">'),
        (REGISTER, '<bpmn:userTask id="register" name="登记" camunda:asyncBefore="true" camunda:exclusive="false">'),
        ("<spiffworkflow:properties>\n          " + SPIFF_FORM, "<zeebe:userTask/><spiffworkflow:properties>\n          " + SPIFF_FORM),
    ) == []


# ------------------------------------------------------------------------------ user tasks
def test_a_camunda_form_key_is_refused_with_the_form_property_to_write(ctx):
    edit = (REGISTER, '<bpmn:userTask id="register" name="登记" camunda:formKey="embedded:app:forms/mini_register.html">')
    [problem] = at(problems(edit), "register")
    assert problem.file == "processes/mini.bpmn" and problem.line == line_of(foreign_text(edit), 'id="register"')
    assert '<spiffworkflow:property name="form" value="mini_register"/>' in problem.message
    assert "camunda:formKey" in problem.message and "forms/mini_register.json" in problem.message


def test_assignee_and_candidate_groups_point_to_the_role_lane(ctx):
    found = at(problems((REVIEW, '<bpmn:userTask id="review" name="法制审核" camunda:assignee="${reviewer}" '
                                 'camunda:candidateGroups="legal_reviewer">')), "review")
    assert len(found) == 2
    assert all("泳道" in p.message and "并删除该属性" in p.message for p in found)
    assert '<bpmn:lane name="legal_reviewer">' in messages(found)


def test_a_due_date_points_to_the_time_limit_registry(ctx):
    [problem] = at(problems((REVIEW, '<bpmn:userTask id="review" name="法制审核" camunda:dueDate="${dateTime().plusDays(3)}">')),
                   "review")
    assert '<spiffworkflow:property name="time_limit" value="<时限键>"/>' in problem.message


def test_camunda_properties_are_rewritten_as_spiffworkflow_properties(ctx):
    edit = ("<spiffworkflow:properties>\n          " + SPIFF_FORM,
            '<camunda:properties><camunda:property name="evidence_list" value="true"/></camunda:properties>'
            "<spiffworkflow:properties>\n          " + SPIFF_FORM)
    [problem] = at(problems(edit), "register")
    assert problem.line == line_of(foreign_text(edit), "<camunda:properties>")
    assert ('<spiffworkflow:properties><spiffworkflow:property name="evidence_list" value="true"/></spiffworkflow:properties>'
            in problem.message)


def test_a_user_task_written_for_camunda_only_is_told_everything_zhifa_needs(ctx):
    """No spiffworkflow:properties at all: the form advice stands in for lint's "no form"; lint still
    says which time-limit property to write."""
    text = original("processes/mini.bpmn")
    start, end = text.index(REVIEW), text.index("</bpmn:extensionElements>", text.index(REVIEW)) + len("</bpmn:extensionElements>")
    found = at(problems((text[start:end], '<bpmn:userTask id="review" name="法制审核" camunda:formKey="mini_review">')), "review")
    assert len(found) == 2, messages(found)
    assert '<spiffworkflow:property name="form" value="mini_review"/>' in messages(found)
    assert '<spiffworkflow:property name="time_limit" value="时限键"/>' in messages(found)
    assert "用户任务缺少 form 属性" not in messages(found)


def test_input_output_mappings_become_pre_and_post_scripts(ctx):
    edit = ("<spiffworkflow:properties>\n          " + SPIFF_FORM,
            '<camunda:inputOutput><camunda:inputParameter name="fine">${proposed_fine * 2}</camunda:inputParameter>'
            '<camunda:outputParameter name="done">#{true}</camunda:outputParameter></camunda:inputOutput>'
            "<spiffworkflow:properties>\n          " + SPIFF_FORM)
    [problem] = at(problems(edit), "register")
    assert "<spiffworkflow:preScript>fine = proposed_fine * 2</spiffworkflow:preScript>" in problem.message
    assert "<spiffworkflow:postScript>done = True</spiffworkflow:postScript>" in problem.message


def test_zeebe_user_task_extensions(ctx):
    edit = ("<spiffworkflow:properties>\n          " + SPIFF_FORM,
            '<zeebe:formDefinition formKey="camunda-forms:bpmn:mini_register"/><zeebe:assignmentDefinition candidateGroups="handler"/>'
            '<zeebe:ioMapping><zeebe:input source="=proposed_fine * 2" target="fine"/></zeebe:ioMapping>'
            '<zeebe:taskHeaders><zeebe:header key="time_limit" value="internal_approval"/></zeebe:taskHeaders>'
            "<spiffworkflow:properties>\n          " + SPIFF_FORM)
    found = messages(at(problems(edit), "register"))
    assert '<spiffworkflow:property name="form" value="mini_register"/>' in found
    assert '<bpmn:lane name="handler">' in found
    assert "<spiffworkflow:preScript>fine = proposed_fine * 2</spiffworkflow:preScript>" in found
    assert '<spiffworkflow:property name="time_limit" value="internal_approval"/>' in found
    assert found.count("Camunda 8 (Zeebe) 扩展元素") == 4


def test_flowable_and_unknown_extensions(ctx):
    found = at(problems((REVIEW, '<bpmn:userTask id="review" name="法制审核" flowable:candidateGroups="legal_reviewer">'),
                        ("<spiffworkflow:properties>\n          " + SPIFF_FORM,
                         "<camunda:somethingNew/><spiffworkflow:properties>\n          " + SPIFF_FORM)), "register")
    assert "camunda:somethingNew" in messages(found) and "请删除" in messages(found)
    reviewed = at(problems((REVIEW, '<bpmn:userTask id="review" name="法制审核" flowable:candidateGroups="legal_reviewer">')), "review")
    assert "Flowable 扩展属性 flowable:candidateGroups" in messages(reviewed)


# ------------------------------------------------------------------------------ decisions and code
def test_a_camunda_decision_ref_is_refused_with_the_spiffworkflow_reference(ctx):
    found = at(problems((ASSESS_REF, ""), ('<bpmn:businessRuleTask id="assess" name="判断是否需要审核">',
                                           '<bpmn:businessRuleTask id="assess" name="判断是否需要审核" '
                                           'camunda:decisionRef="mini_review_required" camunda:resultVariable="result">')), "assess")
    text = messages(found)
    assert "<spiffworkflow:calledDecisionId>mini_review_required</spiffworkflow:calledDecisionId>" in text
    assert "No DMN Diagram" not in text and "业务规则任务没有指定决策表" in text
    assert "camunda:resultVariable" in text and "输出列的 name" in text


def test_a_zeebe_called_decision_is_refused_with_the_spiffworkflow_reference(ctx):
    found = at(problems((ASSESS_REF, '<zeebe:calledDecision decisionId="mini_review_required" resultVariable="r"/>')), "assess")
    assert "<spiffworkflow:calledDecisionId>mini_review_required</spiffworkflow:calledDecisionId>" in messages(found)
    assert all("No DMN Diagram" not in p.message for p in found)


def test_java_delegates_are_refused_with_what_zhifa_runs_instead(ctx):
    found = at(problems((REVIEW, '<bpmn:userTask id="review" name="法制审核" camunda:class="org.example.Notify">')), "review")
    assert "camunda:class=\"org.example.Notify\" 指向 Java 代码" in messages(found) and "<bpmn:scriptTask>" in messages(found)


# ------------------------------------------------------------------------------ FEEL and JUEL in expressions
@pytest.mark.parametrize(("written", "dialect", "python"), [
    ("${review_required}", "JUEL", "review_required"),
    ("${review_required &amp;&amp; !done}", "JUEL", "review_required and not done"),
    ("=review_required = true", "FEEL", "review_required == True"),
    ("review_required == true", "FEEL", "review_required == True"),
    ("review_required = true and proposed_fine &gt; 100", "FEEL", "review_required == True and proposed_fine > 100"),
])
def test_feel_and_juel_conditions_are_refused_with_the_python_to_write(ctx, written, dialect, python):
    edit = (CONDITION, written)
    found = problems(edit)
    [problem] = at(found, "f4")
    assert problem.kind == "expression" and problem.line == line_of(foreign_text(edit), "<bpmn:conditionExpression>")
    assert f"是 {dialect} 写法" in problem.message and f"请写成 `{python}`" in problem.message
    assert not at(found, "gw_review")  # the bare syntax error for the gateway gives way
    assert problems((CONDITION, xml_text(python))) == []  # the Python offered deploys


def test_a_plain_python_typo_keeps_its_syntax_error(ctx):
    found = problems((CONDITION, "review_required == = True"))
    assert not at(found, "f4") and "语法错误" in messages(at(found, "gw_review"))


def test_feel_timers_and_other_languages(ctx):
    found = problems((TIMER, "=served_on"))
    assert "定时器表达式 `=served_on` 是 FEEL 写法" in messages(at(found, "statement_period"))
    found = problems(('<bpmn:conditionExpression>', '<bpmn:conditionExpression xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                                                     'xsi:type="bpmn:tFormalExpression" language="javascript">'))
    assert 'language="javascript" 不受支持' in messages(at(found, "f4"))


def test_a_groovy_script_is_refused(ctx):
    script = '<bpmn:scriptTask id="calc" name="计算">'
    text = add_script_task(foreign_text(), "x = 1").replace(script, '<bpmn:scriptTask id="calc" name="计算" scriptFormat="groovy">')
    found = validate_bundle(with_file(MINI_BPMN, text))[1]
    assert 'scriptFormat="groovy" 不受支持' in messages(at(found, "calc"))
