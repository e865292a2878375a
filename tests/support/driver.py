"""Working a case as officers do, by engine command or through the HTTP API.

``run`` is the scenario fixture of the procedure tests: each test that takes it runs twice, once by
engine command and once through the HTTP API (submitting only fields of the form schema the API
returned), on SQLite or on PostgreSQL with ZHIFA_TEST_DATABASE_URL.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from engine import clock
from engine.definitions.serialization import load_state
from engine.definitions.specs import load_specs
from engine.documents.numbering import allocate_range
from engine.errors import ZhifaError
from engine.models import Case, Document, ProcessInstance, Task, db
from engine.runtime import claim_task, complete_task, fire_due_timers, start_case
from engine.runtime.instance import ready_user_tasks
from tests.conftest import ROOT, deploy_dir, make_user, user


class Driver:
    """Works a case as officers would, by engine command or by HTTP API."""

    def __init__(self, mode: str, api: Any, frozen: clock.FrozenClock) -> None:
        self.mode, self.frozen = mode, frozen
        self.clients: dict[str, Any] = {}
        self._new_client = api
        self.case_id = 0
        self.done: list[str] = []

    def api(self, username: str) -> Any:
        if username not in self.clients:
            self.clients[username] = self._new_client(username)
        return self.clients[username]

    def start(self, procedure: str, party: dict, facts: dict, starter: str = "a_handler1") -> None:
        if self.mode == "engine":
            self.case_id = start_case(user(starter), procedure, party, facts).id
        else:
            status, body = self.api(starter).post("/cases", {"procedure": procedure, "party": party, "facts": facts})
            assert status == 201, body
            self.case_id = body["id"]

    def ready(self) -> list[str]:
        db.session.remove()
        return sorted(t.bpmn_id for t in db.session.scalars(select(Task).where(Task.case_id == self.case_id, Task.status == "open")))

    def task(self, bpmn_id: str) -> Task:
        db.session.remove()
        tasks = db.session.scalars(select(Task).where(Task.case_id == self.case_id, Task.status == "open", Task.bpmn_id == bpmn_id)).all()
        assert tasks, f"{bpmn_id} is not open; open: {self.ready()}"
        return tasks[0]

    def complete(self, bpmn_id: str, username: str, data: dict) -> None:
        task_id = self.task(bpmn_id).id
        if self.mode == "engine":
            claim_task(user(username), task_id)
            complete_task(user(username), task_id, data)
        else:
            client = self.api(username)
            status, task = client.get(f"/tasks/{task_id}")
            assert status == 200, task
            fields = set(task["form_schema"]["properties"])
            assert set(data) <= fields, f"{bpmn_id}: fields not in the returned form schema: {set(data) - fields}"
            assert set(task["form_schema"].get("required", [])) <= set(data) | _conditional(task["form_schema"], data)
            assert client.post(f"/tasks/{task_id}/claim")[0] == 200
            status, body = client.post(f"/tasks/{task_id}/complete", {"data": data, "version": task["version"]})
            assert status == 200, body
        self.done.append(bpmn_id)

    def attempt(self, bpmn_id: str, username: str, data: dict) -> tuple[int, dict]:
        """Submit as ``complete`` does, but return what the officer is told: (status, {message, details})."""
        task_id = self.task(bpmn_id).id
        if self.mode == "engine":
            try:
                claim_task(user(username), task_id)
                complete_task(user(username), task_id, data)
            except ZhifaError as exc:
                return exc.status, {"message": exc.message, "details": exc.details}
            self.done.append(bpmn_id)
            return 200, {}
        client = self.api(username)
        status, task = client.get(f"/tasks/{task_id}")
        assert status == 200, task
        status, body = client.post(f"/tasks/{task_id}/claim")
        if status != 200:
            return status, body
        status, body = client.post(f"/tasks/{task_id}/complete", {"data": data, "version": task["version"]})
        if status == 200:
            self.done.append(bpmn_id)
        return status, body

    def tick(self, when: dt.datetime) -> None:
        self.frozen.set(when)
        if self.mode == "engine":
            assert not fire_due_timers().failed
        else:
            status, body = self.api("admin").post("/tick", {"now": when.isoformat()})
            assert status == 200, body

    @property
    def case(self) -> Case:
        db.session.remove()
        return db.session.get(Case, self.case_id)

    @property
    def data(self) -> dict:
        db.session.remove()
        instance = db.session.scalars(select(ProcessInstance).where(ProcessInstance.case_id == self.case_id)).one()
        wf = load_state(instance.state, load_specs(instance.process_spec_id))
        ready = ready_user_tasks(wf)
        return dict(ready[0].data) if ready else dict(wf.last_task.data)


    def returned_because(self, bpmn_id: str) -> str | None:
        """Why the open step came back, as the officer is told (the API's ``returned_because``)."""
        task = self.task(bpmn_id)
        if self.mode == "api":
            status, body = self.api("a_chief").get(f"/tasks/{task.id}")
            assert status == 200, body
            assert body["returned_because"] == task.returned_because
        return task.returned_because

    def documents(self, doc_type: str) -> list[dict[str, Any]]:
        """The case's 文书 of one type, oldest first: number and whether (and why) it is void."""
        if self.mode == "api":
            status, body = self.api("a_chief").get(f"/cases/{self.case_id}")
            assert status == 200, body
            return [{"number": d["number"], "voided": d["voided"], "void_reason": d["void_reason"]}
                    for d in body["documents"] if d["type"] == doc_type]
        db.session.remove()
        rows = db.session.scalars(select(Document).where(Document.case_id == self.case_id, Document.doc_type == doc_type)
                                  .order_by(Document.id)).all()
        return [{"number": d.number, "voided": d.voided_at is not None, "void_reason": d.void_reason} for d in rows]

def _conditional(schema: dict, data: dict) -> set[str]:
    """Fields required only under an if/then branch that does not apply (never submitted)."""
    names: set[str] = set()
    for rule in schema.get("allOf", []):
        names |= set(rule.get("then", {}).get("required", []))
    return names


@pytest.fixture(params=["engine", "api"])
def run(request, ctx, people, frozen, api) -> Driver:
    deploy_dir(ROOT)
    make_user("a_host", "unit_a", ["hearing_host"], ("law_enforcement",))
    make_user("a_clerk", "unit_a", ["hearing_clerk"], ())
    allocate_range(user("admin"), "a_handler1", "当场〔2026〕", "0001", "0100")  # 号段 for on-the-spot decisions
    db.session.remove()
    driver = Driver(request.param, api, frozen)
    if request.param == "api":  # tokens issued before the case starts, as a user would hold one
        for name in ("a_handler1", "a_handler2", "a_head", "a_chief", "a_reviewer", "a_host", "a_clerk", "admin"):
            driver.api(name)
    return driver
