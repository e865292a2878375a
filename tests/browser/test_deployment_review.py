"""Four-eyes deployment in the browser: a designer submits a renamed task for review, the legal reviewer
reads the diff and approves, and only then do new cases use it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from playwright.sync_api import Page
from sqlalchemy import select

from engine.definitions.drafts import save_draft, source
from engine.models import ActiveProcess, Task, db
from engine.runtime import start_case
from tests.browser.conftest import Demo, login
from tests.conftest import user
from tests.support.screenshots import shot

pytestmark = pytest.mark.browser
PATH = "processes/simplified.bpmn"
OLD_NAME = "当场作出行政处罚决定"
NEW_NAME = "当场处罚决定（现场填写）"


def active_deployment(app: Flask) -> int:
    with app.app_context():
        found = db.session.get(ActiveProcess, "simplified").spec.deployment_id
        db.session.remove()
        return found


def test_designer_submits_and_the_legal_reviewer_approves_after_reading_the_diff(
        app: Flask, new_page: Callable[..., Page], demo: Demo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHIFA_DEPLOYMENT_REVIEW", "1")
    with app.app_context():
        text, _origin = source(PATH)
        assert f'name="{OLD_NAME}"' in text
        save_draft(user("designer"), PATH, text.replace(f'name="{OLD_NAME}"', f'name="{NEW_NAME}"'))
        db.session.remove()
    before = active_deployment(app)

    designer = login(new_page(viewport={"width": 1400, "height": 900}), "designer")
    designer.goto("/designer/")
    assert designer.locator("#deploy").inner_text() == "提交审核"
    designer.locator("#deploy-comment").fill("当场处罚决定改名，便于现场识别")
    shot(designer, "review-0-designer-library")
    with designer.expect_navigation():
        designer.locator("#deploy").click()
    assert "已提交审核" in designer.locator(".alert-success").inner_text()
    assert designer.locator("#own-note").is_visible() and designer.locator("#approve").count() == 0  # not their own
    shot(designer, "review-1-designer-submitted")
    assert active_deployment(app) == before  # nothing is active before approval

    reviewer = login(new_page(viewport={"width": 1400, "height": 900}), "a_reviewer")
    with reviewer.expect_navigation():
        reviewer.locator("#nav-reviews").click()
    row = reviewer.locator("#pending tr[data-submission]")
    assert row.count() == 1 and "当场处罚决定改名" in row.inner_text()
    with reviewer.expect_navigation():
        row.locator("a", has_text="查看差异").click()
    changed = reviewer.locator(f'#diff [data-file="{PATH}"][data-status="changed"]')
    assert changed.locator('[data-element-id="onspot_decision"]').count() == 1
    assert any(NEW_NAME in t for t in changed.locator(".zf-add").all_inner_texts())
    assert any(OLD_NAME in t for t in changed.locator(".zf-del").all_inner_texts())
    shot(reviewer, "review-2-reviewer-diff")
    reviewer.locator("#approve-comment").fill("名称与文书一致，同意")
    with reviewer.expect_navigation():
        reviewer.locator("#approve").click()
    assert "已批准" in reviewer.locator(".alert-success").inner_text()
    shot(reviewer, "review-3-approved")
    assert reviewer.js_errors == [] and designer.js_errors == []  # type: ignore[attr-defined]

    assert active_deployment(app) != before
    with app.app_context():
        case = start_case(user("a_handler1"), "simplified", {"party_type": "citizen", "party_name": "赵六"},
                          {"violation": "占道经营", "penalty_kind": "warning", "proposed_fine": 0})
        assert db.session.scalars(select(Task.name).where(Task.case_id == case.id, Task.status == "open")).one() == NEW_NAME
        db.session.remove()
