"""The failures the fuzzers found, pinned as plain examples (each was a 500 or a hang before its fix)."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine import clock
from engine.errors import UnsafeExpression
from engine.expressions import RestrictedEnvironment
from engine.models import db
from tests.conftest import ROOT, deploy_dir, make_user
from tests.support.sandbox import run_workflow, timer_workflow
from tests.support.uploads import nested_schema
from tests.support.web import client_csrf as csrf
from tests.support.web import form_inputs, logged_in, start


def test_json_nested_thousands_deep_is_a_400_not_a_500(app: Flask, api: Callable[[str], Any], mini: int,
                                                       frozen: clock.FrozenClock) -> None:
    _, task_id = start(app)
    handler = api("a_handler1")
    r = handler.client.post(f"/api/v1/tasks/{task_id}/complete", data=b"[" * 100_000 + b"]" * 100_000,
                            content_type="application/json", headers=handler.headers)
    assert r.status_code == 422 and r.get_json()["error"] == "invalid_input"


def test_a_posted_number_with_a_huge_exponent_is_refused_at_once(app: Flask, people: dict[str, int], mini: int,
                                                                  frozen: clock.FrozenClock) -> None:
    _, task_id = start(app)
    client = logged_in(app, "a_handler1")
    client.post(f"/tasks/{task_id}/claim", data={"csrf_token": csrf(client)})
    fields = form_inputs(client.get(f"/tasks/{task_id}").get_data(as_text=True))
    started = time.monotonic()
    r = client.post(f"/tasks/{task_id}", data={"csrf_token": fields["csrf_token"], "version": fields["version"],
                                                "facts": "经营场所未公示", "proposed_fine": "1e999999999"})
    assert r.status_code == 422 and time.monotonic() - started < 2


def test_int_of_a_long_hex_string_is_refused_before_it_can_stall_decimal() -> None:
    with pytest.raises(UnsafeExpression, match="bits"):
        RestrictedEnvironment().evaluate("Decimal(int('f' * 1000000, 16)) > 0", {})
    assert RestrictedEnvironment().evaluate("int('ff', 16) + int('12') + int(Decimal('3.7'))", {}) == 270


@pytest.mark.parametrize("expression", ["0", "'P5D'", "'not a date'", "date(2026, 3, 2)", "None"])
def test_a_timer_value_that_is_not_an_iso_string_is_a_task_error(expression: str) -> None:
    workflow = timer_workflow(expression)
    from SpiffWorkflow.util.task import TaskState

    workflow.get_next_task(state=TaskState.READY).data.update({"served_at": "2026-03-02T10:00:00"})
    clock.install_spiff_clock()
    with pytest.raises(SpiffWorkflowException, match="timer value|计时器"):
        workflow.do_engine_steps()
    run_workflow(timer_workflow("'2026-03-20T00:00:00+08:00'"), {})  # a proper value still arms the timer


def test_method_not_allowed_names_the_allowed_methods(app: Flask, api: Callable[[str], Any]) -> None:
    r = api("a_handler1").client.delete("/api/v1/cases", headers=api("a_handler1").headers)
    assert r.status_code == 405 and {"GET", "POST"} <= {m.strip() for m in r.headers["Allow"].split(",")}


def test_anonymous_api_write_is_401_not_a_csrf_400(app: Flask, people: dict[str, int]) -> None:
    r = app.test_client().post("/api/v1/cases", json={"procedure": "mini"})
    assert r.status_code == 401 and r.get_json()["error"] == "unauthenticated"


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    ("get", "/calendar/9223372036854775806", None, 404),
    ("post", "/tick", [None], 422),
    ("post", "/tick", False, 422),
    ("post", "/tick", {"now": {}}, 422),
    ("post", "/time-limits/legal_review/apply", {"reason": [1]}, 422),
    ("put", "/time-limits/legal_review", {"amount": 5, "unit": ["working_days"]}, 422),
    ("post", "/cases/1/clock/extend", {"days": 5, "reason": [None]}, 422),
    ("post", "/migrations", {"cases": [2**70]}, 422),
    ("post", "/migrations", {"filter": {"process_id": "mini", "from_deployment": 2**70}}, 422),
])
def test_malformed_api_input_is_a_4xx(app: Flask, api: Callable[[str], Any], method: str, path: str, body: Any,
                                      status: int) -> None:
    with app.app_context():
        make_user("all_roles", "unit_a", ["administrator", "process_designer", "agency_head"])
        db.session.remove()
    caller = api("all_roles")
    r = caller.client.open("/api/v1" + path, method=method.upper(), headers=caller.headers, json=body)
    assert r.status_code == status, r.get_data(as_text=True)


@pytest.mark.parametrize("content", [b"[" * 50_000, nested_schema(300), nested_schema(5_000)], ids=["unclosed", "deep", "deeper"])
def test_a_form_nested_too_deeply_is_a_listed_problem_not_a_500(app: Flask, api: Callable[[str], Any], content: bytes) -> None:
    with app.app_context():
        deploy_dir(ROOT)
        db.session.remove()
    designer = api("designer")
    r = designer.client.post("/api/v1/deployments", headers=designer.headers, content_type="multipart/form-data",
                             data={"files": [(io.BytesIO(content), "forms/lead_registration.json")]})
    assert r.status_code == 422 and r.get_json()["details"][0]["file"] == "forms/lead_registration.json"
