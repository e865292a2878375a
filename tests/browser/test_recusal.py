"""回避 from the case page: a handler records the party's request against a colleague, the agency head
grants it; the 回避决定书 is on the case, the colleague's task is back in the pool, and the page asks the
unit head for a new handler (法 Art. 42, 43)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page
from sqlalchemy import select

from engine import clock
from engine.models import Task, db
from engine.runtime import claim_task, complete_task
from tests.browser.conftest import Demo, login
from tests.conftest import user

pytestmark = pytest.mark.browser

SUPERMARKET = "某某超市有限公司"  # demo case: lead registered, waiting for 立案审批 (unit head)
SHOTS = Path("/tmp/zhifa-shots")
WHY = "当事人称承办人a_handler2与其法定代表人系近亲属，提交了户籍证明。"


def test_a_recusal_is_requested_and_decided_from_the_case_page(
        app: Flask, new_page: Callable[..., Page], demo: Demo, frozen: clock.FrozenClock) -> None:
    task = demo.task(SUPERMARKET)
    with app.app_context():
        claim_task(user("a_head"), task.task_id)
        complete_task(user("a_head"), task.task_id, {
            "filing_decision": "file", "case_cause": "销售不符合食品安全标准的食品案", "filed_on": "2026-03-02",
            "assigned_handlers": ["a_handler1", "a_handler2"], "filing_opinion": "同意立案"})
        investigate = db.session.scalars(select(Task).where(Task.case_id == task.case_id, Task.status == "open")).one()
        claim_task(user("a_handler2"), investigate.id)
        db.session.remove()
    SHOTS.mkdir(parents=True, exist_ok=True)
    case_url = f"/cases/{task.case_id}"

    handler = login(new_page(), "a_handler1")
    handler.goto(case_url)
    assert handler.locator("#designated-handlers li").count() == 2
    handler.locator("#recusal-request summary").click()
    handler.locator("#recusal-officer").select_option("a_handler2")
    handler.locator("#recusal-source").select_option("party")
    handler.locator("#recusal-reason").fill(WHY)
    submit(handler, "#recusal-form")
    assert "调查不停止" in handler.locator(".alert-success").inner_text()
    request = handler.locator('#recusals li[data-n="1"]')
    assert request.get_attribute("data-status") == "pending" and "当事人申请回避" in request.inner_text()
    assert handler.locator("#recusal-decider-note").count() == 1, "a handler is told who decides"
    assert request.locator("form.decide-recusal").count() == 0

    chief = login(new_page(), "a_chief")
    chief.goto(case_url)
    form = chief.locator('#recusals li[data-n="1"] form.decide-recusal')
    form.locator('input[value="granted"]').check()
    form.locator("textarea[name=reason]").fill("申请理由成立，承办人与当事人法定代表人系近亲属。")
    with chief.expect_navigation():
        form.locator("button[type=submit]").click()
    assert "该人员不再参与本案" in chief.locator(".alert-success").inner_text()
    decided = chief.locator('#recusals li[data-n="1"]')
    assert decided.get_attribute("data-status") == "granted" and "决定回避" in decided.inner_text()
    assert chief.locator("#handlers-short").is_visible(), "one designated handler is left: the page says so"
    assert chief.locator("#documents a", has_text="回避决定书").count() == 1
    timeline = chief.locator("#timeline").inner_text()
    assert "登记回避申请" in timeline and "作出回避决定" in timeline and "任务退回待办池" in timeline
    chief.locator("#officers").scroll_into_view_if_needed()
    chief.screenshot(path=str(SHOTS / "case-recusal-granted.png"), full_page=True)

    with chief.expect_navigation():
        decided.locator("a.recusal-document").click()
    body = chief.locator("body").inner_text()
    assert "回避决定书" in body and "a_handler2" in body and "决定回避" in body and "第四十三条" in body
    chief.screenshot(path=str(SHOTS / "recusal-decision-document.png"), full_page=True)

    with app.app_context():
        investigate = db.session.get(Task, investigate.id)
        assert investigate.status == "open" and investigate.assignee_id is None, "back in the pool"
        db.session.remove()
    colleague = login(new_page(), "a_handler2")
    colleague.goto(f"/tasks/{investigate.id}")
    assert "已决定回避本案" in colleague.locator("body").inner_text()
    assert not handler.js_errors + chief.js_errors + colleague.js_errors  # type: ignore[attr-defined]


def submit(page: Page, form: str) -> None:
    with page.expect_navigation():
        page.locator(f"{form} button[type=submit]").click()
