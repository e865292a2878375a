"""Procedure metadata, continued (engine/definitions/procedures.py, procedure_checks.py): the part a
procedure plays in the supervision figures and the form a case of it is filed with are properties of
its own BPMN ``<process>``, checked at deploy time; a sixth procedure needs no code change."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from engine import clock
from engine.definitions import BundleFile, deploy_bundle
from engine.definitions.procedures import known, procedure, supervised
from engine.errors import InvalidInput
from engine.models import Case, Task, db
from engine.queries import supervision as sv
from engine.record import audit
from engine.runtime import start_case
from tests.conftest import make_user, user
from tests.support.bundles import MINI_BPMN, PARENT_BPMN, edited, line_of, mini_bundle, problem_at, rejected
from tests.support.web import logged_in, page_csrf

PARTY = {"party_type": "organization", "party_name": "某某餐饮有限公司"}
MARCH_1, MARCH_31 = dt.date(2026, 3, 1), dt.date(2026, 3, 31)
REVIEW = (("supervision_kind", "legal_review"), ("review_step", "review"), ("review_outcome_field", "opinion"),
          ("review_returned_value", "return"))
START_FORM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema", "title": "现场检查立案", "type": "object",
    "required": ["inspection_place"],
    "properties": {
        "inspection_place": {"title": "检查地点", "type": "string", "minLength": 2, "maxLength": 200, "x-widget": "text"},
        "goods_value": {"title": "货值金额（元）", "type": "number", "minimum": 0, "x-widget": "money"},
    },
}


def tagged(path: str, process_tag: str, *props: tuple[str, str]) -> str:
    """``path`` of the mini bundle with ``props`` on the process opened by ``process_tag``, one per line
    (so a problem's line names the property)."""
    lines = "".join(f'\n<spiffworkflow:property name="{n}" value="{v}"/>' for n, v in props)
    return edited(path, (process_tag, process_tag + f"<bpmn:extensionElements><spiffworkflow:properties>{lines}\n"
                                                   "</spiffworkflow:properties></bpmn:extensionElements>"))


MINI_TAG = '<bpmn:process id="mini" name="测试程序" isExecutable="true">'
CHILD_TAG = '<bpmn:process id="mini_child" name="子流程" isExecutable="true">'


def bundle(*props: tuple[str, str], forms: dict[str, Any] | None = None, child: tuple[tuple[str, str], ...] = ()):
    files = [BundleFile(MINI_BPMN, tagged(MINI_BPMN, MINI_TAG, *props).encode("utf-8"))]
    if child:
        files.append(BundleFile(PARENT_BPMN, tagged(PARENT_BPMN, CHILD_TAG, *child).encode("utf-8")))
    files += [BundleFile(f"forms/{name}.json", json.dumps(schema, ensure_ascii=False).encode("utf-8"))
              for name, schema in (forms or {}).items()]
    return mini_bundle().replace(files)


# ---------------------------------------------------------------------------------------------------
# Supervision: the legal-review and hearing procedures are found from their own properties
# ---------------------------------------------------------------------------------------------------
def at(day: int) -> dt.datetime:
    return dt.datetime(2026, 3, day, 9, 0, tzinfo=clock.SHANGHAI)


def step_row(case: Case, process_id: str, bpmn_id: str, completed: dt.datetime) -> Task:
    """A completed task as the runtime projects it (the figures read only the projection and the chain)."""
    opened = db.session.scalars(select(Task).where(Task.case_id == case.id)).first()
    assert opened is not None
    task = Task(id=str(uuid.uuid4()), instance_id=opened.instance_id, case_id=case.id, process_id=process_id, bpmn_id=bpmn_id,
                name="步骤", role="legal_reviewer", unit_id=case.unit_id, created_at=completed - dt.timedelta(days=1),
                status="completed", completed_at=completed)
    db.session.add(task)
    db.session.flush()
    return task


def reviewed(case: Case, opinion: str, day: int) -> None:
    task = step_row(case, "mini", "review", at(day))
    audit.record("task.completed", "a_reviewer", {"task": "法制审核", "bpmn_id": "review", "data": {"opinion": opinion}},
                 case_id=case.id, task_id=task.id)


def march() -> sv.Filters:
    return sv.make_filters(user("supervisor"), None, MARCH_1, MARCH_31, now=at(20))


@pytest.fixture
def mini_reviews(app, people, mini, frozen, ctx) -> list[Case]:
    """Three mini cases whose 法制审核 step (``review``) was completed: approve, return, approve; two of
    them decided as ordinary cases, one of which ran ``mini_child``."""
    make_user("supervisor", "unit_a", ["supervisor"], ())
    frozen.set(at(2))
    cases = [start_case(user("a_handler1"), "mini", PARTY, {}) for _ in range(3)]
    for case, opinion, day in zip(cases, ("approve", "return", "approve"), (10, 11, 12), strict=True):
        reviewed(case, opinion, day)
    for case in cases[:2]:
        case.procedure, case.decided_at = "ordinary", at(15)
    step_row(cases[0], "mini_child", "child_task", at(13))
    db.session.commit()
    return cases


def test_a_sixth_procedure_marked_as_legal_review_counts_in_the_supervision_figures(mini_reviews) -> None:
    # Unmarked, the mini procedure's review step is just a step: no legal review in the period.
    assert (sv.review_return_rate(march()).numerator, sv.review_return_rate(march()).denominator) == (0, 0)
    assert sv.hearing_rate(march()).numerator == 0
    deploy_bundle(bundle(*REVIEW, child=(("supervision_kind", "hearing"),)), "test", "法制审核与听证角色")
    db.session.commit()
    db.session.remove()
    mini_procedure = procedure("mini")
    assert mini_procedure is not None and (mini_procedure.supervision_kind, mini_procedure.review_step) == ("legal_review", "review")
    assert "mini" in [p.process_id for p in supervised("legal_review")]
    rate = sv.review_return_rate(march())
    assert (rate.numerator, rate.denominator) == (1, 3)  # read from its own form's field and "returned" value
    hearings = sv.hearing_rate(march())
    assert (hearings.numerator, hearings.denominator) == (1, 2) and hearings.note == ""  # mini_child is a deployed hearing
    # The shipped library still names its own (cases of a procedure not deployed here keep counting).
    assert {"legal_review", "mini"} <= {p.process_id for p in supervised("legal_review")}
    assert known()["hearing"].supervision_kind == "hearing"


# ---------------------------------------------------------------------------------------------------
# Deploy-time checks, each located at the property at fault
# ---------------------------------------------------------------------------------------------------
BAD_START_FORMS = {
    "start_party": {**START_FORM, "required": [], "properties": {"party_name": {"title": "名称", "type": "string"}}},
    "start_nested": {**START_FORM, "required": [], "properties": {"items": {"title": "物品", "type": "array"}}},
}


@pytest.mark.parametrize(("props", "at_fault", "says"), [
    ((("supervision_kind", "legal_review"),), "supervision_kind", "缺少 review_step、review_outcome_field、review_returned_value"),
    ((("supervision_kind", "audit"),), "supervision_kind", "supervision_kind 须为 legal_review 或 hearing"),
    ((*REVIEW[:1], ("review_step", "no_such_step"), *REVIEW[2:]), "review_step", "'no_such_step' 不是本流程的用户任务"),
    ((*REVIEW[:2], ("review_outcome_field", "outcome"), *REVIEW[3:]), "review_outcome_field",
     "'outcome' 不在审核环节 review 的表单 mini_review 中"),
    ((*REVIEW[:3], ("review_returned_value", "rejected")), "review_returned_value", "'rejected' 不是字段 opinion 的可选值"),
    ((("review_step", "review"),), "review_step", "review_step 只用于法制审核程序"),
    ((("start_form", "no_such_form"),), "start_form", "立案表单 start_form 'no_such_form' 不是本部署中的表单"),
    ((("start_form", "start_party"),), "start_form", "字段 'party_name' 由系统或当事人部分设定"),
    ((("start_form", "start_nested"),), "start_form", "字段 'items' 须为小写下划线命名的单值字段"),
])
def test_a_procedure_role_or_start_form_the_bundle_lacks_is_refused_at_its_property(
        app, mini, ctx, props: tuple[tuple[str, str], ...], at_fault: str, says: str) -> None:
    text = tagged(MINI_BPMN, MINI_TAG, *props)
    details = rejected(bundle(*props, forms=BAD_START_FORMS))
    found = problem_at(details, MINI_BPMN, line=line_of(text, f'name="{at_fault}"'), element="mini", kind="lint")
    assert says in found["message"] and "(" in found["message"]  # Chinese, then English


def test_well_formed_roles_and_start_form_deploy(app, mini, ctx) -> None:
    deploy_bundle(bundle(*REVIEW, ("start_form", "mini_start"), forms={"mini_start": START_FORM}), "test")
    db.session.remove()
    found = procedure("mini")
    assert found is not None and (found.start_form, found.review_returned_value) == ("mini_start", "return")


# ---------------------------------------------------------------------------------------------------
# The start form: the procedure's own, on the page, in the API and in start_case
# ---------------------------------------------------------------------------------------------------
@pytest.fixture
def own_start_form(app, people, mini, frozen) -> None:
    with app.app_context():
        deploy_bundle(bundle(("start_form", "mini_start"), forms={"mini_start": START_FORM}), "test", "立案表单")
        db.session.commit()
        db.session.remove()


def test_start_case_checks_the_facts_against_the_procedures_start_form(app, own_start_form, ctx) -> None:
    with pytest.raises(InvalidInput) as refused:
        start_case(user("a_handler1"), "mini", PARTY, {"violation": "占道经营"})
    assert [d["field"] for d in refused.value.details] == ["inspection_place"]
    db.session.rollback()
    case = start_case(user("a_handler1"), "mini", PARTY, {"inspection_place": "某市某路1号", "goods_value": 300})
    assert case.facts == {"inspection_place": "某市某路1号", "goods_value": 300}
    db.session.commit()
    # A procedure without a start form keeps the engine's default facts (nothing required).
    assert start_case(user("a_handler1"), "mini_quick", PARTY, {"violation": "占道经营"}).facts == {"violation": "占道经营"}


def test_the_api_serves_each_procedures_start_form(app, own_start_form, api) -> None:
    handler = api("a_handler1")
    status, form = handler.get("/start-form", procedure="mini")
    assert status == 200 and form["procedure"] == "mini"
    facts = form["schema"]["properties"]["facts"]
    assert set(facts["properties"]) == {"inspection_place", "goods_value"} and facts["required"] == ["inspection_place"]
    assert form["facts_by_procedure"]["mini"] == facts
    assert set(form["facts_by_procedure"]["mini_quick"]["properties"]) == {"violation", "penalty_kind", "proposed_fine"}
    every = handler.get("/start-form")[1]["schema"]["properties"]["facts"]  # before choosing: every procedure's, none required
    assert {"inspection_place", "violation"} <= set(every["properties"]) and "required" not in every
    assert handler.get("/start-form", procedure="no_such")[0] == 404
    status, body = handler.post("/cases", {"procedure": "mini", "party": {"party_type": "citizen", "party_name": "李四"},
                                           "facts": {"violation": "占道经营"}})
    assert status == 422 and "inspection_place" in json.dumps(body, ensure_ascii=False)
    status, _ = handler.post("/cases", {"procedure": "mini", "party": {"party_type": "citizen", "party_name": "李四"},
                                        "facts": {"inspection_place": "某市某路1号"}})
    assert status == 201


CITIZEN = {"party_type": "citizen", "party_name": "王五", "party_id_type": "护照", "party_id_number": "E12345678",
           "party_address": "某市某路1号"}


def test_the_registration_page_shows_and_takes_the_chosen_procedures_fields(app, own_start_form) -> None:
    client = logged_in(app, "a_handler1")
    chosen = client.get("/cases/new?procedure=mini").get_data(as_text=True)
    assert 'data-field-name="inspection_place"' in chosen and "检查地点" in chosen
    assert 'data-field-name="violation"' not in chosen
    every = client.get("/cases/new").get_data(as_text=True)  # none chosen yet: every procedure's fields, tagged
    assert 'data-field-name="inspection_place"' in every and 'data-field-name="violation"' in every
    assert "data-start-facts=" in every and "start_facts.js" in every
    token = page_csrf(chosen)
    r = client.post("/cases/new", data={"csrf_token": token, **CITIZEN, "violation": "占道经营", "procedure": "mini",
                                        "action": "start"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and 'data-field="inspection_place"' in page
    r = client.post("/cases/new", data={"csrf_token": token, **CITIZEN, "inspection_place": "某市某路2号", "violation": "占道经营",
                                        "procedure": "mini", "action": "start"})
    assert r.status_code == 302, r.get_data(as_text=True)
    with app.app_context():
        case = db.session.get(Case, int(r.headers["Location"].rsplit("/", 1)[1]))
        assert case is not None and case.facts == {"inspection_place": "某市某路2号"}  # only the chosen procedure's fields
