"""Phone and tablet widths (issue 17): at 390 px the inbox is a list of cards with its claim button in
view, and the inbox, task and case pages never scroll sideways; at 768 px the unit head's reassign
control is not cut off; the notification bell is an SVG icon that renders, and there is a favicon.

Screenshots go to /tmp/shots/h4/ (or $ZHIFA_SHOTS) for a person to look at."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import TABLET, Demo, login
from tests.support.screenshots import shot

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
RESTAURANT = "某某餐饮管理有限公司"  # demo case: 普通程序 at 登记案件线索并核查 (handler, unclaimed)


def no_sideways_scroll(page: Page, what: str) -> None:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"{what} scrolls sideways at {widths[1]} px: content is {widths[0]} px wide"


def test_inbox_task_and_case_pages_fit_a_phone(new_page: Callable[..., Page], demo: Demo) -> None:
    task = demo.task(RESTAURANT)
    page = login(new_page(PHONE), "a_handler1")
    page.goto("/?scope=available")
    row = page.locator(f'tr[data-task-id="{task.task_id}"]')
    assert row.evaluate("el => getComputedStyle(el).display") == "block", "each task is a card, not a table row"
    assert page.locator("table.zf-tasks thead").is_hidden(), "no column headers on a phone: each card labels its values"
    claim = row.locator("form.claim button")
    claim.scroll_into_view_if_needed()
    box = claim.bounding_box()
    assert box is not None and 0 <= box["x"] and box["x"] + box["width"] <= PHONE["width"], f"claim button out of view: {box}"
    no_sideways_scroll(page, "the 可认领 list")
    shot(page, "inbox-available-390")

    with page.expect_navigation():
        claim.click()
    assert f"/tasks/{task.task_id}" in page.url
    no_sideways_scroll(page, "the task page")
    shot(page, "task-390")

    page.goto("/?scope=mine")
    no_sideways_scroll(page, "我的待办")
    shot(page, "inbox-mine-390")

    page.goto(f"/cases/{task.case_id}")
    page.wait_for_selector("#diagram[data-rendered]")
    no_sideways_scroll(page, "the case page")
    shot(page, "case-390")


def test_the_reassign_control_is_whole_on_a_tablet(new_page: Callable[..., Page], demo: Demo) -> None:
    page = login(new_page(TABLET), "a_head")
    page.goto("/?scope=unit")
    forms = page.locator("form.reassign")
    assert forms.count() >= 1, "the unit head sees reassign controls on 本单位"
    for i in range(min(forms.count(), 5)):
        for part in ("select", "button"):
            element = forms.nth(i).locator(part)
            element.scroll_into_view_if_needed()
            box = element.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= TABLET["width"], \
                f"reassign {part} of row {i} is cut off at 768 px: {box}"
    no_sideways_scroll(page, "本单位 at 768 px")
    shot(page, "inbox-unit-768")


def test_the_bell_is_an_icon_that_renders_and_there_is_a_favicon(new_page: Callable[..., Page], demo: Demo,
                                                                 live_server: str) -> None:
    page = login(new_page(PHONE), "a_handler1")
    page.locator(".navbar-toggler").click()
    icon = page.locator("#bell .zf-icon-bell")
    icon.wait_for(state="visible")
    box = icon.bounding_box()
    assert box is not None and box["width"] >= 12 and box["height"] >= 12, "the bell icon has a size"
    mask = icon.evaluate("el => getComputedStyle(el).webkitMaskImage || getComputedStyle(el).maskImage")
    assert "bell-fill.svg" in mask
    assert "\U0001F514" not in page.locator("#bell").inner_text(), "no emoji bell (it renders as a box without an emoji font)"
    svg = page.context.request.get(mask.split('url("', 1)[1].split('"', 1)[0])
    assert svg.ok and "<svg" in svg.text(), "the icon's SVG is served"
    favicon = page.locator("link[rel=icon]").get_attribute("href")
    assert favicon, "base.html links a favicon"
    response = page.context.request.get(live_server + favicon)
    assert response.ok and "svg" in response.headers.get("content-type", "")
    shot(page, "navbar-390")
