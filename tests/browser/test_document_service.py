"""Issue 15: the 行政处罚告知书 and its 送达回证 are printed before service is recorded (blank lines for the party);
recording service on its task attaches the facts to that notice, and the case shows one 告知书 with them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page
from sqlalchemy import select

from engine import clock
from engine.models import Document, Task, db
from engine.runtime import claim_task, complete_task, start_case
from tests.browser.conftest import Demo, login
from tests.conftest import user

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = Path("/tmp/shots/h1b")
PARTY = {"party_type": "organization", "party_name": "某某商贸有限公司"}
STEPS = [
    ("register_lead", "a_handler1", {"lead_source": "complaint", "lead_received_on": "2026-03-02",
                                     "lead_summary": "举报未明码标价", "verification_findings": "情况属实",
                                     "filing_recommendation": "file", "recommendation_reason": "涉嫌违法"}),
    ("file_case", "a_head", {"filing_decision": "file", "case_cause": "违法经营案", "filed_on": "2026-03-03",
                             "assigned_handlers": ["a_handler1", "a_handler2"], "filing_opinion": "同意立案"}),
    ("investigate", "a_handler1", {"co_investigators": ["a_handler2"], "investigation_summary": "查明事实",
                                   "evidence_preservation_needed": False,
                                   "evidence_items": [{"name": "现场照片", "kind": "audiovisual", "source": "现场拍摄",
                                                       "collected_on": "2026-03-06"}]}),
    ("investigation_report", "a_handler1", {"facts_found": "未明码标价", "evidence_summary": "照片", "legal_basis": "《价格法》第十三条",
                                            "violation_code": "other", "discretion_tier": "general", "proposed_outcome": "penalty",
                                            "penalty_kind": "fine", "proposed_fine": 5000, "proposed_penalty": "罚款5000元",
                                            "mitigated_below_minimum": False, "complex_case": False, "major_public_interest": False,
                                            "report_date": "2026-03-20"}),
    ("notify_party", "a_handler1", {"notified_facts": "当事人销售商品未明码标价", "notified_basis": "《中华人民共和国价格法》第十三条",
                                    "notified_penalty": "罚款", "notified_fine": 5000, "hearing_right_informed": False}),
]


def _open(case_id: int, bpmn_id: str) -> str:
    return db.session.scalars(select(Task.id).where(Task.case_id == case_id, Task.status == "open", Task.bpmn_id == bpmn_id)).one()


def test_notice_and_receipt_print_before_service_then_service_attaches(
        app: Flask, new_page: Callable[..., Page], demo: Demo, frozen: clock.FrozenClock) -> None:
    with app.app_context():
        case = start_case(user("a_handler1"), "ordinary", PARTY, {"violation": "未明码标价", "penalty_kind": "fine", "proposed_fine": 5000})
        case_id = case.id
        for bpmn_id, who, data in STEPS:
            task_id = _open(case_id, bpmn_id)
            claim_task(user(who), task_id)
            complete_task(user(who), task_id, data)
        serve = _open(case_id, "serve_notice")
        claim_task(user("a_handler1"), serve)
        db.session.remove()
    SHOTS.mkdir(parents=True, exist_ok=True)

    handler = login(new_page(), "a_handler1")
    handler.goto(f"/cases/{case_id}")
    notice = handler.locator("#documents li", has_text="行政处罚告知书")
    receipt = handler.locator("#documents li", has_text="送达回证")
    assert notice.count() == 1 and receipt.count() == 1, "both are made when the notice step completes"
    assert "已送达" not in notice.inner_text()

    notice.locator("a").first.click()
    assert handler.locator("#not-served").is_visible()
    page_text = handler.locator("#document").inner_text()
    assert "当事人（签名或者盖章）" in page_text and len(handler.locator("#verify-code").inner_text()) == 10
    assert handler.locator("#verify img").count() == 1, "the QR code is on the print view"
    handler.screenshot(path=str(SHOTS / "notice-before-service.png"), full_page=True)
    handler.goto(f"/cases/{case_id}")
    handler.locator("#documents li", has_text="送达回证").locator("a").first.click()
    assert "送达方式" in handler.locator("#document").inner_text() and "□直接送达" in handler.locator("#document").inner_text()
    handler.screenshot(path=str(SHOTS / "receipt-before-service.png"), full_page=True)

    handler.goto(f"/tasks/{serve}")
    form = handler.locator("form#task-form")
    form.locator("select[name=notice_service_method]").select_option("direct")
    form.locator("input[name=notice_recipient]").fill("王五")
    form.locator("input[name=notice_served_on]").fill("2026-03-23")
    with handler.expect_navigation():
        form.locator("button#complete").click()

    handler.goto(f"/cases/{case_id}")
    notices = handler.locator("#documents li", has_text="行政处罚告知书")
    assert notices.count() == 1, "service made no new filled-in copy"
    assert "已送达" in notices.inner_text() and "2026-03-23" in notices.inner_text() and "王五" in notices.inner_text()
    handler.locator("#documents").scroll_into_view_if_needed()
    handler.screenshot(path=str(SHOTS / "case-notice-served.png"), full_page=True)
    notices.locator("a").first.click()
    assert "直接送达" in handler.locator("#service").inner_text()
    handler.screenshot(path=str(SHOTS / "notice-after-service.png"), full_page=True)
    code = handler.locator("#verify-code").inner_text()
    public = new_page()  # the party scanning the QR code: no login
    public.goto(f"/verify/{code}")
    assert public.locator("#verify-status").get_attribute("data-status") == "valid"
    assert "某某商贸有限公司" not in public.locator("main, body").first.inner_text()
    public.screenshot(path=str(SHOTS / "verify-page.png"), full_page=True)
    with app.app_context():
        assert db.session.query(Document).filter_by(case_id=case_id, doc_type="行政处罚告知书").count() == 1
        db.session.remove()
