"""办理意见 (issue 17): comments on a task and on a case, audited and shown in the timeline."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.errors import InvalidInput, NotFound
from engine.models import AuditEvent, Comment, Task, db
from engine.record import audit
from engine.runtime import claim_task, complete_task, start_case
from engine.runtime.comments import add_comment, comments_of
from tests.conftest import user
from tests.support.web import login
from tests.support.web import page_csrf as csrf

PARTY = {"party_type": "organization", "party_name": "某某餐饮有限公司"}


def started() -> tuple[int, str]:
    case = start_case(user("a_handler1"), "mini", PARTY, {"violation": "未按规定公示", "proposed_fine": 20000})
    task = db.session.scalars(select(Task).where(Task.case_id == case.id, Task.status == "open")).one()
    return case.id, task.id


@pytest.fixture
def case(ctx, people, mini, frozen) -> tuple[int, str]:
    return started()


@pytest.fixture
def page_case(app, people, mini, frozen) -> tuple[int, str]:
    """For page tests: no app context held around the requests (each request has its own ``g``)."""
    with app.app_context():
        ids = started()
        db.session.remove()
        return ids


def test_a_comment_is_recorded_in_the_case_chain(case):
    case_id, task_id = case
    add_comment(user("a_handler2"), case_id, "  建议补充现场照片  ", task_id)
    add_comment(user("a_head"), case_id, "同意立案调查")
    [on_task] = comments_of(case_id, task_id)
    assert on_task.body == "建议补充现场照片" and on_task.author.username == "a_handler2"
    assert [c.body for c in comments_of(case_id)] == ["建议补充现场照片", "同意立案调查"]
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "comment.added").order_by(AuditEvent.seq)).all()
    assert [e.data["comment"] for e in events] == ["建议补充现场照片", "同意立案调查"]
    assert events[0].data["task"] == "登记" and events[0].task_id == task_id and events[1].task_id is None
    assert audit.verify_chains(case_id) == []


def test_empty_long_and_foreign_comments_are_refused(case):
    case_id, task_id = case
    with pytest.raises(InvalidInput, match="请填写办理意见"):
        add_comment(user("a_handler1"), case_id, "   ")
    with pytest.raises(InvalidInput, match="不超过 2000 字"):
        add_comment(user("a_handler1"), case_id, "长" * 2001)
    with pytest.raises(NotFound):
        add_comment(user("b_handler1"), case_id, "另一单位的意见")
    assert db.session.scalars(select(Comment)).all() == []


def test_comments_show_on_the_task_the_case_and_in_the_timeline(app, page_case):
    case_id, task_id = page_case
    client = app.test_client()
    login(client, "a_handler1")
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    response = client.post(f"/tasks/{task_id}/comments", data={"csrf_token": csrf(page), "body": "当事人已提交营业执照复印件"})
    assert response.status_code == 302
    assert "当事人已提交营业执照复印件" in client.get(f"/tasks/{task_id}").get_data(as_text=True)
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    client.post(f"/cases/{case_id}/comments", data={"csrf_token": csrf(page), "body": "请于本周内完成登记"})
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    timeline = page.split('id="timeline"')[1]
    assert "发表办理意见" in timeline and "登记：当事人已提交营业执照复印件" in timeline and "请于本周内完成登记" in timeline
    assert client.post(f"/cases/{case_id}/comments", data={"body": "无令牌"}).status_code == 400


def test_a_completed_task_shows_what_was_entered_by_whom(app, page_case):
    case_id, task_id = page_case
    with app.app_context():
        claim_task(user("a_handler1"), task_id)
        complete_task(user("a_handler1"), task_id, {"facts": "经营场所未公示营业执照", "proposed_fine": 20000})
        db.session.remove()
    client = app.test_client()
    login(client, "a_handler2")
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    record = page.split('id="task-record"')[1]
    assert "a_handler1 于 2026-03-02 09:00 办结" in record or "a_handler1" in record
    assert "违法事实" in record and "经营场所未公示营业执照" in record and "拟罚款（元）" in record
    assert 'id="task-form"' not in page
