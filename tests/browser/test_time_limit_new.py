"""新建时限 in the browser: the designer goes from 流程设计 to the new-time-limit page, a default outside the
bounds comes back beside its field with what was typed kept, the corrected form creates the key, and
the designer's properties panel offers it at once."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import login
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("ZHIFA_SCREENSHOTS", "/tmp/zhifa-shots"))


def test_designer_creates_a_time_limit_and_the_editor_offers_it(people: dict[str, int], new_page: Callable[..., Page]) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = login(new_page(), "designer", PASSWORD)
    page.goto("/designer/")
    with page.expect_navigation():
        page.locator("#to-new-time-limit").click()
    form = page.locator("form#time-limit-form")
    form.locator("[name=key]").fill("rectification_review")
    form.locator("[name=name]").fill("整改复查")
    form.locator("[name=legal_basis]").fill("《市场监督管理行政处罚程序规定》第五十四条")
    form.locator("[name=amount]").fill("12")
    form.locator("select[name=unit]").select_option("working_days")
    form.locator("[name=min]").fill("2")
    form.locator("[name=max]").fill("10")
    with page.expect_navigation():
        form.locator("#create-time-limit").click()
    assert "默认期限 12 须在法定范围 2–10 之内" in page.locator("[data-field=amount]").inner_text()
    assert page.locator("[name=name]").input_value() == "整改复查"  # what was typed is kept
    page.screenshot(path=str(SHOTS / "time-limit-new-1-refused.png"), full_page=True)

    page.locator("[name=amount]").fill("4")
    with page.expect_navigation():
        page.locator("#create-time-limit").click()
    assert "已新建时限“整改复查”（rectification_review）" in page.locator(".alert-success").inner_text()
    assert page.locator("#registry tr[data-key=rectification_review]").count() == 1
    page.screenshot(path=str(SHOTS / "time-limit-new-2-created.png"), full_page=True)
    options = page.evaluate("fetch('/designer/options').then(r => r.json())")
    assert "rectification_review" in [t["key"] for t in options["time_limits"]]
    assert not page.js_errors  # type: ignore[attr-defined]
