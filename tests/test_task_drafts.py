"""暂存 (issue 17): a half-filled form is kept per officer and task, restored on reopening, cleared on completion."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.errors import Conflict, InvalidInput, NotFound
from engine.models import TaskDraft, db
from engine.runtime import claim_task, complete_task, start_case
from engine.runtime.task_drafts import load_draft, save_draft
from tests.conftest import user
from tests.support.web import login
from tests.support.web import page_csrf as csrf

PARTY = {"party_type": "organization", "party_name": "某某餐饮有限公司"}


def open_claimed() -> str:
    from engine.models import Task

    case = start_case(user("a_handler1"), "mini", PARTY, {"violation": "未按规定公示", "proposed_fine": 20000})
    task = db.session.scalars(select(Task).where(Task.case_id == case.id, Task.status == "open")).one()
    claim_task(user("a_handler1"), task.id)
    return task.id


@pytest.fixture
def task_id(ctx, people, mini, frozen) -> str:
    return open_claimed()


@pytest.fixture
def page_task_id(app, people, mini, frozen) -> str:
    """For page tests: no app context held around the requests (each request has its own ``g``)."""
    with app.app_context():
        task_id = open_claimed()
        db.session.remove()
        return task_id


def test_a_draft_is_kept_per_officer_and_cleared_on_completion(task_id):
    save_draft(user("a_handler1"), task_id, {"facts": "经营场所未公示"})
    save_draft(user("a_handler2"), task_id, {"facts": "另一人的草稿"})
    save_draft(user("a_handler1"), task_id, {"facts": "经营场所未公示营业执照", "proposed_fine": 20000})  # saved again
    assert load_draft(user("a_handler1"), task_id).data == {"facts": "经营场所未公示营业执照", "proposed_fine": 20000}
    assert load_draft(user("a_handler2"), task_id).data == {"facts": "另一人的草稿"}
    assert load_draft(user("a_head"), task_id) is None
    complete_task(user("a_handler1"), task_id, {"facts": "经营场所未公示营业执照", "proposed_fine": 20000})
    assert db.session.scalars(select(TaskDraft)).all() == []  # every officer's draft goes with the task
    with pytest.raises(Conflict, match="不能再暂存"):
        save_draft(user("a_handler1"), task_id, {"facts": "迟到的草稿"})


def test_a_draft_is_not_validated_but_is_bounded_and_scoped(task_id):
    save_draft(user("a_handler1"), task_id, {"facts": "x", "proposed_fine": -5})  # invalid for submitting, fine as a draft
    with pytest.raises(InvalidInput, match="暂存内容过大"):
        save_draft(user("a_handler1"), task_id, {"facts": "长" * 200_000})
    with pytest.raises(NotFound):
        save_draft(user("b_handler1"), task_id, {"facts": "另一单位"})  # another unit's task is not there at all


def test_the_task_page_saves_and_restores_the_draft(app, page_task_id):
    task_id = page_task_id
    client = app.test_client()
    login(client, "a_handler1")
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'id="save-draft"' in page
    response = client.post(f"/tasks/{task_id}/draft", data={"csrf_token": csrf(page), "facts": "当场检查发现未公示营业执照",
                                                            "proposed_fine": "abc"})
    assert response.status_code == 302
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'id="draft-restored"' in page and "当场检查发现未公示营业执照" in page
    # Without the CSRF token nothing is saved.
    assert client.post(f"/tasks/{task_id}/draft", data={"facts": "伪造"}).status_code == 400
    client.post(f"/tasks/{task_id}/draft", data={"csrf_token": csrf(page), "discard": "1"})
    assert "当场检查发现未公示营业执照" not in client.get(f"/tasks/{task_id}").get_data(as_text=True)


def _statements_during(action) -> list[str]:
    from sqlalchemy import event

    seen: list[str] = []

    def record(conn, cursor, statement, params, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return seen


def test_only_a_task_with_a_draft_sends_the_delete_of_its_drafts(ctx, people, mini, frozen):
    """The draft flag on the task spares every completion without a draft the DELETE; a task with one
    (and one whose only draft was discarded) still clears them."""
    from engine.models import Task
    from engine.runtime.task_drafts import discard_draft

    plain, drafted, discarded = open_claimed(), open_claimed(), open_claimed()
    save_draft(user("a_handler1"), drafted, {"facts": "暂存的事实"})
    save_draft(user("a_handler2"), drafted, {"facts": "协办的草稿"})
    save_draft(user("a_handler1"), discarded, {"facts": "放弃的草稿"})
    discard_draft(user("a_handler1"), discarded)
    assert [db.session.get(Task, t).has_draft for t in (plain, drafted, discarded)] == [False, True, True]
    data = {"facts": "经营场所未公示营业执照", "proposed_fine": 20000}

    def deletes(task: str) -> list[str]:
        sent = _statements_during(lambda: complete_task(user("a_handler1"), task, data))
        return [s for s in sent if s.lstrip().upper().startswith("DELETE") and "task_draft" in s]

    assert deletes(plain) == []
    assert len(deletes(drafted)) == 1
    assert len(deletes(discarded)) == 1
    assert db.session.scalars(select(TaskDraft)).all() == []
