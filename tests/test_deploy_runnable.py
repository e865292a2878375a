"""Issue 18: the deploy check refuses what would not run (file, line, element, the fix in words), and
nothing it lets through answers HTTP 500 when a case runs.

Each refusal deploys the mini bundle plus a tiny inline process (tests/support/tiny.py) and checks the
located message and that nothing was written (tests/support/bundles.py ``rejected``).
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.definitions import Bundle, BundleFile, deploy_bundle
from engine.definitions.parse import parse_bundle
from engine.definitions.runnable import ENGINE_FUNCTIONS
from engine.expressions import SAFE_FUNCTIONS
from engine.models import Case, ProcessSpec, db
from engine.policy.roles import LANE_ROLES
from tests.support.tiny import (
    TINY,
    TINY_DMN,
    chain,
    decision,
    definitions,
    dmn,
    line,
    only,
    process,
    refused,
    rule_task,
    script,
    tiny,
    with_tiny,
)

PARTY = {"type": "organization", "name": "某某食品有限公司", "id_number": "91110000123456789X"}


def deployed(text: str, *more: tuple[str, str]) -> None:
    deploy_bundle(with_tiny(text, *more), "test")
    db.session.commit()


# ------------------------------------------------------------------------------------ executable
def test_a_non_executable_process_is_refused_naming_it_and_how_to_mark_it(ctx, mini):
    text = tiny(chain(("calc", script("calc"))), executable=False)  # bpmn.io's default
    problem = only(refused(text), "tiny")
    assert problem["line"] == line(text, '<bpmn:process id="tiny"')
    assert 'isExecutable="true"' in problem["message"] and "可执行" in problem["message"]


def test_a_non_executable_process_beside_an_executable_one_is_refused_too(ctx, mini):
    text = definitions(process(chain(("calc", script("calc"))), "tiny"),
                       process(chain(("calc2", script("calc2")), start="s2", end="e2"), "tiny_draft", executable=False))
    details = refused(text)
    assert [d["element"] for d in details] == ["tiny_draft"]


def test_a_process_that_does_not_say_whether_it_is_executable_runs_as_spiffworkflow_reads_it(ctx, mini):
    deployed(tiny(chain(("calc", script("calc")))).replace(' isExecutable="true"', ""))
    assert db.session.scalar(select(func.count()).select_from(ProcessSpec).where(ProcessSpec.process_id == "tiny")) == 1


def test_an_empty_participant_pool_is_not_a_process_to_run(ctx, mini):
    text = definitions(process(chain(("calc", script("calc")))), process("", "their_pool", executable=False))
    deployed(text)
    assert db.session.scalar(select(func.count()).select_from(ProcessSpec).where(ProcessSpec.process_id == "tiny")) == 1


# ------------------------------------------------------------------------------- nobody can do it
@pytest.mark.parametrize("kind", ["task", "manualTask"])
def test_a_task_no_role_can_perform_is_refused_listing_the_role_lanes(ctx, mini, kind):
    text = tiny(chain(("todo", f'<bpmn:{kind} id="todo" name="办理"/>')))
    problem = only(refused(text), "todo")
    assert problem["line"] == line(text, 'id="todo"')
    assert "userTask" in problem["message"] and "scriptTask" in problem["message"]
    assert all(lane in problem["message"] for lane in LANE_ROLES)


@pytest.mark.parametrize("kind", ["sendTask", "receiveTask"])
def test_a_send_or_receive_task_without_a_message_is_refused(ctx, mini, kind):
    text = tiny(chain(("talk", f'<bpmn:{kind} id="talk"/>')))
    problem = only(refused(text), "talk")
    assert problem["line"] == line(text, 'id="talk"') and "messageRef" in problem["message"]


def test_a_receive_task_waiting_for_a_message_deploys(ctx, mini):
    deployed(definitions(process(chain(("wait", '<bpmn:receiveTask id="wait" messageRef="reply"/>'))),
                         before='<bpmn:message id="reply" name="reply"/>'))


def test_a_user_task_outside_a_role_lane_is_refused_saying_where_to_put_it(ctx, mini):
    task = ('<bpmn:userTask id="approve"><bpmn:extensionElements><spiffworkflow:properties>'
            '<spiffworkflow:property name="form" value="mini_decide"/><spiffworkflow:property name="time_limit" value="internal_approval"/>'
            "</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>")
    problem = only(refused(tiny(chain(("approve", task)))), "approve")
    assert "请把它放进" in problem["message"] and "put it inside a lane" in problem["message"]
    assert all(f"{lane}（{label}）" in problem["message"] for lane, label in LANE_ROLES.items())


# ---------------------------------------------------------------------------------- service tasks
OPERATOR = ('<bpmn:extensionElements><spiffworkflow:serviceTaskOperator id="http/GetRequest"><spiffworkflow:parameters>'
            '<spiffworkflow:parameter id="url" type="str" value="\'https://example.org\'"/></spiffworkflow:parameters>'
            "</spiffworkflow:serviceTaskOperator></bpmn:extensionElements>")


@pytest.mark.parametrize("extension", ["", OPERATOR], ids=["bare", "with_operator"])
def test_a_service_task_is_refused_before_spiffworkflow_asks_for_an_operator(ctx, mini, extension):
    text = tiny(chain(("call", f'<bpmn:serviceTask id="call">{extension}</bpmn:serviceTask>')))
    details = refused(text)
    problem = only(details, "call")
    assert problem["line"] == line(text, 'id="call"')
    assert "不运行服务任务" in problem["message"] and "scriptTask" in problem["message"]
    assert not any("operator" in d["message"] for d in details)


# ----------------------------------------------------------------------------------------- scripts
@pytest.mark.parametrize("node", ['<bpmn:scriptTask id="calc"><bpmn:script>  \n </bpmn:script></bpmn:scriptTask>',
                                  '<bpmn:scriptTask id="calc"/>'], ids=["blank", "missing"])
def test_a_script_task_without_a_script_is_refused(ctx, mini, node):
    text = tiny(chain(("calc", node)))
    problem = only(refused(text), "calc")
    assert problem["line"] == line(text, 'id="calc"') and "脚本" in problem["message"]


def test_a_script_calling_a_function_nobody_offers_is_refused_listing_the_offered_ones(ctx, mini):
    text = tiny(chain(("calc", script("calc", "env = get_env()"))))
    problem = only(refused(text), "calc")
    assert "get_env" in problem["message"] and "deadline" in problem["message"] and "len" in problem["message"]


def test_a_condition_calling_a_function_nobody_offers_is_refused(ctx, mini):
    body = chain(("gw", '<bpmn:exclusiveGateway id="gw" default="start_f1"/>'), ("calc", script("calc")))
    body += ('<bpmn:sequenceFlow id="shortcut" sourceRef="gw" targetRef="end"><bpmn:conditionExpression>lookup("x") == 1'
             "</bpmn:conditionExpression></bpmn:sequenceFlow>")
    details = refused(tiny(body))
    assert any(d["file"] == TINY and "lookup" in d["message"] for d in details)


def test_the_functions_offered_at_deploy_are_those_the_runtime_gives(ctx):
    from engine.deadlines.limits import Deadlines
    from engine.runtime.case_clock import ClockRecorder
    from engine.runtime.instance import script_engine

    engine = script_engine(Deadlines(), ClockRecorder())
    assert engine.environment.function_names == ENGINE_FUNCTIONS | SAFE_FUNCTIONS.keys()


# ------------------------------------------------------------------------------------ reachability
def test_an_element_no_flow_leads_to_is_refused(ctx, mini):
    text = tiny(chain(("calc", script("calc"))) + script("orphan") + '<bpmn:sequenceFlow id="o" sourceRef="orphan" targetRef="end"/>')
    problem = only(refused(text), "orphan")
    assert problem["line"] == line(text, 'id="orphan"') and "无法到达" in problem["message"]


def test_a_loop_with_no_way_to_an_end_is_refused_where_it_begins(ctx, mini):
    body = chain(("gw", '<bpmn:exclusiveGateway id="gw" default="start_f1"/>'), ("calc", script("calc")))
    body += script("spin") + script("spin2")
    body += ('<bpmn:sequenceFlow id="in" sourceRef="gw" targetRef="spin"><bpmn:conditionExpression>x == 1</bpmn:conditionExpression>'
             '</bpmn:sequenceFlow><bpmn:sequenceFlow id="l1" sourceRef="spin" targetRef="spin2"/>'
             '<bpmn:sequenceFlow id="l2" sourceRef="spin2" targetRef="spin"/>')
    problem = only(refused(tiny(body)), "spin")
    assert "结束事件" in problem["message"] and "end event" in problem["message"]


def test_boundary_events_event_subprocesses_and_links_count_as_reached(ctx, mini):
    body = chain(("calc", script("calc")), ("throw", '<bpmn:intermediateThrowEvent id="throw"><bpmn:linkEventDefinition name="go"/>'
                                                     "</bpmn:intermediateThrowEvent>"))
    body = body.replace('<bpmn:sequenceFlow id="start_f2" sourceRef="throw" targetRef="end"/>', "")
    body += ('<bpmn:intermediateCatchEvent id="catch"><bpmn:linkEventDefinition name="go"/></bpmn:intermediateCatchEvent>'
             '<bpmn:sequenceFlow id="c1" sourceRef="catch" targetRef="end"/>'
             '<bpmn:boundaryEvent id="late" attachedToRef="calc"><bpmn:timerEventDefinition><bpmn:timeDuration>"PT1H"'
             '</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>'
             '<bpmn:endEvent id="late_end"/><bpmn:sequenceFlow id="b1" sourceRef="late" targetRef="late_end"/>'
             '<bpmn:subProcess id="on_message" triggeredByEvent="true"><bpmn:startEvent id="ms" isInterrupting="false">'
             '<bpmn:messageEventDefinition messageRef="nudge"/></bpmn:startEvent>' + script("note") +
             '<bpmn:endEvent id="me"/><bpmn:sequenceFlow id="m1" sourceRef="ms" targetRef="note"/>'
             '<bpmn:sequenceFlow id="m2" sourceRef="note" targetRef="me"/></bpmn:subProcess>')
    deployed(definitions(process(body), before='<bpmn:message id="nudge" name="nudge"/>'))


def test_a_parallel_join_of_exclusive_branches_is_refused(ctx, mini):
    join = ("join", '<bpmn:parallelGateway id="join"/>')
    body = chain(("gw", '<bpmn:exclusiveGateway id="gw" default="start_f1"/>'), ("a", script("a")), join)
    body += ('<bpmn:sequenceFlow id="other" sourceRef="gw" targetRef="b"><bpmn:conditionExpression>x == 1</bpmn:conditionExpression>'
             '</bpmn:sequenceFlow>' + script("b") + '<bpmn:sequenceFlow id="b_join" sourceRef="b" targetRef="join"/>')
    text = tiny(body)
    problem = only(refused(text), "join")
    assert problem["line"] == line(text, 'id="join"') and "exclusiveGateway" in problem["message"]


def test_a_parallel_join_after_a_parallel_split_deploys(ctx, mini):
    body = chain(("split", '<bpmn:parallelGateway id="split"/>'), ("a", script("a")), ("join", '<bpmn:parallelGateway id="join"/>'))
    body += ('<bpmn:sequenceFlow id="other" sourceRef="split" targetRef="b"/>' + script("b")
             + '<bpmn:sequenceFlow id="b_join" sourceRef="b" targetRef="join"/>')
    deployed(tiny(body))


# ---------------------------------------------------------------------------------- data objects
DATA_OBJECT = '<bpmn:dataObject id="summary" name="摘要"/><bpmn:dataObjectReference id="summary_ref" dataObjectRef="summary"/>'


def writes(node_id: str, code: str) -> str:
    return (f'<bpmn:scriptTask id="{node_id}"><bpmn:dataOutputAssociation id="{node_id}_out"><bpmn:targetRef>summary_ref'
            f"</bpmn:targetRef></bpmn:dataOutputAssociation><bpmn:script>{code}</bpmn:script></bpmn:scriptTask>")


def reads(node_id: str, code: str) -> str:
    return (f'<bpmn:scriptTask id="{node_id}"><bpmn:property id="{node_id}_p" name="p"/><bpmn:dataInputAssociation id="{node_id}_in">'
            f"<bpmn:sourceRef>summary_ref</bpmn:sourceRef><bpmn:targetRef>{node_id}_p</bpmn:targetRef></bpmn:dataInputAssociation>"
            f"<bpmn:script>{code}</bpmn:script></bpmn:scriptTask>")


def test_a_data_object_nobody_writes_cannot_be_read(ctx, mini):
    text = tiny(chain(("use", reads("use", "y = summary"))) + DATA_OBJECT)
    problem = only(refused(text), "use")
    assert problem["line"] == line(text, 'id="use_in"') and "summary" in problem["message"] and "remove" in problem["message"]


def test_a_script_writing_a_data_object_must_set_it(ctx, mini):
    text = tiny(chain(("make", writes("make", "other = 1")), ("use", reads("use", "y = summary"))) + DATA_OBJECT)
    problem = only(refused(text), "make")
    assert problem["line"] == line(text, 'id="make_out"') and "assign summary in the script" in problem["message"]


def test_a_data_object_written_then_read_runs_through_the_api(app, api, mini):
    with app.app_context():
        deployed(tiny(chain(("make", writes("make", "summary = 41")), ("use", reads("use", "total = summary + 1"))) + DATA_OBJECT))
    status, body = api("a_handler1").post("/cases", {"procedure": "tiny", "party": PARTY})
    assert status == 201, body
    assert body["status"] == "closed"


# ------------------------------------------------------------------------------ clearer messages
def test_a_data_store_is_refused_with_its_line_and_how_to_remove_it(ctx, mini):
    node = ('<bpmn:scriptTask id="calc"><bpmn:dataOutputAssociation id="to_store"><bpmn:targetRef>store_ref</bpmn:targetRef>'
            "</bpmn:dataOutputAssociation><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>")
    text = definitions(process(chain(("calc", node)) + '\n<bpmn:dataStoreReference id="store_ref" dataStoreRef="store"/>'),
                       before='<bpmn:dataStore id="store" name="Data"/>')
    details = refused(text)
    store = only(details, "store")
    assert store["line"] == line(text, 'id="store"') and "数据存储" in store["message"] and "remove" in store["message"]
    assert only(details, "store_ref")["line"] == line(text, 'id="store_ref"')
    assert not any("Data Store with name" in d["message"] for d in details)


def test_a_data_association_to_nothing_names_the_task_not_a_python_object(ctx, mini):
    node = ('<bpmn:scriptTask id="calc"><bpmn:dataInputAssociation id="from_nowhere"><bpmn:sourceRef>ghost</bpmn:sourceRef>'
            "<bpmn:targetRef>calc</bpmn:targetRef></bpmn:dataInputAssociation><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>")
    text = tiny(chain(("calc", node)))
    details = refused(text)
    problem = only(details, "calc")
    assert problem["line"] == line(text, 'id="from_nowhere"') and "ghost" in problem["message"]
    assert not any("0x" in d["message"] or "<Element" in d["message"] for d in details)


@pytest.mark.parametrize("definition", ["<bpmn:timerEventDefinition/>",
                                        "<bpmn:timerEventDefinition><bpmn:timeDuration> </bpmn:timeDuration></bpmn:timerEventDefinition>",
                                        "<bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>"],
                         ids=["no_time", "empty_duration", "unquoted_iso"])
def test_a_timer_without_a_usable_time_names_the_timer_and_the_accepted_forms(ctx, mini, definition):
    text = tiny(chain(("wait", f'<bpmn:intermediateCatchEvent id="wait" name="等一小时">{definition}</bpmn:intermediateCatchEvent>')))
    details = refused(text)
    problem = only(details, "wait")
    assert "等一小时" in problem["message"] and "'PT1H'" in problem["message"] and "2027-01-01T09:00:00" in problem["message"]
    assert not any("Unknown Time Specification" in d["message"] for d in details)


def test_a_quoted_iso_timer_deploys(ctx, mini):
    deployed(tiny(chain(("wait", '<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:timeDuration>'
                                 "'PT1H'</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"))))


def test_an_unknown_time_limit_key_lists_the_registered_ones(ctx, mini):
    from tests.support.bundles import MINI_BPMN, mutated, problem_at, rejected

    details = rejected(mutated(MINI_BPMN, ('value="legal_review"', 'value="no_such_limit"')))
    message = problem_at(details, MINI_BPMN, element="review")["message"]
    assert "no_such_limit" in message and "internal_approval" in message and "service" in message


# ------------------------------------------------------------------------------------------- DMN
def test_a_decision_table_without_an_id_is_refused_saying_what_is_missing(ctx, mini):
    table = dmn(decision("grade", "grade", "'A'", table_id=None))
    details = refused(tiny(chain(("rate", rule_task("rate", "grade")))), (TINY_DMN, table))
    problem = only(details, "grade", file=TINY_DMN)
    assert problem["line"] == line(table, "<decisionTable") and "decisionTable" in problem["message"] and "id" in problem["message"]
    assert not any("KeyError" in d["message"] or "No DMN Diagram" in d["message"] for d in details)


def test_several_decisions_in_one_file_each_run(app, api, mini):
    table = dmn(decision("grade", "grade", "'A'"), decision("level", "level", "'high'"))
    # The check divides by zero unless both decisions gave their answer: the case only closes if they did.
    check = script("check", "ok = 1 / (1 if grade == 'A' and level == 'high' else 0)")
    with app.app_context():
        deployed(tiny(chain(("rate", rule_task("rate", "grade")), ("rank", rule_task("rank", "level")), ("check", check))),
                 (TINY_DMN, table))
    status, body = api("a_handler1").post("/cases", {"procedure": "tiny", "party": PARTY})
    assert status == 201 and body["status"] == "closed", body


def test_a_literal_expression_decision_is_refused(ctx, mini):
    table = dmn('<decision id="lit" name="文字"><literalExpression id="lit_e"><text>1</text></literalExpression></decision>')
    problem = only(refused(tiny(chain(("rate", rule_task("rate", "lit")))), (TINY_DMN, table)), "lit", file=TINY_DMN)
    assert "decisionTable" in problem["message"]


def test_a_bundle_of_decision_tables_only_names_its_file(ctx):
    parsed = parse_bundle(Bundle((BundleFile(TINY_DMN, dmn(decision("grade", "grade", "'A'")).encode()),)))
    [problem] = parsed.problems
    assert problem.file == TINY_DMN and ".bpmn" in problem.message


# ------------------------------------------------------------------------- never a 500 at run time
def start_tiny(app, api, text: str) -> dict:
    """Deploy mini + ``text``, start a ``tiny`` case through the API: a 422 naming the task, no case filed."""
    with app.app_context():
        deployed(text)
        before = cases()
    status, body = api("a_handler1").post("/cases", {"procedure": "tiny", "party": PARTY})
    assert status == 422, body
    assert body["error"] == "expression_failed"
    with app.app_context():
        assert cases() == before
    return body


def cases() -> int:
    return db.session.scalar(select(func.count()).select_from(Case)) or 0


def test_a_script_failing_when_a_case_starts_is_a_located_422_and_files_no_case(app, api, mini):
    body = start_tiny(app, api, tiny(chain(("calc", script("calc", "total = missing_field + 1")))))
    assert body["details"]["task"] == "calc" and "missing_field" in body["message"] and "calc" in body["message"]


def test_a_service_task_deployed_before_the_rule_is_a_located_422(app, api, mini, monkeypatch):
    from engine.definitions import runnable

    monkeypatch.delitem(runnable._CHECKS, "serviceTask")  # as if deployed before service tasks were refused
    body = start_tiny(app, api, tiny(chain(("call", f'<bpmn:serviceTask id="call">{OPERATOR}</bpmn:serviceTask>'))))
    assert body["details"]["task"] == "call" and "服务任务" in body["message"]


def test_an_unwrapped_error_inside_spiffworkflow_is_a_located_422(app, api, mini, monkeypatch):
    from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine

    from engine.definitions import runnable
    from engine.expressions.environment import RestrictedScriptEngine

    monkeypatch.delitem(runnable._CHECKS, "serviceTask")
    # SpiffWorkflow's own call_service: NotImplementedError, then a NameError in its own handler.
    monkeypatch.setattr(RestrictedScriptEngine, "call_service", PythonScriptEngine.call_service)
    body = start_tiny(app, api, tiny(chain(("call", f'<bpmn:serviceTask id="call">{OPERATOR}</bpmn:serviceTask>'))))
    assert body["details"]["task"] == "call" and body["details"]["error"] == "NameError"


def test_an_upload_through_the_api_is_refused_with_located_problems_and_changes_nothing(api, mini):
    import io

    designer = api("designer")
    before = designer.get("/deployments")[1]
    text = tiny(chain(("todo", '<bpmn:manualTask id="todo"/>')) + script("orphan"), executable=False)
    r = designer.client.post("/api/v1/deployments", headers=designer.headers, content_type="multipart/form-data",
                             data={"files": [(io.BytesIO(text.encode()), "tiny.bpmn")], "comment": "from bpmn.io"})
    assert r.status_code == 422, r.get_data(as_text=True)[:300]
    details = r.get_json()["details"]
    assert {(d["file"], d["element"], d["line"]) for d in details} == {
        (TINY, "tiny", line(text, '<bpmn:process')), (TINY, "todo", line(text, 'id="todo"')), (TINY, "orphan", line(text, 'id="orphan"'))}
    assert designer.get("/deployments")[1] == before


def test_an_xsd_violation_names_the_element_it_is_in_and_what_to_do(ctx, mini):
    node = '<bpmn:scriptTask id="calc"><bpmn:script>x = 1</bpmn:script>\n<bpmn:incoming>start_f0</bpmn:incoming></bpmn:scriptTask>'
    text = tiny(chain(("calc", node)))
    [problem] = [d for d in refused(text) if d["kind"] == "xsd"]
    assert (problem["file"], problem["line"], problem["element"]) == (TINY, line(text, "<bpmn:incoming>"), "calc")
    assert "请" in problem["message"]


# ------------------------------------------------------------------------- events nothing sends
def test_a_conditional_event_is_refused(ctx, mini):
    event = ('<bpmn:intermediateCatchEvent id="until"><bpmn:conditionalEventDefinition><bpmn:condition>ready == True'
             "</bpmn:condition></bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent>")
    text = tiny(chain(("until", event)))
    problem = only(refused(text), "until")
    assert problem["line"] == line(text, 'id="until"') and "exclusiveGateway" in problem["message"]


SIGNAL = '<bpmn:signal id="go_signal" name="go"/>'


def test_a_signal_nothing_throws_is_refused(ctx, mini):
    text = definitions(process(chain(("hold", '<bpmn:intermediateCatchEvent id="hold"><bpmn:signalEventDefinition '
                                              'signalRef="go_signal"/></bpmn:intermediateCatchEvent>'))), before=SIGNAL)
    problem = only(refused(text), "hold")
    assert problem["line"] == line(text, 'id="hold"') and "'go'" in problem["message"]


def test_a_signal_thrown_in_the_bundle_deploys(ctx, mini):
    body = chain(("split", '<bpmn:parallelGateway id="split"/>'),
                 ("hold", '<bpmn:intermediateCatchEvent id="hold"><bpmn:signalEventDefinition signalRef="go_signal"/>'
                          "</bpmn:intermediateCatchEvent>"), ("join", '<bpmn:parallelGateway id="join"/>'))
    body += ('<bpmn:intermediateThrowEvent id="send"><bpmn:signalEventDefinition signalRef="go_signal"/></bpmn:intermediateThrowEvent>'
             '<bpmn:sequenceFlow id="s1" sourceRef="split" targetRef="send"/>'
             '<bpmn:sequenceFlow id="s2" sourceRef="send" targetRef="join"/>')
    deployed(definitions(process(body), before=SIGNAL))
