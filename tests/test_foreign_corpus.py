"""BPMN and DMN as other tools write them (issue 18): every case of tests/data/foreign either deploys
and runs to its end through the API, or is refused with located, actionable problems and nothing
deployed. No answer is ever a 500.

Each case folder is uploaded as one bundle through ``POST /api/v1/deployments`` by a process designer,
merged onto the shipped library, and judged by the verdict its files declare (tests/data/foreign/README.md):

- **run**: the deploy answers 201 and activates the case's process; a case of it is started with the
  start form the API serves, filled by the generic JSON-Schema client (tests/support/generic_client.py);
  every task is done by an officer the API names as eligible (none is ever without one), timers are
  fired through ``POST /tick``; the case ends ``closed`` with every instance ``completed``, and the
  task data reached the values the verdict names (decision-table results);
- **refuse**: a 4xx whose every problem names a file of the case, its line and element, says in
  Chinese what to do and shows no program text; the fragments and elements the verdict names appear;
  the latest deployment and the active processes are unchanged;
- **run-or-refuse**: either of the above (the issue allows converting or refusing the construct).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from engine import clock
from engine.admin.agencies import ensure_agency
from engine.admin.users import ensure_roles, ensure_unit, issue_token
from engine.db.caches import clear_all as clear_engine_caches
from engine.deadlines.limits import seed_reference_data
from engine.models import User, db
from tests.conftest import AGENCY, ROOT, START, deploy_dir, make_user
from tests.support.database import empty_database
from tests.support.foreign import Case, CountingApi, all_cases, diagram_faults, refusal_faults
from tests.support.generic_client import GenericClient

CASES = all_cases()
MAX_STEPS = 40
# A unit as an agency sets it up: roles and credentials, not steps (who takes a step is read from the API).
BOTH = ("law_enforcement", "legal_qualification")
STAFF = [(["handler"], BOTH), (["handler"], BOTH), (["unit_head", "handler"], BOTH), (["legal_reviewer"], BOTH),
         (["agency_head"], BOTH), (["hearing_host", "hearing_clerk"], BOTH), (["process_designer"], ()), (["administrator"], ())]


def test_the_corpus_is_large_and_covers_both_verdicts() -> None:
    files = [p for case in CASES for p in case.files if p.suffix in (".bpmn", ".dmn")]
    assert len(files) >= 40, len(files)
    assert any(case.verdict.outcomes == {"run"} for case in CASES)
    assert any(case.verdict.outcomes == {"refuse"} for case in CASES)


def test_diagrams_in_the_corpus_are_drawn_as_the_modelers_draw_them() -> None:
    """A file with a BPMNDiagram draws every flow node, lane, pool and sequence flow once, and draws
    nothing that is not in the file; a DMNDI shape draws a decision of its file."""
    drawn = 0
    for case in CASES:
        for path in case.files:
            if path.suffix in (".bpmn", ".dmn"):
                faults = diagram_faults(path)
                assert not faults, f"{case.name}/{path.name}: {faults}"
                drawn += "BPMNDiagram" in path.read_text(encoding="utf-8") or "DMNDiagram" in path.read_text(encoding="utf-8")
    assert drawn >= 10, drawn


@pytest.fixture(autouse=True)
def _database() -> Iterator[None]:
    """Replaces conftest's per-test emptying: the cases share one database (see ``world``)."""
    yield


@pytest.fixture(scope="module")
def world(app: Flask) -> Iterator[dict[str, Any]]:
    """One database for the module: the shipped library deployed, officers of every lane role in one
    unit, a designer and an administrator, a token client for each, and one list of every answer.
    A refused case changes nothing; a case that runs adds its own process, so the cases stay apart."""
    seen: list[tuple[str, int]] = []
    frozen = clock.FrozenClock(START)
    clock.set_default_clock(frozen)
    try:
        with app.app_context():
            ensure_roles()
            seed_reference_data()
            ensure_agency("fc_agency", "外来样例市场监督管理局", "外样监", **AGENCY)
            ensure_unit("fc_unit", "外来样例执法队", "外样监")
            for i, (roles, creds) in enumerate(STAFF):
                make_user(f"fc_officer_{i + 1}", "fc_unit", roles, creds)
            deploy_dir(ROOT)
            clients = {u.username: CountingApi(app.test_client(), issue_token(u), seen)
                       for u in db.session.scalars(select(User).order_by(User.id))}
            designer = next(u.username for u in db.session.scalars(select(User).order_by(User.id)) if u.has_role("process_designer"))
            db.session.commit()
            db.session.remove()
        yield {"clients": clients, "designer": clients[designer], "seen": seen, "today": frozen.now().date()}
    finally:
        clock.set_default_clock(None)
        with app.app_context():
            empty_database()
        clear_engine_caches()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_foreign_case_gets_its_verdict(case: Case, world: dict[str, Any]) -> None:
    designer: CountingApi = world["designer"]
    first_answer = len(world["seen"])
    before = designer.get("/deployments")[1]
    status, answer = designer.upload(case)
    if status == 202:  # four-eyes deployment (on with PostgreSQL): a second person approves the submission
        status, answer = _approve(world["clients"], designer, answer["id"])
    _report(case, status, answer)
    if status == 201 and "run" in case.verdict.outcomes:
        _run(case, world, answer)
    elif 400 <= status < 500 and "refuse" in case.verdict.outcomes:
        faults = refusal_faults(case, (answer or {}).get("details") or [])
        assert not faults, "\n".join([f"refusal of {case.name} is not clean:", *faults, f"answer: {answer}"])
        after = designer.get("/deployments")[1]
        assert (after["items"][0]["id"], after["active"]) == (before["items"][0]["id"], before["active"]), "something was deployed"
    else:
        wanted = " or ".join(sorted(case.verdict.outcomes))
        pytest.fail(f"{case.name}: expected {wanted}, the deploy answered {status}: {str(answer)[:1500]}")
    errors = [what for what, code in world["seen"][first_answer:] if code >= 500]
    assert not errors, errors


def _run(case: Case, world: dict[str, Any], deployed: dict[str, Any]) -> None:
    clients: dict[str, CountingApi] = world["clients"]
    mine = [pid for pid in case.process_ids() if deployed["active"].get(pid) == deployed["id"]]
    assert mine, f"the deploy activated none of {case.process_ids()}: {deployed['active']}"
    starter = next(c for c in clients.values() if c.get("/start-form")[1]["may_start"])
    form = starter.get("/start-form")[1]
    startable = [pid for pid in mine if pid in form["schema"]["properties"]["procedure"]["enum"]]
    assert startable, f"none of {mine} can be started: {form['procedures']}"
    seen_data: list[dict[str, Any]] = []
    for pid in startable:
        client = GenericClient(world["today"])
        status, started = starter.post("/cases", client.fill(form["schema"], {"procedure": pid}))
        assert status == 201, (pid, started)
        case_file = _work(started["id"], clients, client, seen_data)
        assert case_file["status"] == "closed", (pid, case_file["status"], case_file["instances"])
        assert all(i["status"] == "completed" for i in case_file["instances"]), case_file["instances"]
    for name, value in case.verdict.data.items():
        reached = [d.get(name) for d in seen_data if name in d]
        assert value in reached, f"{name}: expected {value!r}, the tasks held {reached!r}"


def _work(case_id: int, clients: dict[str, CountingApi], client: GenericClient, seen_data: list[dict[str, Any]]) -> dict[str, Any]:
    """Do every open task of the case as the API says (eligible officers, served form), fire timers."""
    case_file: dict[str, Any] = {}
    last_timer = None
    for _ in range(MAX_STEPS):
        case_file = _first_ok(clients, f"/cases/{case_id}")
        waiting = [t for t in case_file["tasks"] if t["status"] == "open"]
        if not waiting:
            if case_file["status"] != "open":
                return case_file
            timers = sorted(i["next_timer_at"] for i in case_file["instances"] if i["next_timer_at"])
            assert timers, f"nothing to do and no timer: {case_file['status']} {case_file['instances']}"
            assert timers[0] != last_timer, f"the timer due at {last_timer} was fired and is still pending (a silent no-op)"
            last_timer = timers[0]
            _tick(clients, (dt.datetime.fromisoformat(timers[0]) + dt.timedelta(seconds=1)).isoformat())
            continue
        task = _first_ok(clients, f"/tasks/{waiting[0]['id']}")
        eligible = [o["username"] for o in task["eligible_officers"] if o["username"] in clients]
        assert task["assignee"] or eligible, f"nobody may do {task['bpmn_id']} (role {task['role']!r})"
        performer = clients[task["assignee"] or eligible[0]]
        if task["assignee"] is None:
            status, claimed = performer.post(f"/tasks/{task['id']}/claim")
            assert status == 200, claimed
        status, task = performer.get(f"/tasks/{task['id']}")
        assert status == 200 and "complete" in task["actions"], task
        seen_data.append(task["data"] or {})
        data = client.fill(task["form_schema"] or {"type": "object"}, task["data"] or {})
        status, answer = performer.post(f"/tasks/{task['id']}/complete", {"data": data, "version": task["version"]})
        assert status == 200, (task["bpmn_id"], data, answer)
    return case_file


def _first_ok(clients: dict[str, CountingApi], path: str) -> Any:
    """What the first user allowed to read ``path`` gets (the last such reader is asked first)."""
    for name in sorted(clients, key=lambda n: n != _READER.get("last")):
        status, body = clients[name].get(path)
        if status == 200:
            _READER["last"] = name
            return body
    raise AssertionError(f"nobody may read {path}")


_READER: dict[str, str] = {}


def _tick(clients: dict[str, CountingApi], now: str) -> None:
    """Fire the due timers as an administrator would (``POST /tick``); none may fail."""
    for c in clients.values():
        status, fired = c.post("/tick", {"now": now})
        if status == 200:
            assert not fired["failed"], fired
            return
    raise AssertionError("nobody may fire timers")


def _report(case: Case, status: int, answer: Any) -> None:
    """With ZHIFA_FOREIGN_REPORT=<file>, one JSON line per case: what the deploy answered (for reviews)."""
    path = os.environ.get("ZHIFA_FOREIGN_REPORT")
    if path:
        problems = [f"{d.get('file')}:{d.get('line')} [{d.get('element')}] {d.get('message')}" for d in (answer or {}).get("details") or []]
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"case": case.name, "status": status, "problems": problems}, ensure_ascii=False) + "\n")


def _approve(clients: dict[str, CountingApi], submitter: CountingApi, submission: int) -> tuple[int, Any]:
    """The first reviewer other than the submitter who may approve does (the answer is the deployment's)."""
    for c in clients.values():
        if c is not submitter:
            status, answer = c.post(f"/deployments/submissions/{submission}/approve", {"comment": "四眼审核通过"})
            if status not in (401, 403):
                return status, answer
    raise AssertionError("nobody may approve the submission")
