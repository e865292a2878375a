"""Working the HTML pages in tests: logging in, reading CSRF tokens and form inputs, a mini case to act on."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from flask import Flask
from flask.testing import FlaskClient

from engine.models import Task, db
from engine.runtime import start_case
from tests.conftest import PASSWORD, user

# The 线索登记 form of the ordinary procedure, filled in as an officer would.
LEAD = {
    "lead_source": "complaint", "lead_received_on": "2026-03-02", "lead_summary": "举报未明码标价",
    "verification_findings": "情况属实", "filing_recommendation": "file", "recommendation_reason": "涉嫌违法",
}


def form_inputs(page: str) -> dict[str, str]:
    """name -> value of the page's <input> elements (the first of each name)."""
    class Inputs(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.found: dict[str, str] = {}

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            named = dict(attrs)
            if tag == "input" and named.get("name"):
                self.found.setdefault(named["name"] or "", named.get("value") or "")

    parser = Inputs()
    parser.feed(page)
    return parser.found


def page_csrf(page: str) -> str:
    """The CSRF token of a page's form (hand-written or WTForms-rendered: attributes in any order after the name)."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def client_csrf(client: FlaskClient, path: str = "/") -> str:
    """The CSRF token of the page at ``path`` (the session's token: any page of it will do)."""
    return form_inputs(client.get(path).get_data(as_text=True))["csrf_token"]


def login(client: FlaskClient, username: str) -> None:
    token = page_csrf(client.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302, f"login as {username}: {r.status_code}"


def logged_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    login(client, username)
    return client


def start(app: Flask, party_name: str = "某某食品有限公司") -> tuple[int, str]:
    """A mini case filed by a_handler1 in unit A; returns (case id, its open 登记 task id)."""
    with app.app_context():
        case = start_case(user("a_handler1"), "mini", {"party_type": "organization", "party_name": party_name},
                          {"proposed_fine": 100})
        task_id = db.session.query(Task.id).filter_by(case_id=case.id, status="open").scalar()
        db.session.remove()
        return case.id, task_id


def assignee(app: Flask, task_id: str) -> int | None:
    with app.app_context():
        task = db.session.get(Task, task_id)
        assert task is not None and task.status == "open"
        found = task.assignee_id
        db.session.remove()
        return found


def attempt(client: FlaskClient, username: str, password: str):  # noqa: ANN201 - a werkzeug TestResponse
    """One login attempt through the login page, as a person (or a guesser) would make it."""
    token = form_inputs(client.get("/login").get_data(as_text=True))["csrf_token"]
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})
