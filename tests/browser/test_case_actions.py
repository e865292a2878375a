"""The agency head suspends, resumes, extends and terminates a case from its page; each action shows
its document and its effect on the case clock, and a refused second extension says which rule refused it.
A handler records an inspection period overlapping the suspension: the clock deducts the overlap once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page

from engine import clock
from engine.runtime import claim_task, complete_task
from tests.browser.conftest import Demo, login
from tests.conftest import user

pytestmark = pytest.mark.browser

SUPERMARKET = "某某超市有限公司"  # demo case: lead registered, waiting for 立案审批 (unit head)
SHOTS = Path("/tmp/zhifa-shots")
FILED = ["案件来源登记表", "立案审批表"]  # the documents the demo case has when it is filed


def test_agency_head_suspends_resumes_extends_and_terminates_from_the_case_page(
        app: Flask, new_page: Callable[..., Page], demo: Demo, frozen: clock.FrozenClock) -> None:
    task = demo.task(SUPERMARKET)
    with app.app_context():  # 立案 on Mon 2026-03-02: the 90-day case clock starts
        claim_task(user("a_head"), task.task_id)
        complete_task(user("a_head"), task.task_id, {
            "filing_decision": "file", "case_cause": "销售不符合食品安全标准的食品案", "filed_on": "2026-03-02",
            "assigned_handlers": ["a_handler1", "a_handler2"], "filing_opinion": "同意立案"})
    SHOTS.mkdir(parents=True, exist_ok=True)
    case_url = f"/cases/{task.case_id}"

    handler = login(new_page(), "a_handler1")
    handler.goto(case_url)
    assert "须经行政机关负责人批准" in handler.locator("#decider-note").inner_text(), "a handler is told whom to ask"
    assert handler.locator("#suspend-form").count() == 0

    chief = login(new_page(), "a_chief")
    chief.goto(case_url)
    assert clock_state(chief) == "running"
    chief.locator("#suspend summary").click()
    chief.locator("#suspend-ground").select_option("party_missing")
    chief.locator("#suspend-reason").fill("当事人经营场所已关闭，负责人下落不明。")
    submit(chief, "#suspend-form")
    assert "已中止调查" in chief.locator(".alert-success").inner_text()
    assert chief.locator("#case-status").inner_text().strip() == "已中止"
    assert clock_state(chief) == "paused" and "暂停自 2026-03-02" in chief.locator("#case-clock").inner_text()
    assert chief.locator('#clock-periods li[data-kind="suspension"][data-open="1"]').count() == 1
    assert document_types(chief) == [*FILED, "中止调查决定书"]
    chief.screenshot(path=str(SHOTS / "case-suspended.png"), full_page=True)

    frozen.set(dt.datetime(2026, 3, 12, 10, tzinfo=clock.SHANGHAI))  # ten days later the party is found
    chief.goto(case_url)
    chief.locator("#resume-reason").fill("已联系到当事人负责人，可以继续调查。")
    submit(chief, "#resume-form")
    assert chief.locator("#case-status").inner_text().strip() == "办理中"
    clock_text = chief.locator("#case-clock").inner_text()
    # 90 + 10 days from 03-02: Wed 06-10, ending at 24:00.
    assert clock_state(chief) == "running" and "2026-06-10 24:00" in clock_text and "已扣除不计入期间 10 天" in clock_text
    assert chief.locator('#clock-periods li[data-kind="suspension"] .period-days').inner_text().strip() == "10 天"

    # A handler records an inspection that started during the suspension (03-10) and ended on 03-14:
    # the clock pauses but the case goes on, and the overlap 03-10 → 03-12 is not deducted twice.
    handler.goto(case_url)
    handler.locator("#excluded-period summary").click()
    handler.locator("#period-kind").select_option("inspection")
    handler.locator("#period-start").fill("2026-03-10")
    handler.locator("#period-description").fill("抽取样品送市食品检验所检验。")
    submit(handler, "#excluded-period-form")
    assert clock_state(handler) == "paused" and handler.locator("#case-status").inner_text().strip() == "办理中"
    assert handler.locator('#deadlines a', has_text="调查取证").count() == 1, "the investigation task stays open"
    frozen.set(dt.datetime(2026, 3, 15, 10, tzinfo=clock.SHANGHAI))
    handler.goto(case_url)
    handler.locator('#clock-periods li[data-kind="inspection"] input[name=ended_on]').fill("2026-03-14")
    submit(handler, '#clock-periods li[data-kind="inspection"] form.end-period')
    clock_text = handler.locator("#case-clock").inner_text()
    # The union 03-02 → 03-14 is 12 days (10 + 4 would be 14): 102 days from 03-02, Fri 06-12.
    assert clock_state(handler) == "running" and "已扣除不计入期间 12 天" in clock_text and "2026-06-12 24:00" in clock_text
    handler.screenshot(path=str(SHOTS / "case-excluded-period.png"), full_page=True)
    chief.goto(case_url)

    chief.locator("#extend summary").click()
    chief.locator("#extend-days").fill("30")
    chief.locator("#extend-reason").fill("涉案商品数量大，需补充调查。")
    submit(chief, "#extend-form")
    clock_text = chief.locator("#case-clock").inner_text()
    assert "2026-07-13 24:00" in clock_text and "已延长 30 天" in clock_text, clock_text  # 132 days: Sun 07-12 -> Mon 07-13

    chief.locator("#extend summary").click()  # a second extension without the collective discussion is refused
    assert chief.locator("#collective-discussion").is_visible()
    chief.locator("#extend-days").fill("10")
    chief.locator("#extend-reason").fill("仍需时间。")
    submit(chief, "#extend-form")
    refusal = chief.locator(".alert-warning").inner_text()
    assert "再次延长须经集体讨论决定（《行政处罚法》第六十条）" in refusal and "集体讨论记录的日期和编号" in refusal
    assert "2026-07-13 24:00" in chief.locator("#case-clock").inner_text(), "nothing changed"
    chief.screenshot(path=str(SHOTS / "case-extension-refused.png"), full_page=True)

    chief.locator("#extend summary").click()
    chief.locator("#extend-days").fill("10")
    chief.locator("#extend-reason").fill("经集体讨论决定继续延期。")
    chief.locator("#collective").check()
    chief.locator("#discussion-on").fill("2026-03-11")
    chief.locator("#discussion-number").fill("X市监集讨〔2026〕1号")
    submit(chief, "#extend-form")
    assert "2026-07-22 24:00" in chief.locator("#case-clock").inner_text()  # 142 days: Wed 07-22
    assert "已延长 2 次，共 40 天" in chief.locator("#extension-count").inner_text()

    chief.locator("#terminate summary").click()
    chief.locator("#terminate-ground").select_option("no_successor")
    chief.locator("#terminate-reason").fill("当事人已注销，无权利义务承受人。")
    chief.locator("#terminate-confirm").check()
    submit(chief, "#terminate-form")
    assert chief.locator("#case-status").inner_text().strip() == "已终止"
    assert clock_state(chief) == "stopped"
    assert document_types(chief) == [*FILED, "中止调查决定书", "恢复调查决定书", "延长办案期限审批表", "延长办案期限审批表",
                                     "终止调查决定书"]
    assert chief.locator("#deadlines").inner_text().strip() == "暂无待办任务", "the open tasks were withdrawn"
    assert chief.locator("#suspend-form, #resume-form, #extend-form, #terminate-form").count() == 0
    chief.screenshot(path=str(SHOTS / "case-terminated.png"), full_page=True)

    with chief.expect_navigation():
        chief.locator("#documents a", has_text="终止调查决定书").click()
    body = chief.locator("body").inner_text()
    assert "X市监终止〔2026〕1号" in body and "当事人已注销，无权利义务承受人。" in body and "a_chief" in body
    chief.screenshot(path=str(SHOTS / "termination-document.png"), full_page=True)
    assert not chief.js_errors + handler.js_errors  # type: ignore[attr-defined]


def submit(page: Page, form: str) -> None:
    with page.expect_navigation():
        page.locator(f"{form} button[type=submit]").click()


def clock_state(page: Page) -> str:
    return page.locator("#case-clock").get_attribute("data-clock") or ""


def document_types(page: Page) -> list[str]:
    return [text.strip() for text in page.locator("#documents li a:not([href$='.pdf'])").all_inner_texts()]
