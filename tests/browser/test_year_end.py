"""立案 in December with no holiday notice for next year, as the unit head and the administrator do it.

The unit head files the demo case on 2026-12-04: nothing is refused, the 90-day case clock ending in
2027 is shown 暂定, and the head is warned that the 2027 notice is missing. The administrator enters
2027 in the calendar editor, one row per day (a bad row is named and kept); the clock's last day
being a holiday there, the deadline moves to the next working day and the mark disappears.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page

from engine import clock
from tests.browser.conftest import Demo, login

pytestmark = pytest.mark.browser

SUPERMARKET = "某某超市有限公司"  # demo case: lead registered, waiting for 立案审批 (unit head)
SHOTS = Path(os.environ.get("ZHIFA_SCREENSHOTS", "/tmp/zhifa-shots"))


@pytest.fixture
def december(frozen: clock.FrozenClock) -> clock.FrozenClock:
    frozen.set(dt.datetime(2026, 12, 4, 9, tzinfo=clock.SHANGHAI))
    return frozen


def test_filing_in_december_marks_2027_deadlines_provisional_until_the_notice_is_entered(
        december: clock.FrozenClock, demo: Demo, new_page: Callable[..., Page]) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    task = demo.task(SUPERMARKET)
    head = login(new_page(), "a_head")
    head.goto(f"/tasks/{task.task_id}")
    assert "2027 年的节假日安排尚未录入" in head.locator(".zf-calendar-missing").inner_text()
    assert "起算" in head.locator("#counts-from").inner_text()  # the task says which date it counts from
    form = head.locator("form#task-form")
    form.locator("input[name=filing_decision][value=file]").check()
    form.locator("[name=case_cause]").fill("销售超过保质期食品案")
    form.locator("input[name=filed_on]").fill("2026-12-04")
    form.locator("select[name=assigned_handlers]").select_option(["a_handler1", "a_handler2"])
    form.locator("[name=filing_opinion]").fill("同意立案")
    with head.expect_navigation():
        head.locator("button#complete").click()
    assert f"/cases/{task.case_id}" in head.url, head.locator("main").inner_text()[:500]
    clock_cell = head.locator("#case-clock")
    # 12-04 + 90 days = Thu 2027-03-04, counted on weekends alone.
    assert "2027-03-04 24:00" in clock_cell.inner_text() and clock_cell.locator(".zf-provisional").count() == 1
    head.screenshot(path=str(SHOTS / "year-end-1-case-provisional.png"), full_page=True)

    admin = login(new_page(), "admin")
    admin.goto("/admin/calendar/2027")
    admin.locator("[name=day-0-date]").fill("2027-01-01")
    admin.locator("[name=day-0-name]").fill("元旦")
    admin.locator("[name=day-1-date]").fill("2027-03-04")
    admin.locator("[name=day-1-name]").fill("测试假日")
    admin.locator("[name=day-2-date]").fill("2027-01-06")  # a Wednesday cannot be a make-up working day
    admin.locator("[name=day-2-kind]").select_option("workday")
    admin.locator("[name=reason]").fill("国务院办公厅关于2027年部分节假日安排的通知")
    with admin.expect_navigation():
        admin.locator("#calendar-form button[type=submit]").click()
    assert "第 3 行" in admin.locator("#calendar-error").inner_text()
    assert admin.locator("[name=day-1-name]").input_value() == "测试假日"  # what was typed is kept
    admin.screenshot(path=str(SHOTS / "year-end-2-calendar-bad-row.png"), full_page=True)
    admin.locator("tr[data-row='2'] [data-remove-row]").click()
    with admin.expect_navigation():
        admin.locator("#calendar-form button[type=submit]").click()
    assert "/admin/calendar/" in admin.url and "2027 年日历已保存" in admin.locator("body").inner_text()

    head.goto(f"/cases/{task.case_id}")
    clock_cell = head.locator("#case-clock")
    assert "2027-03-05 24:00" in clock_cell.inner_text() and clock_cell.locator(".zf-provisional").count() == 0
    assert head.locator(".zf-calendar-missing").count() == 0
    head.screenshot(path=str(SHOTS / "year-end-3-case-recomputed.png"), full_page=True)
    assert not head.js_errors + admin.js_errors  # type: ignore[attr-defined]
