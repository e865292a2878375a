"""Hostile task completions: arbitrary JSON to the API and arbitrary posted fields to the task page.

Property: the answer is never a 500; a refusal (4xx) changes nothing — the instance keeps its
version and state, the task stays open with the same assignee, no audit event is written. An
accepted completion (the generator does find valid data now and then) moves the case on, and the
next example gets a fresh case.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from engine import clock
from tests.fuzz import fuzz
from tests.support.open_task import Open
from tests.support.web import form_inputs, logged_in

DECLARED = ["facts", "proposed_fine"]  # the mini 登记 form (tests/data/mini/forms/mini_register.json)
HOSTILE_KEYS = ["party_type", "case_number", "unit_code", "deadline", "len", "review_required", "__class__",
                "__proto__", "", " facts", "facts\x00", "ｆａｃｔｓ", "proposed_fine.x", "evidence_items-0-name"]
CURRENT = object()  # stands for "the instance's current version" in a generated body

scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=-(10**30), max_value=10**30)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=50)
           | st.sampled_from(["1e999999999", "-0", "0.001", "100.005", "2026-02-30", "NaN", "Infinity", "１００",
                              "<script>alert(1)</script>", "' OR 1=1 --", "{{7*7}}", "\ufffd\u0000\u202e"]))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                           max_leaves=12)
facts = st.text(min_size=0, max_size=600) | json_values
fines = (st.integers(min_value=-5, max_value=2_000_000) | st.floats(allow_nan=True, allow_infinity=True)
         | st.decimals(allow_nan=False, allow_infinity=False, places=3).map(float) | json_values)
data = (st.fixed_dictionaries({}, optional={"facts": facts, "proposed_fine": fines})
        | st.dictionaries(st.sampled_from(DECLARED + HOSTILE_KEYS) | st.text(max_size=12), json_values, max_size=5)
        | json_values)
bodies = st.one_of(
    st.fixed_dictionaries({"data": data}, optional={"version": st.just(CURRENT) | json_values}),
    st.fixed_dictionaries({"data": data, "version": st.just(CURRENT)}),
    json_values,
)
raw_bodies = st.binary(max_size=200) | st.sampled_from([b"", b"{", b'{"data": NaN, "version": 1}', b'{"data": {"proposed_fine": 1e999}}',
                                                         b'{"data": {"facts": "\xff\xfe"}}', b"[" * 5000 + b"]" * 5000,
                                                         b'{"data": {"proposed_fine": ' + b"9" * 5000 + b"}}"])

fields = st.dictionaries(st.sampled_from(DECLARED + HOSTILE_KEYS + ["version", "csrf_token"]) | st.text(max_size=12),
                         st.lists(st.text(max_size=80) | st.sampled_from(["1e999999999", "1e-999999999", "-1", "1,000.5", "１００",
                                                                          "100.001", "nan", "inf", " ", "\x00"]),
                                  min_size=1, max_size=3),
                         max_size=6)


def test_arbitrary_json_completion_is_refused_cleanly_or_accepted(app: Flask, api: Callable[[str], Any], mini: int,
                                                                   frozen: clock.FrozenClock) -> None:
    handler = api("a_handler1")
    task = Open(app, lambda task_id: handler.post(f"/tasks/{task_id}/claim")[0] == 200)

    @fuzz(120)
    @given(body=bodies | raw_bodies)
    def attempt(body: Any) -> None:
        before = task.snapshot()
        if isinstance(body, bytes):
            payload = body
        else:
            if isinstance(body, dict) and body.get("version") is CURRENT:
                body = {**body, "version": before["version"]}
            payload = json.dumps(body, allow_nan=True).encode()
        r = handler.client.post(f"/api/v1/tasks/{task.id}/complete", data=payload, content_type="application/json",
                                headers=handler.headers)
        assert r.status_code < 500, (r.status_code, r.get_data(as_text=True)[:500])
        if r.status_code == 200:
            task.renew()
            return
        assert r.status_code in (400, 409, 413, 422), r.status_code
        error = r.get_json()
        assert isinstance(error, dict) and {"error", "message"} <= error.keys()
        assert task.snapshot() == before, "a refused completion changed the case"

    attempt()


def test_arbitrary_posted_fields_on_the_task_page_are_refused_cleanly_or_accepted(app: Flask, people: dict[str, int], mini: int,
                                                                                  frozen: clock.FrozenClock) -> None:
    client = logged_in(app, "a_handler1")

    def claim(task_id: str) -> bool:
        token = form_inputs(client.get("/").get_data(as_text=True))["csrf_token"]
        return client.post(f"/tasks/{task_id}/claim", data={"csrf_token": token}).status_code in (302, 303)

    task = Open(app, claim)
    token = form_inputs(client.get(f"/tasks/{task.id}").get_data(as_text=True))["csrf_token"]

    @fuzz(100)
    @given(posted=fields, keep_version=st.booleans())
    def attempt(posted: dict[str, list[str]], keep_version: bool) -> None:
        before = task.snapshot()
        form = [(name, value) for name, values in posted.items() if name not in ("csrf_token", "version") for value in values]
        form.append(("csrf_token", token))
        form += [("version", str(before["version"]))] if keep_version else [("version", v) for v in posted.get("version", [])]
        started = time.monotonic()
        r = client.post(f"/tasks/{task.id}", data=MultiDict(form))
        assert time.monotonic() - started < 5, "a posted form took more than 5 s to answer"
        assert r.status_code < 500, (r.status_code, r.get_data(as_text=True)[:500])
        if r.status_code in (302, 303):
            task.renew()
            return
        assert r.status_code in (400, 409, 422), r.status_code
        assert task.snapshot() == before, "a refused completion changed the case"

    attempt()
