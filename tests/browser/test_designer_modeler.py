"""A designer renames a task in the bpmn-js modeler, validates, deploys: new cases follow, old ones keep theirs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from playwright.sync_api import Page
from sqlalchemy import select

from engine.models import Task, db
from engine.runtime import start_case
from tests.browser.conftest import Demo, login
from tests.conftest import user

pytestmark = pytest.mark.browser
OLD_NAME = "当场作出行政处罚决定"
NEW_NAME = "当场处罚决定（现场填写）"


def open_task_name(app: Flask, case_id: int) -> str:
    with app.app_context():
        name = db.session.scalars(select(Task.name).where(Task.case_id == case_id, Task.status == "open")).one()
        db.session.remove()
        return name


def test_designer_renames_a_task_validates_and_deploys(app: Flask, new_page: Callable[..., Page], demo: Demo) -> None:
    old_case = demo.task("张三")
    assert old_case.bpmn_id == "onspot_decision" and old_case.name == OLD_NAME

    page = login(new_page(viewport={"width": 1400, "height": 900}), "designer")
    page.goto("/designer/edit?path=processes/simplified.bpmn")
    page.wait_for_selector("#canvas[data-rendered='1']")
    page.locator('#canvas g.djs-element[data-element-id="onspot_decision"]').first.click()
    name = page.locator("#properties #prop-name")
    assert name.input_value() == OLD_NAME
    assert page.locator("#properties #prop-form").input_value() == "simplified_decision", "zhifa's properties are read"
    name.fill(NEW_NAME)
    name.press("Tab")

    page.locator("#validate").click()
    page.wait_for_selector("#status[data-state='valid']")
    page.locator("#save-draft").click()
    page.wait_for_selector("#status[data-state='saved']")

    page.goto("/designer/")
    page.locator("#deploy-comment").fill("当场处罚决定改名")
    with page.expect_navigation():
        page.locator("#deploy").click()
    assert "已部署为版本" in page.locator(".alert-success").inner_text()
    assert page.js_errors == []  # type: ignore[attr-defined]

    with app.app_context():
        new_case = start_case(user("a_handler1"), "simplified", {"party_type": "citizen", "party_name": "赵六"},
                              {"violation": "占道经营", "penalty_kind": "warning", "proposed_fine": 0}).id
        db.session.remove()
    assert open_task_name(app, new_case) == NEW_NAME
    assert open_task_name(app, old_case.case_id) == OLD_NAME

    officer = login(new_page(), "a_handler1")
    officer.goto(f"/cases/{old_case.case_id}")
    officer.wait_for_selector("#diagram[data-rendered='1']")
    assert OLD_NAME in officer.locator("#diagram").inner_text()


def test_a_problem_in_the_list_selects_its_element(new_page: Callable[..., Page], demo: Demo) -> None:
    page = login(new_page(viewport={"width": 1400, "height": 900}), "designer")
    page.goto("/designer/edit?path=processes/simplified.bpmn")
    page.wait_for_selector("#canvas[data-rendered='1']")
    page.locator('#canvas g.djs-element[data-element-id="onspot_decision"]').first.click()
    page.locator("#properties #prop-form").select_option("")  # a user task without its form
    page.locator("#validate").click()
    page.wait_for_selector("#status[data-state='invalid']")
    problem = page.locator('#problems li[data-element-id="onspot_decision"]').first
    assert "onspot_decision" in problem.inner_text()
    page.evaluate("m => { const r = window.zhifaModeler.get('elementRegistry'); "
                  "window.zhifaModeler.get('selection').select(r.get('start')); }", None)
    assert page.locator("#properties").get_attribute("data-element-id") == "start"
    problem.click()
    assert page.locator("#properties").get_attribute("data-element-id") == "onspot_decision"


def test_dmn_table_and_form_open_in_their_editors(new_page: Callable[..., Page], demo: Demo) -> None:
    page = login(new_page(viewport={"width": 1400, "height": 900}), "designer")
    page.goto("/designer/edit?path=processes/simplified_eligibility.dmn")
    page.wait_for_selector("#canvas[data-rendered='1']")
    page.wait_for_selector("#canvas .tjs-table, #canvas .djs-container")
    assert "warning" in page.locator("#canvas").inner_text()  # a rule cell of the decision table
    page.locator("#validate").click()
    page.wait_for_selector("#status[data-state='valid']")

    page.goto("/designer/edit?path=forms/simplified_decision.json")
    page.wait_for_selector("#preview [data-field-name]")
    editor = page.locator("#form-json")
    editor.fill(editor.input_value().replace('"title": "', '"title": "（预览）', 1))
    page.wait_for_function("document.querySelector('#preview').innerText.includes('（预览）')")
    assert page.js_errors == []  # type: ignore[attr-defined]
