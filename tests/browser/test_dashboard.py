"""The supervision dashboard in a real browser: the supervisor opens it from the menu with the demo
data and every Chart.js chart holds data points; an agency head sees their own unit only."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from playwright.sync_api import Page
from sqlalchemy import func, select

from engine import clock
from engine.models import Case, OrgUnit, Task, db
from tests.browser.conftest import Demo, login

pytestmark = pytest.mark.browser

CHARTS = {"open_cases", "deadlines", "steps", "reviews"}
# What each chart holds: labels, every dataset's values, and how many elements Chart.js laid out.
READ_CHARTS = """() => Object.fromEntries(Object.entries(window.zhifaCharts).map(([name, chart]) => [name, {
  labels: chart.data.labels.map(String),
  data: chart.data.datasets.map((d) => d.data),
  points: chart.data.datasets.map((d, i) => chart.getDatasetMeta(i).data.length),
}]))"""


def open_dashboard(page: Page) -> dict[str, dict]:
    with page.expect_navigation():
        page.locator("#zf-nav a", has_text="执法监督").click()
    page.wait_for_selector('#charts[data-rendered="1"]')
    return page.evaluate(READ_CHARTS)


def test_supervisor_dashboard_draws_every_chart_with_demo_data(new_page: Callable[..., Page], demo: Demo, app: Flask,
                                                              frozen: clock.FrozenClock) -> None:
    frozen.advance(days=20)  # the demo's first tasks are now past their limits
    with app.app_context():
        open_cases = db.session.scalar(select(func.count()).where(Case.status.in_(("open", "suspended"))))
        reviews = db.session.scalar(select(func.count()).where(Task.process_id == "legal_review", Task.bpmn_id == "review",
                                                               Task.status == "completed"))
        db.session.remove()
    page = login(new_page(), "supervisor")
    charts = open_dashboard(page)

    assert set(charts) == CHARTS
    for name, chart in charts.items():
        assert chart["labels"], f"{name}: no labels"
        assert all(n == len(chart["labels"]) for n in chart["points"]), f"{name}: a point per label in every dataset"
        assert all(len(values) == len(chart["labels"]) for values in chart["data"])
    assert sum(sum(values) for values in charts["open_cases"]["data"]) == open_cases
    assert set(charts["deadlines"]["labels"]) == {"X市市场监督管理局执法一科", "X市市场监督管理局执法二科"}
    assert sum(charts["deadlines"]["data"][2]) > 0, "overdue tasks are counted"
    assert sum(charts["reviews"]["data"][0]) == reviews, "every completed legal review is 同意 or 退回"
    assert "普通程序 · 登记案件线索并核查" in charts["steps"]["labels"], "a step the demo completed"
    assert page.locator('[data-figure="open_cases"]').inner_text() == str(open_cases)
    assert page.locator("#table-late-tasks tbody tr[data-task-id]").count() > 0
    assert page.locator('a[data-export="steps"]').get_attribute("href").startswith("/supervision/export/steps.csv")
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_agency_head_dashboard_is_limited_to_their_unit(new_page: Callable[..., Page], demo: Demo, app: Flask) -> None:
    with app.app_context():
        unit_b_open = db.session.scalar(select(func.count()).select_from(Case).join(OrgUnit, OrgUnit.id == Case.unit_id)
                                        .where(OrgUnit.code == "unit_b", Case.status.in_(("open", "suspended"))))
        db.session.remove()
    page = login(new_page(), "b_chief")
    charts = open_dashboard(page)
    assert page.locator("#filter-unit option").all_inner_texts() == ["X市市场监督管理局执法二科"]
    assert charts["deadlines"]["labels"] == ["X市市场监督管理局执法二科"]
    assert sum(sum(values) for values in charts["open_cases"]["data"]) == unit_b_open > 0
    assert page.js_errors == []  # type: ignore[attr-defined]
