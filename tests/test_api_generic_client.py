"""A generic JSON-Schema client works an ordinary case from lead to 结案 through ``/api/v1`` alone.

The client knows nothing of zhifa's procedures, forms or people. It fills each form from the schema
the API serves (required fields, enums and ``const`` → the first allowed value, officers' fields →
the usernames the schema's ``enum`` allows, formats → a value of that format, conditional
requirements → what ``jsonschema`` says is missing) and the data the task already holds. Who takes a
step is read from the API (``assignee``, ``eligible_officers``); the users are created with
``zhifa users create --credential`` and their tokens with ``zhifa users token``, so a scripted set-up
yields officers who can work. No username is tied to a step anywhere in this file.
"""

from __future__ import annotations

from typing import Any

import jsonschema

from tests.conftest import Api
from tests.support.generic_client import GenericClient

# A unit as an agency would set it up: roles and credentials, not steps. Names are arbitrary.
STAFF = [
    ("officer_1", ["handler"], ["law_enforcement"]),
    ("officer_2", ["handler"], ["law_enforcement"]),
    ("officer_3", ["handler"], ["law_enforcement"]),
    ("officer_4", ["handler", "hearing_host"], ["law_enforcement"]),
    ("section_chief", ["unit_head", "handler"], ["law_enforcement"]),
    ("reviewer", ["legal_reviewer"], ["law_enforcement", "legal_qualification"]),
    ("clerk", ["hearing_clerk"], []),
    ("director", ["agency_head"], ["law_enforcement"]),
    ("operator", ["administrator"], []),
]


def _staff(app) -> dict[str, Api]:
    """Users made by the CLI as a deployment script would, and a token client for each."""
    runner = app.test_cli_runner()
    clients = {}
    for i, (name, roles, credentials) in enumerate(STAFF):
        args = ["users", "create", name, "--unit", "team_1", "--display-name", f"人员{i + 1}"]
        args += [a for role in roles for a in ("--role", role)]
        args += [a for kind in credentials for a in ("--credential", f"{kind}:NO-{i}-{kind}:2030-12-31")]
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
        token = runner.invoke(args=["users", "token", name])
        assert token.exit_code == 0, token.output
        clients[name] = Api(app.test_client(), token.output.strip().splitlines()[-1])
    return clients


def _first_ok(clients: dict[str, Api], path: str) -> Any:
    for client in clients.values():
        status, body = client.get(path)
        if status == 200:
            return body
    raise AssertionError(f"nobody may read {path}")


def test_a_generic_client_completes_every_task_of_an_ordinary_case(app, frozen):
    from tests.conftest import ROOT, deploy_dir

    with app.app_context():
        deploy_dir(ROOT)
    clients = _staff(app)
    # Start: the first user the API says may start a case fills the served start form.
    starter = next(c for c in clients.values() if c.get("/start-form")[1]["may_start"])
    form = starter.get("/start-form")[1]
    assert "ordinary" in form["schema"]["properties"]["procedure"]["enum"]
    client = GenericClient(frozen.now().date())
    body = client.fill(form["schema"], {"procedure": "ordinary"})
    jsonschema.validate(body, form["schema"])
    status, case = starter.post("/cases", body)
    assert status == 201, case
    case_id, done = case["id"], []
    for _ in range(60):
        case = _first_ok(clients, f"/cases/{case_id}")
        waiting = [t for t in case["tasks"] if t["status"] == "open"]
        if not waiting:
            if case["status"] == "closed":
                break
            timers = sorted(i["next_timer_at"] for i in case["instances"] if i["next_timer_at"])
            assert timers, f"nothing to do and no timer: {case['status']}"
            assert any(c.post("/tick", {"now": timers[0]})[0] == 200 for c in clients.values())
            continue
        task = _first_ok(clients, f"/tasks/{waiting[0]['id']}")
        who = task["assignee"] or next(o["username"] for o in task["eligible_officers"] if o["username"] in clients)
        performer = clients[who]
        if task["assignee"] is None:
            status, claimed = performer.post(f"/tasks/{task['id']}/claim")
            assert status == 200, claimed
        status, task = performer.get(f"/tasks/{task['id']}")  # officers' choices exclude the performer himself
        assert status == 200 and "complete" in task["actions"], task
        data = client.fill(task["form_schema"] or {"type": "object"}, task["data"])
        status, answer = performer.post(f"/tasks/{task['id']}/complete", {"data": data, "version": task["version"]})
        assert status == 200, (task["bpmn_id"], data, answer)
        done.append(task["bpmn_id"])
    assert case["status"] == "closed", done
    assert done[0] == "register_lead" and done[-1] == "close_case"
    assert {"file_case", "investigate", "investigation_report", "notify_party", "decide", "serve_decision"} <= set(done), done
    assert client.picked_officers, "no officers' field was filled from a served enum"  # 立案: the designated handlers
