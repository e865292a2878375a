"""What a mobile client reads from the API: officers' fields resolved to whom they may name, who may
take a step, the start form shared with the registration page, and the case search."""

from __future__ import annotations

import jsonschema
from sqlalchemy import select

from engine.models import Task, db
from engine.runtime import start_case
from tests.conftest import ROOT, deploy_dir, user
from tests.support.generic_client import GenericClient


def _filed_to_approval(app, api, frozen) -> str:
    """An ordinary case whose 立案审批 (with its officers' field assigned_handlers) is open."""
    with app.app_context():
        deploy_dir(ROOT)
        case = start_case(user("a_handler1"), "ordinary", {"party_type": "citizen", "party_name": "张三丰"}, {})
        lead = db.session.scalars(select(Task).where(Task.case_id == case.id, Task.status == "open")).one().id
        db.session.remove()
    handler = api("a_handler1")
    assert handler.post(f"/tasks/{lead}/claim")[0] == 200
    task = handler.get(f"/tasks/{lead}")[1]
    data = GenericClient(frozen.now().date()).fill(task["form_schema"], task["data"])
    status, body = handler.post(f"/tasks/{lead}/complete", {"data": data, "version": task["version"]})
    assert status == 200, body
    return next(t["id"] for t in body["next_tasks"] if t["bpmn_id"] == "file_case")


def test_officers_fields_are_served_as_enums_a_form_library_can_render(app, people, api, frozen):
    task_id = _filed_to_approval(app, api, frozen)
    status, task = api("a_head").get(f"/tasks/{task_id}")
    assert status == 200
    field = task["form_schema"]["properties"]["assigned_handlers"]
    items = field["items"]
    # Credentialed handlers of the unit only: not a_nocred (no 执法证), not unit B's officer.
    assert items["enum"] == ["a_handler1", "a_handler2", "a_head", "a_reviewer"]
    assert items["x-enumNames"] == items["enum"]  # display names (the fixture's equal the usernames)
    assert [o["const"] for o in items["oneOf"]] == items["enum"] and all(o["title"] for o in items["oneOf"])
    assert field["uniqueItems"] is True
    schema = task["form_schema"]
    assert not list(jsonschema.Draft202012Validator(field).iter_errors(["a_handler1", "a_handler2"]))
    assert list(jsonschema.Draft202012Validator(field).iter_errors(["a_handler1", "a_nocred"]))  # refused by the schema itself
    assert "assigned_handlers" in schema["properties"]
    # Who may take the step, and what the reader may do now.
    assert [o["username"] for o in task["eligible_officers"]] == ["a_head"]
    assert task["actions"] == ["claim", "complete", "reassign"] and task["documents"] == []
    status, other = api("a_handler2").get(f"/tasks/{task_id}")
    assert other["actions"] == [] and other["not_eligible_reason"]
    # The cached deployment schema itself is untouched (the page renders its own pickers from it).
    with app.app_context():
        from engine.definitions.specs import deployment_of
        from engine.forms.schema import form_schema
        from engine.models import ProcessInstance

        t = db.session.get(Task, task_id)
        deployment = deployment_of(db.session.get(ProcessInstance, t.instance_id).process_spec_id)
        assert "enum" not in form_schema(deployment, t.form)["properties"]["assigned_handlers"]["items"]


def test_start_form_is_the_engines_rule_for_page_and_api(app, people, api, frozen, mini):
    status, form = api("a_handler1").get("/start-form")
    assert status == 200 and form["may_start"] is True
    schema = form["schema"]
    procedures = schema["properties"]["procedure"]
    assert "mini" in procedures["enum"] and {"id": "mini", "name": "测试程序"} in form["procedures"]
    assert procedures["x-enumNames"][procedures["enum"].index("mini")] == "测试程序"
    assert schema["properties"]["party"]["required"] == ["party_type", "party_name"]
    assert "required" not in schema["properties"]["facts"]  # 违法行为 is recorded by each procedure's first step
    assert api("a_chief").get("/start-form")[1]["may_start"] is False  # the agency head decides, officers file
    body = {"procedure": "mini", "party": {"party_type": "citizen", "party_name": "李四"}}
    jsonschema.validate(body, schema)
    assert api("a_handler1").post("/cases", body)[0] == 201  # the API starts it without a violation ...
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/login", data={"username": "a_handler1", "password": "test-pass-2026", "csrf_token": token})
    page = client.get("/cases/new").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post("/cases/new", data={"csrf_token": token, "party_type": "citizen", "party_name": "王五",
                                        "party_id_type": "护照", "party_id_number": "E12345678", "party_address": "某市某路1号",
                                        "procedure": "mini", "action": "start"})
    assert r.status_code == 302, r.get_data(as_text=True)  # ... and so does the page (it used to insist where the engine did not)


def test_case_search_over_the_api(app, people, api, frozen, mini):
    with app.app_context():
        for name in ("张三丰", "李四", "王五"):
            start_case(user("a_handler1"), "mini", {"party_type": "citizen", "party_name": name}, {"violation": "占道经营"})
        db.session.remove()
    handler = api("a_head")
    status, body = handler.get("/cases", q="三丰")
    assert status == 200 and [c["party"]["name"] for c in body["items"]] == ["张三丰"] and body["total"] == 1
    status, body = handler.get("/cases", per_page=2)
    assert body["total"] == 3 and len(body["items"]) == 2 and body["has_next"] is True
    assert handler.get("/cases", status="closed")[1]["total"] == 0
    assert handler.get("/cases", **{"from": "2026-03-02", "to": "2026-03-02"})[1]["total"] == 3
    assert handler.get("/cases", **{"from": "2026-03-03"})[1]["total"] == 0
    assert handler.get("/cases", **{"from": "03/02/2026"})[0] == 422
    assert handler.get("/cases", **{"from": "2026-03-05", "to": "2026-03-01"})[0] == 422
    assert api("b_handler1").get("/cases")[1]["total"] == 0  # another unit's cases are not listed


def test_a_completed_task_serves_what_was_entered_by_whom_and_when(app, people, api, frozen, mini):
    with app.app_context():
        case = start_case(user("a_handler1"), "mini", {"party_type": "citizen", "party_name": "赵六"}, {"proposed_fine": 1})
        task_id = db.session.scalars(select(Task).where(Task.case_id == case.id, Task.status == "open")).one().id
        db.session.remove()
    handler = api("a_handler1")
    task = handler.get(f"/tasks/{task_id}")[1]
    assert task["record"] is None and task["actions"] == ["claim", "complete"]
    entered = {"facts": "未明码标价", "proposed_fine": 100}
    assert handler.post(f"/tasks/{task_id}/complete", {"data": entered, "version": task["version"]})[0] == 200
    done = api("a_handler2").get(f"/tasks/{task_id}")[1]
    assert done["record"]["data"] == entered and done["record"]["by"] == "a_handler1"
    assert done["record"]["at"].startswith("2026-03-02T09:00") and done["actions"] == [] and done["eligible_officers"] == []
