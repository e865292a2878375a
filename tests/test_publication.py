"""公示: what is published, masked, when (clock-driven), withdrawn, expired; tampering is detected."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest
from sqlalchemy import select, update

from engine import clock
from engine.casefile.verify import verify_record
from engine.models import Publication, Task, db
from engine.publication.publish import mask_text, request_withdrawal, sweep_publications
from engine.runtime import complete_task, fire_due_timers, start_case
from tests.conftest import DATA, deploy_dir, user
from tests.support.documents import DECISION

SH = clock.SHANGHAI


@pytest.fixture
def bundle(app, tmp_path) -> int:
    """The documents test procedure, its decision form also asking for the publication restriction."""
    root = tmp_path / "bundle"
    shutil.copytree(DATA / "documents", root)
    form_path = root / "forms" / "doc_decision.json"
    form = json.loads(form_path.read_text(encoding="utf-8"))
    form["properties"]["publication_restriction"] = {
        "title": "公示限制", "type": "string", "enum": ["none", "minor", "state_secret", "trade_secret", "privacy"],
        "x-widget": "select", "x-enum-labels": {"none": "依法公示", "minor": "未成年人", "state_secret": "国家秘密",
                                                "trade_secret": "商业秘密", "privacy": "个人隐私"}}
    form_path.write_text(json.dumps(form, ensure_ascii=False), encoding="utf-8")
    with app.app_context():
        deployment_id = deploy_dir(root)
        db.session.remove()
        return deployment_id


def decide(party_type: str = "citizen", party: str = "张三", **decision) -> int:
    case = start_case(user("a_handler1"), "doc_test",
                      {"party_type": party_type, "party_name": party, "party_id_number": "110101199001011234"},
                      {"violation": "销售过期食品"})
    task_id = db.session.scalars(select(Task.id).where(Task.case_id == case.id, Task.status == "open")).one()
    complete_task(user("a_handler1"), task_id, {**DECISION, **decision})
    return case.id


def publication(case_id: int) -> Publication:
    return db.session.scalars(select(Publication).where(Publication.case_id == case_id)
                              .order_by(Publication.id.desc()).execution_options(populate_existing=True)).first()


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


# ---------------------------------------------------------------------------------------------- masking
@pytest.mark.parametrize(("raw", "shown", "hidden"), [
    ("身份证号110101199001011234", "110101********1234", "110101199001011234"),
    ("证件号11010119900101123X记录", "110101********123X", "11010119900101123X"),
    ("联系电话13812345678", "138****5678", "13812345678"),
    ("座机010-62345678", "010-********", "62345678"),
    ("开户账号6222021234567890123", "***************0123", "6222021234567890123"),
    ("对公账户 110123456789 已冻结", "********6789", "110123456789"),
    ("住址：北京市东城区某街道1号院2单元", "住址：（已隐去）", "某街道1号院"),
])
def test_personal_data_in_published_text_is_masked(raw, shown, hidden):
    masked = mask_text(raw)
    assert shown in masked and hidden not in masked


def test_decision_numbers_and_amounts_stay_readable():
    text = "X市监处罚〔2026〕12号：罚款人民币5,000.00元，违法所得3000元"
    assert mask_text(text) == text


# ---------------------------------------------------------------------------------------------- timing
def test_decision_is_published_on_the_next_sweep_masked_and_expires_after_three_years(ctx, people, bundle, frozen):
    case_id = decide(decided_fine=50000, facts_found="当事人（身份证号110101199001011234，电话13812345678）销售过期食品")
    row = publication(case_id)
    assert row is None or row.status == "pending"  # nothing public before the scheduler's sweep
    frozen.set(at(2026, 3, 2, 10, 0))
    fire_due_timers()  # the scheduler's sweep publishes
    row = publication(case_id)
    assert row.status == "published" and row.published_at <= row.due_by
    assert row.due_by == at(2026, 3, 12)  # 7 working days after Mon 03-02 end at 24:00 Wed 03-11
    assert row.content["当事人"] == "张三" and row.content["文号"] == "X市监处罚〔2026〕1号"
    assert "110101199001011234" not in json.dumps(row.content, ensure_ascii=False) and "138****5678" in row.violation
    assert row.expires_at == at(2029, 3, 2, 10, 0)
    frozen.set(at(2029, 3, 2, 9, 59))
    sweep_publications()
    assert publication(case_id).status == "published"
    frozen.set(at(2029, 3, 2, 10, 0))
    sweep_publications()
    assert publication(case_id).status == "expired"
    assert verify_record(case_id) == []


def test_a_low_fine_is_published_for_three_months(ctx, people, bundle, frozen):
    case_id = decide(decided_fine=500)
    frozen.set(at(2026, 3, 2, 10, 0))
    sweep_publications()
    assert publication(case_id).expires_at == at(2026, 6, 2, 10, 0)


@pytest.mark.parametrize(("decision", "reason"), [
    ({"decided_penalty_kind": "warning", "decided_fine": 0}, "仅给予警告"),
    ({"publication_restriction": "minor"}, "未成年人"),
    ({"publication_restriction": "state_secret"}, "国家秘密"),
    ({"publication_restriction": "trade_secret"}, "商业秘密"),
    ({"publication_restriction": "privacy"}, "个人隐私"),
])
def test_warnings_minors_and_secret_cases_are_never_published(ctx, people, bundle, frozen, decision, reason):
    case_id = decide(**decision)
    sweep_publications()
    row = publication(case_id)
    assert row.status == "withheld" and reason in row.withheld_reason and row.party == ""
    frozen.set(at(2026, 4, 1, 9, 0))
    sweep_publications()
    assert publication(case_id).status == "withheld"


def test_revoked_decision_is_withdrawn_within_three_working_days(ctx, people, bundle, frozen):
    case_id = decide()
    sweep_publications()
    frozen.set(at(2026, 3, 6, 17, 0))  # a Friday
    [row] = request_withdrawal(user("a_head"), case_id, "复议机关撤销原处罚决定")
    assert row.withdraw_due_by == at(2026, 3, 12)  # Mon, Tue, Wed: ends 24:00 Wed 03-11
    frozen.set(at(2026, 3, 6, 17, 1))
    sweep_publications()
    row = publication(case_id)
    assert row.status == "withdrawn" and row.withdrawn_at <= row.withdraw_due_by
    assert verify_record(case_id) == []


def test_a_changed_decision_replaces_the_published_one(ctx, people, bundle, frozen):
    from engine.documents import document_hash
    from engine.models import Document

    case_id = decide()
    sweep_publications()
    first = publication(case_id)
    old = db.session.get(Document, first.document_id)
    # The changed decision: a new 行政处罚决定书 with its own number (documents are never edited).
    values = {c.name: getattr(old, c.name) for c in Document.__table__.columns if c.name != "id"}
    values.update(serial=old.serial + 1, number="X市监处罚〔2026〕2号", created_at=clock.now(), verify_code="CHANGED234")
    values["sha256"] = document_hash(values)
    db.session.add(Document(**values))
    db.session.commit()
    sweep_publications()
    rows = {r.decision_number: r.status for r in db.session.scalars(select(Publication).where(
        Publication.case_id == case_id).execution_options(populate_existing=True))}
    assert rows == {first.decision_number: "withdrawn", "X市监处罚〔2026〕2号": "published"}


# ---------------------------------------------------------------------------------------------- the public
def test_public_page_and_feed_show_only_published_decisions_and_search(app, people, bundle, frozen):
    with app.app_context():
        shown = decide(party="某某超市有限公司", party_type="organization", facts_found="销售过期食品，账号6222021234567890123")
        hidden = decide(party="李四", decided_penalty_kind="warning", decided_fine=0)
        sweep_publications()
        db.session.remove()
    client = app.test_client()  # nobody logged in
    page = client.get("/public/penalties").get_data(as_text=True)
    assert "某某超市有限公司" in page and "李四" not in page and "6222021234567890123" not in page
    feed = client.get("/public/penalties.json?party=超市").get_json()
    assert [i["party"] for i in feed["items"]] == ["某某超市有限公司"]
    assert client.get("/public/penalties.json?party=张").get_json()["items"] == []
    assert client.get("/public/penalties.json?from=2030-01-01").get_json()["items"] == []
    assert client.get("/public/penalties?party=%25").status_code == 200
    assert shown != hidden


def test_edited_publication_is_detected_by_verification(ctx, people, bundle, frozen):
    case_id = decide()
    sweep_publications()
    row = publication(case_id)
    db.session.execute(update(Publication).where(Publication.id == row.id).values(
        violation="当事人身份证号110101199001011234"))
    db.session.commit()
    findings = verify_record(case_id)
    assert any("公示" in f.problem for f in findings)


def test_unit_head_withdraws_from_the_case_page_and_officers_may_not(app, people, bundle, frozen):
    from tests.support.web import login
    from tests.support.web import page_csrf as csrf

    with app.app_context():
        case_id = decide()
        sweep_publications()
        db.session.remove()
    officer = app.test_client()
    login(officer, "a_handler1")
    page = officer.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'data-status="published"' in page and 'id="withdraw-publication"' not in page
    officer.post(f"/cases/{case_id}/publication/withdraw", data={"csrf_token": csrf(page), "reason": "x"})
    with app.app_context():
        assert publication(case_id).withdraw_requested_at is None  # an officer may not withdraw
    head = app.test_client()
    login(head, "a_head")
    page = head.get(f"/cases/{case_id}").get_data(as_text=True)
    r = head.post(f"/cases/{case_id}/publication/withdraw", data={"csrf_token": csrf(page), "reason": "决定被撤销"},
                  follow_redirects=True)
    assert "已申请撤回公示" in r.get_data(as_text=True)
    with app.app_context():
        row = publication(case_id)
        assert row.withdraw_requested_at is not None and row.withdraw_reason == "决定被撤销"
