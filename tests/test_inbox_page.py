"""The landing page lists the officer's tasks from the projection, with legal due dates, escaped."""

from __future__ import annotations

from engine.runtime import start_case
from tests.conftest import user
from tests.support.web import login


def test_available_tasks_show_due_day_at_24h_and_escape_party_names(app, people, mini, frozen):
    with app.app_context():
        start_case(user("a_handler1"), "mini", {"party_type": "citizen", "party_name": "<script>alert(1)</script>"},
                   {"proposed_fine": 1})
    client = app.test_client()
    login(client, "a_handler2")
    page = client.get("/?scope=available").get_data(as_text=True)
    assert "data-task-id" in page and "2026-03-05 24:00" in page and "正常" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    client_b = app.test_client()
    login(client_b, "b_handler1")
    assert "data-task-id" not in client_b.get("/?scope=available").get_data(as_text=True)


def test_inbox_requires_login(app):
    r = app.test_client().get("/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
