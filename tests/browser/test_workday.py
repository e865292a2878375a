"""One ordinary case from lead to decision in a real browser, counting clicks and logins (issue 17).

Before issue 17 the same case took about 60 clicks and 12 login switches: every step went back to
the 可认领 pool, so each handler step meant finding it there and claiming it. Now the steps of the
designated handlers are assigned to the 主办 at once and appear in 我的待办: they never claim from the
pool (asserted). Each officer keeps a browser of their own, as at their desk, so a "login switch" is
moving from one officer's screen to another's; a "click" is a button, a link, a choice in a list or a
radio/checkbox ticked (typing into a field is not counted). The counts are printed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page
from sqlalchemy import select

from engine.models import AuditEvent, Case, Task, db
from tests.browser.conftest import Demo, login
from tests.conftest import user

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = Path("/tmp/shots/h3")
PARTY = "华丰食品有限公司"
BEFORE = {"clicks": 60, "login switches": 12}

LEAD = {"lead_source": "complaint", "lead_received_on": "2026-03-02", "lead_summary": "群众举报该公司未明码标价",
        "verification_findings": "现场核查情况属实", "filing_recommendation": "file", "recommendation_reason": "涉嫌违反价格法"}
FILING = {"filing_decision": "file", "case_cause": "未明码标价案", "filed_on": "2026-03-03",
          "assigned_handlers": ["a_handler1", "a_handler2"], "filing_opinion": "同意立案"}
INVESTIGATION = {"co_investigators": ["a_handler2"], "investigation_summary": "查明该公司货架商品未标价",
                 "evidence_items": [{"name": "现场照片", "kind": "audiovisual", "source": "现场拍摄", "collected_on": "2026-03-06"}]}
REPORT = {"facts_found": "未明码标价", "evidence_summary": "现场照片", "legal_basis": "《价格法》第十三条", "violation_code": "other",
          "discretion_tier": "general", "proposed_outcome": "penalty", "penalty_kind": "fine", "proposed_fine": "5000",
          "proposed_penalty": "罚款5000元", "report_date": "2026-03-20"}
NOTICE = {"notified_facts": "未明码标价", "notified_basis": "《价格法》", "notified_penalty": "罚款5000元", "notified_fine": "5000",
          "notice_service_method": "direct", "notice_served_on": "2026-03-23"}
STATEMENT = {"statement_received_on": "2026-03-25", "statement_form": "written", "statement_content": "初次违法",
             "statement_recheck": "部分属实", "statement_adopted": "partly"}
DECISION = {"decision_outcome": "penalty", "decided_penalty_kind": "fine", "decided_fine": "5000", "decided_penalty": "罚款5000元",
            "decision_reasoning": "事实清楚，证据确凿", "decided_on": "2026-04-01"}
ISSUE = {"decision_issued_on": "2026-04-02", "payment_instructions": "十五日内到指定银行缴纳", "reconsideration_body": "X市人民政府",
         "court": "X市东城区人民法院"}


class Desk:
    """The officers' screens, and the tally of clicks and of moves from one officer's screen to another's."""

    def __init__(self, new_page: Callable[..., Page]) -> None:
        self.new_page = new_page
        self.pages: dict[str, Page] = {}
        self.clicks = 0
        self.choices = 0  # of the clicks, choices made inside a form (a list entry, a radio, a checkbox, an officer)
        self.logins = 0
        self.switches = 0
        self.current: str | None = None
        self.shot = 0

    def at(self, username: str) -> Page:
        if username != self.current:
            self.switches += self.current is not None
            self.current = username
        if username not in self.pages:
            self.pages[username] = login(self.new_page(), username)
            self.logins += 1
            self.clicks += 1  # the login button
        return self.pages[username]

    def click(self, page: Page, selector: str, navigates: bool = True) -> None:
        self.clicks += 1
        if navigates:
            with page.expect_navigation():
                page.locator(selector).first.click()
        else:
            page.locator(selector).first.click()

    def choose(self, n: int = 1) -> None:
        self.clicks += n
        self.choices += n

    def snap(self, page: Page, name: str) -> None:
        self.shot += 1
        page.screenshot(path=str(SHOTS / f"workday-{self.shot:02d}-{name}.png"), full_page=True)


def fill(desk: Desk, page: Page, data: dict[str, Any]) -> None:
    """Fill form#task-form as an officer does, field by field, in the form's order of choices."""
    form = page.locator("form#task-form")
    for name, value in data.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for i, row in enumerate(value):
                for key, cell in row.items():
                    _fill_one(desk, form.locator(f'[name="{name}-{i}-{key}"]'), cell)
            continue
        _fill_one(desk, form.locator(f'[name="{name}"]'), value)


def _fill_one(desk: Desk, field: Any, value: Any) -> None:
    assert field.count() >= 1, f"no input {field}"
    first = field.first
    tag = first.evaluate("el => el.tagName.toLowerCase()")
    kind = (first.get_attribute("type") or "").lower()
    if tag == "select" and first.get_attribute("multiple") is not None:
        # The officer picker (searchable): one pick per officer.
        values = value if isinstance(value, list) else [value]
        first.evaluate("(el, vals) => { for (const o of el.options) o.selected = vals.includes(o.value);"
                       " el.dispatchEvent(new Event('change', {bubbles: true})); }", values)
        desk.choose(len(values))
    elif tag == "select":
        first.select_option(str(value), force=True)
        desk.choose()
    elif kind == "radio":
        radio = first.page.locator(f'form#task-form input[type=radio][name="{first.get_attribute("name")}"][value="{value}"]')
        first.page.locator(f'label[for="{radio.get_attribute("id")}"]').click()  # as an officer does: on the label
        assert radio.is_checked()
        desk.choose()
    elif kind == "checkbox":
        if bool(value) != first.is_checked():
            first.set_checked(bool(value), force=True)
            desk.choose()
    else:
        first.fill(str(value), force=True)


def complete(desk: Desk, page: Page, data: dict[str, Any], name: str) -> None:
    fill(desk, page, data)
    desk.snap(page, f"{name}-filled")
    desk.click(page, "button#complete")
    assert page.locator("#form-error").count() == 0, f"{name}: {page.locator('#form-error').inner_text()}"
    assert re.search(r"/cases/\d+", page.url), f"{name}: not completed, still on {page.url}"


def open_from_my_tasks(desk: Desk, page: Page, task_name: str) -> None:
    """我的待办 → 办理: the step is already there, assigned, nothing to claim."""
    desk.click(page, "a.nav-link[href='/']")
    row = page.locator("tr[data-task-id]").filter(has_text=task_name).filter(has_text=PARTY)
    assert row.count() == 1, f"{task_name} is not in 我的待办 of {desk.current}"
    desk.click(page, f"tr[data-task-id='{row.first.get_attribute('data-task-id')}'] a[href^='/tasks/']")


def claim_from_pool(desk: Desk, page: Page, task_name: str) -> None:
    desk.click(page, "a.nav-link[href='/']")
    desk.click(page, "a[data-scope=available]")
    row = page.locator("tr[data-task-id]").filter(has_text=task_name).filter(has_text=PARTY)
    assert row.count() == 1, f"{task_name} is not offered to {desk.current}"
    desk.click(page, f"tr[data-task-id='{row.first.get_attribute('data-task-id')}'] form.claim button")


def test_an_ordinary_case_from_lead_to_decision(app: Flask, new_page: Callable[..., Page], demo: Demo) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    desk = Desk(new_page)

    # 登记案件 (a_handler1), then 登记案件线索并核查 from the pool: nobody is designated yet.
    page = desk.at("a_handler1")
    desk.click(page, "a.nav-link[href='/cases/new']")
    page.locator("input[name=party_type][value=organization]").check()
    desk.choose()
    page.locator("[name=party_name]").fill(PARTY)
    page.locator("[name=party_credit_code]").fill("91110108MA0123456G")
    page.locator("[name=party_legal_rep]").fill("王建国")
    page.locator("[name=party_address]").fill("X市人民路1号")
    page.locator("[name=violation]").fill("未明码标价")
    page.locator("select[name=procedure]").select_option("ordinary")
    desk.choose()
    desk.click(page, "button#start")
    desk.snap(page, "case-started")
    case_id = int(re.search(r"/cases/(\d+)", page.url).group(1))  # type: ignore[union-attr]
    claim_from_pool(desk, page, "登记案件线索并核查")
    complete(desk, page, LEAD, "lead")

    # 立案审批 (the unit head) designates a_handler1 (主办) and a_handler2.
    page = desk.at("a_head")
    claim_from_pool(desk, page, "立案审批")
    complete(desk, page, FILING, "filing")

    # From here on every handler step is in a_handler1's 我的待办, never in the pool.
    page = desk.at("a_handler1")
    page.reload()
    assert int(page.locator("#bell .count").inner_text()) >= 1, "the bell shows the new task"
    for task_name, data, shot in (("调查取证", INVESTIGATION, "investigation"), ("调查终结报告", REPORT, "report"),
                                  ("行政处罚事先告知", NOTICE, "notice"), ("陈述申辩记录与复核", STATEMENT, "statement")):
        open_from_my_tasks(desk, page, task_name)
        if shot == "investigation":
            desk.snap(page, "investigation-assigned")
        complete(desk, page, data, shot)

    # The co-handler sees the case among 我参与的案件 and can read what was entered.
    colleague = desk.at("a_handler2")
    desk.click(colleague, "#nav-cases")
    assert PARTY in colleague.locator("table#cases").inner_text()
    desk.snap(colleague, "case-list-co-handler")
    desk.click(colleague, f"table#cases a[href='/cases/{case_id}']")

    # 行政处罚决定审批 (the agency head, from the pool: not a handler step).
    page = desk.at("a_chief")
    claim_from_pool(desk, page, "行政处罚决定审批")
    complete(desk, page, DECISION, "decision")

    # 制作行政处罚决定书 goes straight to the 主办 again.
    page = desk.at("a_handler1")
    open_from_my_tasks(desk, page, "制作行政处罚决定书")
    complete(desk, page, ISSUE, "decision-document")
    desk.snap(page, "case-after-decision")

    # A finished step opens read-only with what was entered, by whom and when.
    with app.app_context():
        done = db.session.scalars(select(Task).where(Task.case_id == case_id, Task.bpmn_id == "investigate")).one()
        handler_steps = db.session.scalars(select(Task).where(Task.case_id == case_id, Task.role == "handler",
                                                              Task.bpmn_id != "register_lead")).all()
        claims = db.session.scalars(select(AuditEvent).where(AuditEvent.chain == f"case:{case_id}",
                                                             AuditEvent.action == "task.claimed")).all()
        assert {t.completed_by for t in handler_steps if t.status == "completed"} == {user("a_handler1").id}
        assert {t.assignee_id for t in handler_steps if t.status == "open"} == {user("a_handler1").id}  # 送达, next
        assert all(e.data["task"] in ("登记案件线索并核查", "立案审批", "行政处罚决定审批") for e in claims), \
            "the designated handlers never claimed from the pool"
        assert db.session.get(Case, case_id).decided_at is not None
        db.session.remove()
    page.goto(f"/tasks/{done.id}")
    record = page.locator("#task-record")
    assert "查明该公司货架商品未标价" in record.inner_text() and "a_handler1" in record.inner_text()
    assert page.locator("form#task-form").count() == 0
    desk.snap(page, "completed-task-read-only")

    print(f"\nworkday: {desk.clicks} clicks ({desk.clicks - desk.choices} on buttons and links, {desk.choices} choices in "
          f"forms), {desk.logins} logins, {desk.switches} login switches "
          f"(before issue 17: about {BEFORE['clicks']} clicks and {BEFORE['login switches']} login switches)")
    assert desk.switches < BEFORE["login switches"] and desk.clicks < BEFORE["clicks"]
    for p in desk.pages.values():
        assert not p.js_errors, p.js_errors  # type: ignore[attr-defined]
