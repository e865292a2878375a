"""Forms that follow the officer's choices, in a real browser (issue 17): a field only one answer needs
appears (starred) when that answer is chosen and is not posted otherwise; officer pickers are
searchable selects, not Ctrl-click lists. Screenshots in /tmp/shots/h4/ (or $ZHIFA_SHOTS)."""

from __future__ import annotations

from flask import Flask
from playwright.sync_api import Page, expect

from engine.models import Task, db
from tests.browser.conftest import Demo, login
from tests.support.screenshots import shot

SUPERMARKET = "某某超市有限公司"  # demo case: lead registered, waiting for 立案审批 (unit head)
RESTAURANT = "某某餐饮管理有限公司"  # demo case: 普通程序 at 登记案件线索并核查 (handler)


def test_a_reason_field_appears_starred_only_for_the_answer_that_needs_it(page: Page, demo: Demo) -> None:
    task = demo.task(RESTAURANT)
    login(page, "a_handler1")
    page.goto("/?scope=available")
    with page.expect_navigation():
        page.locator(f'tr[data-task-id="{task.task_id}"] form.claim button').click()
    reason = page.locator('.zf-field[data-field-name="not_file_reason"]')
    assert reason.is_hidden(), "不予立案理由 is not asked while nothing (or 立案) is recommended"
    page.locator('input[name=filing_recommendation][value="file"]').check()
    assert reason.is_hidden()
    page.locator('input[name=filing_recommendation][value="not_file"]').check()
    assert reason.is_visible(), "建议不予立案 asks for its reason"
    assert reason.locator(".zf-when-star").is_visible(), "and stars it: it is now required"
    assert reason.locator("select").is_enabled()
    extension = page.locator('.zf-field[data-field-name="verification_extension_reason"]')
    assert extension.is_hidden()
    page.locator("input[name=verification_extension_approved]").check()
    assert extension.is_visible() and extension.locator(".zf-when-star").is_visible()
    shot(page, "task-conditional-fields")
    page.locator('input[name=filing_recommendation][value="file"]').check()
    assert reason.is_hidden() and reason.locator("select").is_disabled(), "hidden again, and not posted"
    assert not page.js_errors, page.js_errors  # type: ignore[attr-defined]


def test_the_unit_head_picks_handlers_by_typing_a_name(app: Flask, page: Page, demo: Demo) -> None:
    task = demo.task(SUPERMARKET)
    login(page, "a_head")
    page.goto(f"/tasks/{task.task_id}")
    if page.locator("form.claim button").count():
        with page.expect_navigation():
            page.locator("form.claim button").click()
    picker = page.locator('.zf-field[data-field-name="assigned_handlers"]')
    assert picker.is_hidden(), "指定承办人 is asked only when the case is filed"
    page.locator('input[name=filing_decision][value="file"]').check()
    assert picker.is_visible() and picker.locator(".zf-when-star").is_visible()
    assert "tomselected" in (picker.locator("select[multiple]").get_attribute("class") or ""), \
        "the Ctrl-click list is replaced by a searchable picker"
    assert picker.locator(".ts-wrapper.multi .ts-control input").is_visible()
    search = picker.locator(".ts-control input")
    for name in ("handler1", "handler2"):
        search.click()
        search.fill(name)
        expect(page.locator(".ts-dropdown .option")).to_have_count(1)  # typing the name leaves that one officer
        page.locator(".ts-dropdown .option", has_text=f"a_{name}").click()
    search.fill("nobody")
    assert page.locator(".ts-dropdown .no-results").inner_text() == "没有符合条件的执法人员"
    search.fill("")
    shot(page, "task-officer-picker")
    page.locator("input[name=case_cause]").fill("未明码标价")
    page.locator("input[name=filed_on]").fill("2026-03-02")
    page.locator("textarea[name=filing_opinion]").fill("同意立案")
    with page.expect_navigation():
        page.locator("button#complete").click()
    with app.app_context():
        done = db.session.get(Task, task.task_id)
        assert done is not None and done.status == "completed", page.locator("#form-error").all_inner_texts()
        db.session.remove()
    assert not page.js_errors, page.js_errors  # type: ignore[attr-defined]
