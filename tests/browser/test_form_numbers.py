"""号段 in the browser: the administrator hands a block of pre-numbered forms to an officer on the
admin page; the officer's on-the-spot decision with a number outside the block comes back with the
refusal beside the number, the typed input kept, and goes through with a number of the block."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import Demo, login

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("ZHIFA_SCREENSHOTS", "/tmp/zhifa-shots"))
ZHANG_SAN = "张三"  # demo case: 简易程序, waiting for the on-the-spot decision (a_handler1)


def test_an_allocated_block_is_listed_and_the_decision_must_use_it(demo: Demo, new_page: Callable[..., Page]) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    admin = login(new_page(), "admin")
    admin.goto("/admin/form_numbers/")
    form = admin.locator("form#allocate-range")
    form.locator("select[name=holder]").select_option("a_handler1")
    form.locator("[name=prefix]").fill("X市监当罚")
    form.locator("[name=first]").fill("0301")
    form.locator("[name=last]").fill("0350")
    form.locator("[name=note]").fill("2026年第2批")
    with admin.expect_navigation():
        form.locator("button[type=submit]").click()
    table = admin.locator("#form-number-ranges")
    assert "X市监当罚0301 – X市监当罚0350" in table.inner_text()
    form = admin.locator("form#allocate-range")
    form.locator("select[name=holder]").select_option("a_handler2")
    form.locator("[name=prefix]").fill("X市监当罚")
    form.locator("[name=first]").fill("0340")
    form.locator("[name=last]").fill("0360")
    with admin.expect_navigation():
        form.locator("button[type=submit]").click()
    assert "重叠" in admin.locator(".alert-danger").inner_text()
    assert admin.locator("[name=first]").input_value() == "0340"  # what was typed is kept
    admin.screenshot(path=str(SHOTS / "form-numbers-1-admin.png"), full_page=True)

    task = demo.task(ZHANG_SAN)
    officer = login(new_page(), "a_handler1")
    officer.goto(f"/tasks/{task.task_id}")
    decision = officer.locator("form#task-form")
    decision.locator("select[name=co_handlers]").select_option(["a_handler2"])
    decision.locator("input[name=credentials_shown]").check()
    decision.locator("[name=decision_number]").fill("X市监当罚0999")  # nobody's block
    decision.locator("[name=decided_at]").fill("2026-03-02T10:00")
    decision.locator("[name=decided_place]").fill("某市某路1号")
    decision.locator("[name=facts_and_reasons]").fill("占道经营")
    decision.locator("[name=legal_basis]").fill("《某市市容管理条例》")
    decision.locator("[name=party_statement]").fill("无")
    decision.locator("input[name=decision_penalty_kind][value=fine]").check()
    decision.locator("[name=decision_fine]").fill("100")
    decision.locator("input[name=party_signature][value=signed]").check()
    with officer.expect_navigation():
        officer.locator("button#complete").click()
    assert "不在您领用的号段内" in officer.locator("main").inner_text()
    assert officer.locator("[name=decision_number]").input_value() == "X市监当罚0999"
    officer.screenshot(path=str(SHOTS / "form-numbers-2-refused.png"), full_page=True)
    officer.locator("[name=decision_number]").fill("X市监当罚0301")
    with officer.expect_navigation():
        officer.locator("button#complete").click()
    assert f"/cases/{task.case_id}" in officer.url, officer.locator("main").inner_text()[:500]

    admin.goto("/admin/form_numbers/")
    row = admin.locator("#form-number-ranges tr", has_text="X市监当罚0301")
    assert row.locator("td").nth(3).inner_text() == "1"  # used
    admin.screenshot(path=str(SHOTS / "form-numbers-3-used.png"), full_page=True)
