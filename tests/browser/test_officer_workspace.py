"""The officer workspace in a real browser: claim, a form corrected after a server-side error,
completion, reassignment by the unit head, the live diagram, a tablet-width layout, escaped input."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page

from engine.admin.users import create_user
from engine.demo.seed import DEMO_PASSWORD
from engine.models import Task, db
from engine.runtime import claim_task, reassign_task, start_case
from tests.browser.conftest import TABLET, Demo, login
from tests.conftest import user

pytestmark = pytest.mark.browser

RESTAURANT = "某某餐饮管理有限公司"  # demo case: 普通程序 at 登记案件线索并核查 (handler, unclaimed)
SUPERMARKET = "某某超市有限公司"  # demo case: lead registered, waiting for 立案审批 (unit head)


def test_officer_claims_corrects_a_rejected_form_and_completes_the_task(new_page: Callable[..., Page], demo: Demo) -> None:
    task = demo.task(RESTAURANT)
    row = f'tr[data-task-id="{task.task_id}"]'
    colleague = login(new_page(), "a_handler2")
    colleague.goto("/?scope=available")
    assert colleague.locator(row).count() == 1, "a second officer of the unit sees the unclaimed task"

    officer = login(new_page(), "a_handler1")
    officer.goto("/?scope=available")
    assert RESTAURANT in officer.locator(row).inner_text()
    with officer.expect_navigation():
        officer.locator(f"{row} form.claim button").click()
    officer.goto("/?scope=mine")
    assert officer.locator(f"{row} form.unclaim").count() == 1, "the claimed task is in 我的待办 with 退回"

    colleague.goto("/?scope=available")
    assert colleague.locator(row).count() == 0, "a claimed task leaves the other officers' 可认领"

    assert officer.locator("#count-open").inner_text().strip() == "1", "the header counts the claimed task"
    assert "a_handler1" in officer.locator("#whoami").inner_text() and "执法一科" in officer.locator("#whoami").inner_text()

    officer.goto(f"/tasks/{task.task_id}")
    fill_lead_registration(officer, recommendation="not_file")
    # 建议不予立案 needs 不予立案理由: a rule of the form schema (if/then) only the server checks.
    with officer.expect_navigation():
        officer.locator("button#complete").click()
    error = officer.locator('.invalid-feedback[data-field="not_file_reason"]')
    assert error.is_visible(), "the server's error is shown next to the field"
    assert "is-invalid" in (officer.locator("form#task-form [name=not_file_reason]").get_attribute("class") or "")
    assert officer.locator("form#task-form [name=lead_summary]").input_value() == "群众举报该店后厨卫生条件差。", "typed values are kept"

    officer.locator("form#task-form select[name=not_file_reason]").select_option("no_violation")
    with officer.expect_navigation():
        officer.locator("button#complete").click()
    assert re.search(rf"/cases/{task.case_id}(\?|$)", officer.url), f"after completing: {officer.url}"
    assert officer.locator(".alert").count() >= 1 and officer.locator("#conflict").count() == 0, "a success flash"

    colleague.goto("/?scope=available")
    assert colleague.locator(row).count() == 0, "a completed task is gone from the other officers' inbox"
    officer.goto("/?scope=done")
    assert officer.locator(row).count() == 1, "and is in the officer's 已办"
    assert not officer.js_errors + colleague.js_errors  # type: ignore[attr-defined]


def test_unit_head_reassigns_a_task_to_an_eligible_officer_only(app: Flask, new_page: Callable[..., Page], demo: Demo) -> None:
    with app.app_context():
        create_user("a_nocred", "unit_a", ["handler"], DEMO_PASSWORD, display_name="a_nocred")  # no 执法证
        db.session.commit()
        db.session.remove()
    task = demo.task(RESTAURANT)
    row = f'tr[data-task-id="{task.task_id}"]'
    head = login(new_page(), "a_head")
    head.goto("/?scope=unit")
    select = head.locator(f"{row} form.reassign select[name=to]")
    options = select.locator("option").evaluate_all("os => os.map(o => [o.value, o.textContent])")
    offered = " ".join(f"{value} {text}" for value, text in options)
    assert "a_handler2" in offered
    for ineligible in ("a_nocred", "a_clerk", "b_handler1"):  # no 执法证, not a handler, another unit
        assert ineligible not in offered, f"{ineligible} must not be offered: {options}"
    why_not = head.locator(f"{row} .not-eligible").text_content() or ""
    assert "a_nocred" in why_not and "执法证" in why_not, f"why a_nocred may not take it is shown: {why_not!r}"

    [to_handler2] = [value for value, text in options if "a_handler2" in f"{value} {text}"]
    select.select_option(to_handler2)
    with head.expect_navigation():
        head.locator(f"{row} form.reassign button").click()

    handler2 = login(new_page(), "a_handler2")
    handler2.goto("/?scope=mine")
    assert handler2.locator(row).count() == 1, "the reassigned task is in the new officer's 我的待办"
    assert not head.js_errors + handler2.js_errors  # type: ignore[attr-defined]


def test_case_page_highlights_the_current_task_in_the_diagram(page: Page, demo: Demo) -> None:
    task = demo.task(SUPERMARKET)
    login(page, "a_handler1")
    page.goto(f"/cases/{task.case_id}")
    assert page.locator("#case-number").inner_text().strip() == task.case_number
    assert SUPERMARKET in page.locator("#party").inner_text()
    page.wait_for_selector('#diagram[data-rendered="1"]')
    active = page.locator(f'#diagram g.djs-element.zf-active[data-element-id="{task.bpmn_id}"]')
    assert active.count() == 1, f"current task {task.bpmn_id} is highlighted; js errors: {page.js_errors}"  # type: ignore[attr-defined]
    assert page.locator('#diagram g.djs-element.zf-active').count() == 1, "only the current task is active"
    assert page.locator('#diagram g.djs-element.zf-completed[data-element-id="register_lead"]').count() == 1
    assert page.locator("#timeline li").count() >= 3, "started, lead registered, filing task created"
    assert not page.js_errors  # type: ignore[attr-defined]


def test_pages_fit_a_tablet_without_horizontal_scroll(new_page: Callable[..., Page], demo: Demo, tmp_path: Path) -> None:
    task = demo.task(SUPERMARKET)
    page = login(new_page(viewport=TABLET), "a_head")
    for name, path in (("inbox", "/?scope=mine"), ("unit", "/?scope=unit"), ("case", f"/cases/{task.case_id}"),
                       ("task", f"/tasks/{task.task_id}")):
        page.goto(path)
        if name == "case":
            page.wait_for_selector('#diagram[data-rendered="1"]')
        shot = tmp_path / f"tablet-{name}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 0
        width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width <= inner, f"{path} scrolls sideways at 768 px: {width} > {inner} (see {shot})"
    assert not page.js_errors  # type: ignore[attr-defined]


@pytest.mark.parametrize("payload", ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>'])
def test_script_in_a_party_name_shows_as_text_and_never_runs(app: Flask, page: Page, demo: Demo, payload: str) -> None:
    with app.app_context():
        case = start_case(user("a_handler1"), "ordinary", {"party_type": "citizen", "party_name": payload},
                          {"violation": "无照经营", "penalty_kind": "fine", "proposed_fine": 1000})
        case_id = case.id
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    login(page, "a_handler2")
    page.goto("/?scope=available")
    row = page.locator("tr[data-task-id]", has_text=payload)
    assert row.count() == 1, "the party name is shown as typed, as text"
    task_id = row.get_attribute("data-task-id")
    assert page.locator("img[src=x]").count() == 0
    page.goto(f"/tasks/{task_id}")
    assert payload in page.locator("body").inner_text() and page.locator("img[src=x]").count() == 0
    page.goto(f"/cases/{case_id}")
    assert payload in page.locator("#party").inner_text() and page.locator("img[src=x]").count() == 0
    assert not dialogs, f"a script from the party name ran: {dialogs}"


def test_party_name_typed_when_starting_a_case_is_shown_as_text(page: Page, demo: Demo) -> None:
    payload = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    login(page, "a_handler1")
    page.goto("/cases/new")
    page.locator("input[name=party_type][value=organization]").check()
    page.locator("input[name=party_name]").fill(payload)
    page.locator("input[name=party_credit_code]").fill("91310000MA1FL1234Q")  # what an organization is served with
    page.locator("input[name=party_address]").fill("X市Y区幸福路1号")
    page.locator("input[name=party_legal_rep]").fill("李四")
    page.locator("[name=violation]").fill("未按规定公示食品经营许可证")
    page.locator("select[name=penalty_kind]").select_option("fine")
    page.locator("input[name=proposed_fine]").fill("20000")
    page.locator("select[name=procedure]").select_option("ordinary")
    with page.expect_navigation():
        page.locator("button#start").click()
    assert re.search(r"/cases/\d+(\?|$)", page.url), page.url
    assert payload in page.locator("#party").inner_text()
    page.wait_for_selector('#diagram[data-rendered="1"]')
    assert page.locator('#diagram g.djs-element.zf-active[data-element-id="register_lead"]').count() == 1
    page.goto("/?scope=available")
    assert page.locator("tr[data-task-id]", has_text=payload).count() == 1
    assert page.locator("img[src=x]").count() == 0 and not dialogs, f"a script from the party name ran: {dialogs}"


def test_officer_is_told_when_the_task_was_reassigned_while_the_form_was_open(app: Flask, page: Page, demo: Demo) -> None:
    task = demo.task(RESTAURANT)
    with app.app_context():
        claim_task(user("a_handler1"), task.task_id)
    login(page, "a_handler1")
    page.goto(f"/tasks/{task.task_id}")
    fill_lead_registration(page, recommendation="file")
    with app.app_context():
        reassign_task(user("a_head"), task.task_id, "a_handler2")
    with page.expect_navigation():
        page.locator("button#complete").click()
    assert page.locator(".alert#conflict").is_visible(), "a stale form is refused with an explanation"
    with app.app_context():
        assert db.session.get(Task, task.task_id).status == "open"  # type: ignore[union-attr]
        db.session.remove()


def fill_lead_registration(page: Page, recommendation: str) -> None:
    """登记案件线索并核查, filled in as an officer would (without 不予立案理由)."""
    form = page.locator("form#task-form")
    form.locator("select[name=lead_source]").select_option("inspection")
    form.locator("input[name=lead_received_on]").fill("2026-03-02")
    form.locator("[name=lead_summary]").fill("群众举报该店后厨卫生条件差。")
    form.locator("[name=verification_findings]").fill("现场核查未发现违法行为。")
    form.locator(f"input[name=filing_recommendation][value={recommendation}]").check()
    form.locator("[name=recommendation_reason]").fill("违法事实不成立。")
