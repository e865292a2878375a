"""Moving running cases to a new version: planned from the spec diff, deadlines kept, unsafe refused."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import clock
from engine.casefile.verify import verify_record
from engine.errors import InvalidState
from engine.models import AuditEvent, ProcessInstance, Task, db
from engine.runtime import complete_task, fire_due_timers, start_case
from engine.runtime.case_migration import migrate_cases, plan_migrations
from tests.conftest import DATA, deploy_dir, user

PARTY = {"party_type": "organization", "party_name": "某某餐饮有限公司"}


def variant(tmp_path: Path, name: str, *edits: tuple[str, str]) -> Path:
    """A copy of the mini bundle with text edits to its main process."""
    root = tmp_path / name
    shutil.copytree(DATA / "mini", root)
    path = root / "processes" / "mini.bpmn"
    text = path.read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return root


def open_tasks(case_id: int) -> list[Task]:
    return list(db.session.scalars(select(Task).where(Task.case_id == case_id, Task.status == "open")))


def waiting_for_statement(fine: int = 500) -> int:
    """A case past service: its statement-period timer is armed from the recorded service date."""
    case = start_case(user("a_handler1"), "mini", PARTY, {"violation": "未按规定公示", "proposed_fine": fine})
    [register] = open_tasks(case.id)
    complete_task(user("a_handler1"), register.id, {"facts": "轻微违法", "proposed_fine": fine})
    [serve] = open_tasks(case.id)
    complete_task(user("a_handler2"), serve.id, {"served_on": "2026-03-03"})
    return case.id


def instance_of(case_id: int) -> ProcessInstance:
    db.session.expire_all()
    return db.session.scalars(select(ProcessInstance).where(ProcessInstance.case_id == case_id)).one()


RENAMED = ('<bpmn:userTask id="decide" name="作出决定">', '<bpmn:userTask id="decide" name="作出处罚决定">')


def test_safe_migration_of_100_cases_keeps_every_timer_due_date(ctx, people, mini, frozen, tmp_path):
    cases = [waiting_for_statement() for _ in range(100)]
    due_before = {c: instance_of(c).next_timer_at for c in cases}
    assert set(due_before.values()) == {dt.datetime(2026, 3, 11, tzinfo=clock.SHANGHAI)}
    new = deploy_dir(variant(tmp_path, "v2", RENAMED))
    frozen.set(dt.datetime(2026, 3, 6, 15, 0, tzinfo=clock.SHANGHAI))  # migrating later must not move the deadline

    spec_before = {c: instance_of(c).process_spec_id for c in cases}
    plans = plan_migrations(cases)
    assert all(p.safe and p.to_deployment == new for p in plans)
    assert {c: instance_of(c).process_spec_id for c in cases} == spec_before  # the dry run changed nothing
    assert {p.from_deployment for p in plans} == {mini}

    applied = migrate_cases(user("designer"), cases)
    assert len(applied) == 100 and all(p.applied for p in applied)
    for case_id in cases:
        assert instance_of(case_id).next_timer_at == due_before[case_id]
    frozen.set(dt.datetime(2026, 3, 11, 0, 0, 1, tzinfo=clock.SHANGHAI))
    fire_due_timers(batch=200)
    [decide] = open_tasks(cases[0])
    assert decide.name == "作出处罚决定"  # the new version's step
    assert verify_record(cases[0]) == []
    assert db.session.scalars(select(AuditEvent.action).where(AuditEvent.case_id == cases[0],
                                                              AuditEvent.action == "instance.migrated")).one()


def test_open_task_keeps_its_due_date_and_assignee_after_migration(ctx, people, mini, frozen, tmp_path):
    case = start_case(user("a_handler1"), "mini", PARTY, {"proposed_fine": 500})
    [register] = open_tasks(case.id)
    from engine.runtime import claim_task

    claim_task(user("a_handler1"), register.id)
    deploy_dir(variant(tmp_path, "v2", ('<bpmn:userTask id="register" name="登记">', '<bpmn:userTask id="register" name="登记事实">')))
    frozen.set(dt.datetime(2026, 3, 4, 10, 0, tzinfo=clock.SHANGHAI))
    [plan] = migrate_cases(user("designer"), [case.id])
    assert plan.reset_tasks == ["登记"]
    db.session.expire_all()
    [task] = open_tasks(case.id)
    assert task.due_at == register.due_at and task.assignee_id == register.assignee_id


def test_unsafe_migration_is_refused_with_the_reason_and_changes_nothing(ctx, people, mini, frozen, tmp_path):
    case_id = waiting_for_statement()
    before = instance_of(case_id)
    state, spec_id = before.state, before.process_spec_id
    # The target drops the service step this case already ran.
    unsafe = variant(tmp_path, "v3",
                     ('targetRef="serve"', 'targetRef="statement_period"'),
                     ('<bpmn:sequenceFlow id="f7" sourceRef="serve" targetRef="statement_period"/>', ""),
                     ("<bpmn:incoming>f7</bpmn:incoming>", "<bpmn:incoming>f5</bpmn:incoming><bpmn:incoming>f6</bpmn:incoming>"),
                     ("<bpmn:flowNodeRef>serve</bpmn:flowNodeRef>", ""))
    path = unsafe / "processes" / "mini.bpmn"
    path.write_text(re.sub(r'<bpmn:userTask id="serve".*?</bpmn:userTask>', "", path.read_text(encoding="utf-8"), flags=re.S),
                    encoding="utf-8")
    deploy_dir(unsafe)
    [plan] = plan_migrations([case_id])
    assert not plan.safe and "送达告知书" in plan.reasons[0]
    with pytest.raises(InvalidState, match="不能迁移"):
        migrate_cases(user("designer"), [case_id])
    after = instance_of(case_id)
    assert (after.state, after.process_spec_id) == (state, spec_id)


def test_designer_plans_and_applies_a_migration_by_filter_through_the_api(app, api, mini, frozen, tmp_path):
    with app.app_context():
        cases = [waiting_for_statement() for _ in range(3)]
        new = deploy_dir(variant(tmp_path, "v2", RENAMED))
        db.session.remove()
    designer = api("designer")
    status, body = designer.post("/migrations", {"filter": {"process_id": "mini", "from_deployment": mini}})
    assert status == 200 and body["dry_run"] and [p["case_id"] for p in body["plans"]] == cases
    assert all(p["safe"] and p["to_deployment"] == new for p in body["plans"])
    status, body = designer.post("/migrations", {"cases": cases, "dry_run": False})
    assert status == 200 and all(p["applied"] for p in body["plans"])
    assert api("a_handler1").post("/migrations", {"cases": cases})[0] == 403
