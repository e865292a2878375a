"""A decision above the proposal, made on its task page, sends the report back: the handler lands on
the returned task and reads why (rule and article), and the case page shows the refused path's
documents as 作废 with the reason."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page
from sqlalchemy import select

from engine import clock
from engine.models import Task, db
from engine.runtime import complete_task, start_case
from tests.browser.conftest import Demo, login
from tests.conftest import DATA, deploy_dir, user

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/zhifa-shots")
ART_45 = "行政处罚法第四十五条"


def test_officer_sees_why_the_task_came_back_and_the_void_documents(
        app: Flask, new_page: Callable[..., Page], demo: Demo, frozen: clock.FrozenClock) -> None:
    with app.app_context():
        deploy_dir(DATA / "returns")  # a report, a decision, and a return path when it is above the report
        case = start_case(user("a_handler1"), "returns_test", {"party_type": "organization", "party_name": "某某食品有限公司"},
                          {"violation": "销售过期食品"})
        report = db.session.scalars(select(Task.id).where(Task.case_id == case.id, Task.status == "open")).one()
        complete_task(user("a_handler1"), report, {"facts_found": "当事人销售超过保质期的食品。", "proposed_fine": 5000})
        decide = db.session.scalars(select(Task.id).where(Task.case_id == case.id, Task.status == "open")).one()
        case_id = case.id
        db.session.remove()
    SHOTS.mkdir(parents=True, exist_ok=True)

    chief = login(new_page(), "a_chief")
    chief.goto(f"/tasks/{decide}")
    assert chief.locator("#returned-because").count() == 0, "a task that was not sent back has no banner"
    form = chief.locator("form#task-form")
    form.locator("select[name=decided_penalty_kind]").select_option("fine")
    form.locator("input[name=decided_fine]").fill("8000")  # above the 5,000 元 the report proposed
    with chief.expect_navigation():
        chief.locator("button#complete").click()

    with app.app_context():
        returned = db.session.scalars(select(Task.id).where(Task.case_id == case_id, Task.status == "open")).one()
        db.session.remove()
    handler = login(new_page(), "a_handler1")
    handler.goto(f"/tasks/{returned}")
    banner = handler.locator("#returned-because")
    assert banner.is_visible(), "the officer lands on the returned task and sees why at the top"
    assert ART_45 in banner.inner_text() and "退回" in banner.inner_text()
    handler.screenshot(path=str(SHOTS / "returned-task.png"), full_page=True)

    handler.goto(f"/cases/{case_id}")
    void = handler.locator("#documents li[data-voided]")
    assert void.count() == 2, "the report and the decision approval form issued on the refused path"
    for text in void.all_inner_texts():
        assert "作废" in text and ART_45 in text
    assert "退回重办" in handler.locator("#timeline").inner_text()
    handler.locator("#documents").scroll_into_view_if_needed()
    handler.screenshot(path=str(SHOTS / "case-void-documents.png"), full_page=True)

    handler.locator("#documents li[data-voided] a").first.click()
    assert handler.locator("#voided").is_visible(), "the print view of a void document says so"
    handler.screenshot(path=str(SHOTS / "void-document-print.png"), full_page=True)
