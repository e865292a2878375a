"""What scripts and officers can put into task data (issue 20, items 9 and 10).

- A script storing ``today()``, ``now()``, a ``Decimal``, a set, a ``range`` (or a dict view) was a 500
  when the case was saved. They are ordinary values: dates, datetimes, ``timedelta`` and ``Decimal``
  round-trip with their types, a set is stored as a sorted list, a range or view as a list. A generator
  (or NaN, a complex number...) is refused with a 422 naming the script task and the field, and nothing
  is applied.
- A script could overwrite ``case_number``, ``party_name``, ``unit_code``, ``opened_on``,
  ``party_type`` (and the helper functions): refused at deploy in every binding form, naming file,
  line and element; at run time the true values are put back from the case row after every script.
- ``NaN``/``Infinity`` in submitted data passed ``minimum``/``maximum`` and made the API emit invalid
  JSON: refused with a 422 naming the field.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from engine import clock
from engine.definitions import deploy_bundle
from engine.definitions.serialization import dump_state, load_state
from engine.definitions.specs import load_specs
from engine.errors import InvalidInput, UnsafeExpression
from engine.expressions import make_script_engine
from engine.models import Case, ProcessInstance, Task, db
from engine.runtime import complete_task, start_case
from engine.runtime.instance import ready_user_tasks
from tests.conftest import START, user
from tests.support.bundles import (
    MINI_BPMN,
    MINI_DMN,
    PARTY,
    add_script_task,
    edited,
    line_of,
    mutated,
    original,
    problem_at,
    rejected,
    with_file,
    xml_text,
)
from tests.support.web import form_inputs, logged_in

STORING = "\n".join([
    "opened = today()",
    "stamp = now()",
    "fine = Decimal('200.50') * 2",
    "tags = {'b', 'a', 'c'}",
    "mixed = {1, 'a'}",
    "steps = range(3)",
    "keys = {'x': 1, 'y': 2}.keys()",
    "pairs = {'x': 1}.items()",
    "wait = timedelta(days=3)",
    "nested = [{'when': today(), 'tags': set([3, 1])}]",
])


def deploy_with_script(script: str, after: str = "start", before: str = "register", flow: str = "f1") -> None:
    deploy_bundle(with_file(MINI_BPMN, add_script_task(original(MINI_BPMN), script, after=after, before=before, flow=flow)), "test")


def instance_of(case_id: int) -> ProcessInstance:
    return db.session.scalars(select(ProcessInstance).where(ProcessInstance.case_id == case_id)).one()


def ready_data(case_id: int) -> dict[str, Any]:
    instance = instance_of(case_id)
    workflow = load_state(instance.state, load_specs(instance.process_spec_id))
    [task] = ready_user_tasks(workflow)
    return task.data


# ---------------------------------------------------------------------------------------------------
# Item 9: what a script stores is saved, typed
# ---------------------------------------------------------------------------------------------------
def test_dates_decimals_sets_and_ranges_stored_by_a_script_round_trip(ctx, people, frozen) -> None:
    deploy_with_script(STORING)
    case = start_case(user("a_handler1"), "mini", PARTY, {"proposed_fine": 100})  # was a 500 when saving
    db.session.remove()

    today = START.astimezone(clock.SHANGHAI).date()
    for _ in range(2):  # stored, then stored again by the next command
        data = ready_data(case.id)
        assert data["opened"] == today and type(data["opened"]) is dt.date
        assert data["stamp"] == START and type(data["stamp"]) is dt.datetime and data["stamp"].utcoffset() == dt.timedelta(hours=8)
        assert data["fine"] == Decimal("401.00") and type(data["fine"]) is Decimal
        assert data["tags"] == ["a", "b", "c"]  # a set: sorted, so the stored order never depends on hashing
        assert data["mixed"] == [1, "a"]  # types that do not compare: by type name, then text
        assert data["steps"] == [0, 1, 2]
        assert data["keys"] == ["x", "y"]
        assert data["pairs"] in ([("x", 1)], [["x", 1]])
        assert data["wait"] == dt.timedelta(days=3)
        assert data["nested"] == [{"when": today, "tags": [1, 3]}]
        task_id = db.session.scalar(select(Task.id).where(Task.case_id == case.id, Task.status == "open"))
        if task_id is None or db.session.get(Task, task_id).bpmn_id != "register":
            break
        complete_task(user("a_handler1"), task_id, {"facts": "经营场所未公示", "proposed_fine": 100})
        db.session.remove()


def test_the_api_shows_stored_dates_and_decimals_as_text(app: Flask, people, frozen, api) -> None:
    with app.app_context():
        deploy_with_script(STORING)
        case = start_case(user("a_handler1"), "mini", PARTY, {"proposed_fine": 100})
        task_id = db.session.scalar(select(Task.id).where(Task.case_id == case.id, Task.status == "open"))
        db.session.remove()
    status, body = api("a_handler1").get(f"/tasks/{task_id}")
    assert status == 200
    assert body["data"]["fine"] == "401.00" and body["data"]["tags"] == ["a", "b", "c"]
    assert body["data"]["opened"] == START.astimezone(clock.SHANGHAI).date().isoformat()


@pytest.mark.parametrize(("script", "field", "what"), [
    pytest.param("g = (i for i in range(3))", "g", "生成器", id="generator"),
    pytest.param("rows = [(i for i in range(3))]", "rows.0", "生成器", id="generator-in-a-list"),
    pytest.param("x = float('nan')", "x", "非有限数值", id="nan"),
    pytest.param("x = {'a': float('1e308') * 10}", "x.a", "非有限数值", id="infinity"),
    pytest.param("x = Decimal('NaN')", "x", "非有限数值", id="decimal-nan"),
    pytest.param("x = (-1) ** 0.5", "x", "complex", id="complex"),
    pytest.param("x = {(1, 2): 3}", "x.(1, 2)", "字典键", id="tuple-key"),
])
def test_an_unstorable_value_is_refused_naming_the_script_task_and_nothing_is_created(ctx, people, frozen, script: str,
                                                                                     field: str, what: str) -> None:
    deploy_with_script(script)
    cases_before = db.session.scalar(select(func.count()).select_from(Case))
    with pytest.raises(UnsafeExpression) as caught:
        start_case(user("a_handler1"), "mini", PARTY, {"proposed_fine": 100})
    message = caught.value.message
    assert message.startswith("脚本任务「计算」(script of task calc)")  # the task by name and id, Chinese first
    assert f"任务数据字段 '{field}'" in message and what in message
    assert caught.value.details["task"] == "calc" and caught.value.details["field"] == field
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Case)) == cases_before


def test_through_the_api_a_generator_is_a_422_naming_the_task(app: Flask, people, frozen, api) -> None:
    with app.app_context():
        deploy_with_script("g = (i for i in range(3))")
        before = db.session.scalar(select(func.count()).select_from(Case))
        db.session.remove()
    status, body = api("a_handler1").post("/cases", {"procedure": "mini", "party": {"type": "citizen", "name": "张三"},
                                                     "facts": {"proposed_fine": 100}})
    assert status == 422 and body["error"] == "unsafe_expression"
    assert "calc" in body["message"] and "生成器" in body["message"] and "list(...)" in body["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == before


def test_values_an_expression_hands_back_are_normalised_the_same_way() -> None:
    """A decision-table output or any evaluated value lands in task data too."""
    from engine.expressions import RestrictedEnvironment

    env = RestrictedEnvironment()
    assert env.evaluate("{3, 1, 2}", {}) == [1, 2, 3]
    assert env.evaluate("range(3)", {}) == [0, 1, 2]
    assert env.evaluate("[today(), {'k': set([2, 1])}]", {})[1] == {"k": [1, 2]}
    for source in ("float('nan')", "(y for y in [1])", "[1, float('-inf')]"):
        with pytest.raises(UnsafeExpression, match="无法保存"):
            env.evaluate(source, {})


def test_the_serializer_refuses_what_it_cannot_store_with_a_422_not_a_500(ctx, people, frozen) -> None:
    from engine.errors import ExpressionFailed

    deploy_with_script("x = 1")
    case = start_case(user("a_handler1"), "mini", PARTY, {"proposed_fine": 100})
    instance = instance_of(case.id)
    workflow = load_state(instance.state, load_specs(instance.process_spec_id))
    [task] = ready_user_tasks(workflow)
    task.data["odd"] = object()  # nothing in zhifa puts one there; the serializer still answers clearly
    with pytest.raises(ExpressionFailed, match="无法保存"):
        dump_state(workflow)
    task.data["odd"] = {(1, 2): 3}
    with pytest.raises(ExpressionFailed, match="无法保存"):
        dump_state(workflow)
    db.session.rollback()


# ---------------------------------------------------------------------------------------------------
# Item 10: reserved names
# ---------------------------------------------------------------------------------------------------
RESERVED_ASSIGNMENTS = [
    pytest.param("case_number = 'X市监案〔2026〕999号'", "case_number", 1, id="assign"),
    pytest.param("total = 1\nparty_name += '（已核实）'", "party_name", 2, id="augmented"),
    pytest.param("a, (b, unit_code) = 1, (2, 'unit_b')", "unit_code", 1, id="tuple-unpacking"),
    pytest.param("[first, *opened_on] = [1, 2]", "opened_on", 1, id="starred-unpacking"),
    pytest.param("del party_type", "party_type", 1, id="del"),
    pytest.param("for case_number in ['x']:\n    pass", "case_number", 1, id="for-target"),
    pytest.param("total = 0\nif total == 0:\n    x = 1\n    party_name = 'x'", "party_name", 4, id="nested-block"),
    pytest.param("(party_name := 'x')", "party_name", 1, id="walrus"),
    pytest.param("with open('f') as case_number:\n    pass", "case_number", 1, id="with-target"),
    pytest.param("deadline = 1", "deadline", 1, id="helper-function"),
    pytest.param("today = 1", "today", 1, id="safe-function"),
]


@pytest.mark.parametrize(("script", "name", "line"), RESERVED_ASSIGNMENTS)
def test_a_script_rebinding_a_reserved_name_is_refused_at_deploy(ctx, mini, script: str, name: str, line: int) -> None:
    bpmn = add_script_task(original(MINI_BPMN), script)
    details = rejected(with_file(MINI_BPMN, bpmn))
    problem = problem_at(details, MINI_BPMN, element="calc", kind="expression")
    reserved = [d for d in details if d["element"] == "calc" and f"reserved name '{name}'" in d["message"]]
    assert reserved, details
    assert f"脚本第 {line} 行给系统保留的名称 '{name}'" in reserved[0]["message"]
    assert problem["line"] == line_of(bpmn, 'id="calc"')


@pytest.mark.parametrize("where", ["preScript", "postScript"])
def test_a_pre_or_post_script_rebinding_a_reserved_name_is_refused(ctx, mini, where: str) -> None:
    prop = '<spiffworkflow:property name="time_limit" value="service"/>\n        </spiffworkflow:properties>'
    bundle = mutated(MINI_BPMN, (prop, prop + f"<spiffworkflow:{where}>{xml_text('case_number = 1')}</spiffworkflow:{where}>"))
    details = rejected(bundle)
    problem = [d for d in details if d["element"] == "serve" and "reserved name 'case_number'" in d["message"]]
    assert problem and problem[0]["file"] == MINI_BPMN and problem[0]["line"]


def test_a_decision_output_named_after_a_reserved_name_is_refused(ctx, mini) -> None:
    bundle = mutated(MINI_DMN, ('name="review_required"', 'name="party_name"'))
    details = rejected(bundle)
    problem = problem_at(details, MINI_DMN, element="out_required", kind="expression")
    assert "party_name" in problem["message"]
    assert problem["line"] == line_of(edited(MINI_DMN, ('name="review_required"', 'name="party_name"')), 'id="out_required"')


def test_reading_reserved_names_and_comprehension_variables_deploy(ctx, mini) -> None:
    script = "label = case_number + party_name\nnames = [case_number for case_number in ['a']]"
    assert deploy_bundle(with_file(MINI_BPMN, add_script_task(original(MINI_BPMN), script)), "test").id != mini


def test_the_environment_puts_true_values_back_after_a_script() -> None:
    reads: list[int] = []

    def truth() -> dict[str, Any]:
        reads.append(1)
        return {"case_number": "真案号", "party_name": "张三", "unit_code": "unit_a"}

    engine = make_script_engine(protected={"case_number", "party_name", "unit_code", "opened_on"}, protected_values=truth)
    data: dict[str, Any] = {"case_number": "真案号", "party_name": "张三", "unit_code": "unit_a"}
    engine.environment.execute("x = 1", data)
    assert reads == []  # read only when a script rebinds one of them
    engine.environment.execute("case_number = '伪造'\ndel party_name\nfor unit_code in ['unit_b']:\n    pass\nopened_on = 'x'", data)
    assert data == {"case_number": "真案号", "party_name": "张三", "unit_code": "unit_a", "x": 1}
    assert reads == [1]


@pytest.mark.timeout(120)
def test_a_forging_script_deployed_before_the_lint_cannot_change_the_case_data(app: Flask, people, frozen, api,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Second line of defence: a deployment made before the lint existed (simulated by switching the
    lint's check off) still cannot forge the case number or party: the case row's values come back."""
    import engine.definitions.lint as lint

    script = "case_number = 'X市监案〔2026〕9999号'\nparty_name = '伪造的当事人'\nunit_code = 'unit_b'\ndel opened_on"
    with app.app_context():
        monkeypatch.setattr(lint, "_reserved_assignments", lambda *args: [])
        deploy_with_script(script, after="register", before="assess", flow="f2")
        monkeypatch.undo()
        case = start_case(user("a_handler1"), "mini", PARTY, {"proposed_fine": 100})
        truth = (case.case_number, case.party_name)
        task_id = db.session.scalar(select(Task.id).where(Task.case_id == case.id, Task.status == "open"))
        complete_task(user("a_handler1"), task_id, {"facts": "经营场所未公示", "proposed_fine": 100})
        data = ready_data(case.id)
        assert (data["case_number"], data["party_name"]) == truth
        assert data["unit_code"] == "unit_a" and data["opened_on"] == START.astimezone(clock.SHANGHAI).date().isoformat()
        next_task = db.session.scalar(select(Task.id).where(Task.case_id == case.id, Task.status == "open"))
        db.session.remove()
    status, body = api("a_handler1").get(f"/tasks/{next_task}")
    assert status == 200 and body["data"]["case_number"] == truth[0] and body["data"]["party_name"] == truth[1]


# ---------------------------------------------------------------------------------------------------
# Item 10: NaN and Infinity in submitted data
# ---------------------------------------------------------------------------------------------------
def _open_register(app: Flask) -> tuple[int, str]:
    with app.app_context():
        case = start_case(user("a_handler1"), "mini", PARTY, {"proposed_fine": 100})
        task_id = db.session.scalar(select(Task.id).where(Task.case_id == case.id, Task.status == "open"))
        db.session.remove()
        return case.id, task_id


def _state(app: Flask, case_id: int) -> tuple[Any, ...]:
    with app.app_context():
        instance = instance_of(case_id)
        tasks = sorted((t.id, t.status) for t in db.session.scalars(select(Task).where(Task.case_id == case_id)))
        found = (instance.version, instance.state, tasks)
        db.session.remove()
        return found


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_a_non_finite_number_in_a_completion_is_a_422_naming_the_field(app: Flask, people, mini, frozen, api,
                                                                       literal: str) -> None:
    case_id, task_id = _open_register(app)
    before = _state(app, case_id)
    handler = api("a_handler1")
    body = '{"data": {"facts": "经营场所未公示", "proposed_fine": ' + literal + "}}"
    r = handler.client.post(f"/api/v1/tasks/{task_id}/complete", data=body, content_type="application/json",
                            headers=handler.headers)
    assert r.status_code == 422, r.get_data(as_text=True)
    answer = r.get_json()
    assert answer["error"] == "invalid_input" and answer["message"].startswith("数值必须是有限数")
    assert [d["field"] for d in answer["details"]] == ["proposed_fine"]
    assert _state(app, case_id) == before
    text = handler.client.get(f"/api/v1/tasks/{task_id}", headers=handler.headers).get_data(as_text=True)
    json.loads(text, parse_constant=lambda c: pytest.fail(f"the API emitted {c}"))


def test_a_non_finite_fact_is_refused_when_the_case_is_filed(app: Flask, people, mini, frozen, api) -> None:
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(Case))
    handler = api("a_handler1")
    body = '{"procedure": "mini", "party": {"type": "citizen", "name": "张三"}, "facts": {"proposed_fine": NaN}}'
    r = handler.client.post("/api/v1/cases", data=body, content_type="application/json", headers=handler.headers)
    assert r.status_code == 422 and [d["field"] for d in r.get_json()["details"]] == ["proposed_fine"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == before


def test_a_non_finite_number_typed_into_the_form_is_a_422(app: Flask, people, mini, frozen) -> None:
    case_id, task_id = _open_register(app)
    before = _state(app, case_id)
    client = logged_in(app, "a_handler1")
    fields = form_inputs(client.get(f"/tasks/{task_id}").get_data(as_text=True))
    r = client.post(f"/tasks/{task_id}", data={"csrf_token": fields["csrf_token"], "version": fields["version"],
                                               "facts": "经营场所未公示", "proposed_fine": "nan"})
    assert r.status_code == 422
    assert _state(app, case_id) == before


def test_nested_non_finite_numbers_are_named_by_their_path(ctx, people, mini, frozen) -> None:
    from engine.expressions import refuse_non_finite

    with pytest.raises(InvalidInput) as caught:
        refuse_non_finite({"rows": [{"amount": 1.0}, {"amount": float("inf")}], "x": Decimal("NaN"), "ok": 1e308})
    assert [d["field"] for d in caught.value.details] == ["rows.1.amount", "x"]
    refuse_non_finite({"a": [1, 2.5, Decimal("3.1")], "b": True})
