"""One command style and one permission policy (engine/db/command.py, engine/policy/permissions.py).

A command that calls another commits once or not at all; deploying drafts is one transaction; the
sweep commits each item on its own; every rule a page checks, the engine checks too, so a script
calling the engine meets the same refusal.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.db import command as command_module
from engine.db.command import command, unit_of_work
from engine.definitions import deploy_bundle
from engine.definitions.drafts import deploy_drafts, discard_draft, new_process, save_draft
from engine.definitions.versions import rollback
from engine.errors import Forbidden
from engine.models import AuditEvent, Deployment, Draft, Notification, db
from engine.policy.actor import SYSTEM, SystemActor
from engine.policy.permissions import RULES, allowed, require
from engine.record import audit
from engine.runtime import retry_instance
from tests.conftest import user
from tests.support.bundles import mini_bundle

pytestmark = pytest.mark.usefixtures("ctx")


def _count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_deploying_drafts_that_fails_half_way_leaves_no_deployment_and_keeps_the_drafts(
        people: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    deploy_bundle(mini_bundle(), "test", "第一版")
    designer = user("designer")
    new_process(designer, "extra_case", "新流程")
    deployments, events = _count(Deployment), _count(AuditEvent)
    drafts = set(db.session.scalars(select(Draft.path)))

    real = audit.record

    def fail_on_clearing(action: str, *args: Any, **kwargs: Any) -> str:
        if action == "draft.deployed":  # after the deployment is stored, while the drafts are cleared
            raise RuntimeError("disk full")
        return real(action, *args, **kwargs)

    monkeypatch.setattr(audit, "record", fail_on_clearing)
    with pytest.raises(RuntimeError):
        deploy_drafts(designer, "上线新流程")
    db.session.remove()
    assert _count(Deployment) == deployments
    assert _count(AuditEvent) == events
    assert set(db.session.scalars(select(Draft.path))) == drafts

    monkeypatch.setattr(audit, "record", real)
    deployment = deploy_drafts(user("designer"), "上线新流程")
    db.session.remove()
    assert _count(Deployment) == deployments + 1
    assert _count(Draft) == 0
    actions = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.chain == "system")
                                      .order_by(AuditEvent.seq.desc()).limit(2)))
    assert actions == ["draft.deployed", "deployment.created"]
    assert deployment.comment == "上线新流程"


def test_a_command_inside_a_command_commits_once_with_it(people: dict[str, int]) -> None:
    commits = []

    def inner_events() -> int:
        return db.session.scalar(select(func.count()).where(AuditEvent.action == "test.inner")) or 0

    @event.listens_for(Session, "after_commit")
    def count(_session: Session) -> None:
        commits.append(1)

    try:
        @command
        def inner(note: str) -> None:
            audit.record("test.inner", "test", {"note": note})

        @command
        def outer() -> None:
            inner("one")
            inner("two")
            raise RuntimeError("the outer command fails after both inner ones")

        with pytest.raises(RuntimeError):
            outer()
        assert commits == []
        assert inner_events() == 0  # the inner commands' records went with the outer rollback

        @command
        def outer_ok() -> None:
            inner("one")
            inner("two")

        db.session.rollback()  # end the read transaction above (SQLite ends one before writing)
        outer_ok()
        assert len(commits) == 1
        assert inner_events() == 2
    finally:
        event.remove(Session, "after_commit", count)


def test_each_unit_of_work_of_a_sweep_commits_on_its_own(people: dict[str, int]) -> None:
    handler = user("a_handler1")
    for n in range(3):
        try:
            with unit_of_work():
                db.session.add(Notification(user_id=handler.id, kind="test", message=f"第{n}条",
                                            created_at=clock.now()))
                if n == 1:
                    raise ValueError("the second item is broken")
        except ValueError:
            pass
    db.session.remove()
    assert sorted(db.session.scalars(select(Notification.message))) == ["第0条", "第2条"]


def test_the_commit_protocol_is_the_only_commit_hook() -> None:
    """The audit chain (and the case-search projection) register with the protocol instead of listening
    to SQLAlchemy's commit themselves: one place says what happens at a commit, in which order."""
    import re
    from pathlib import Path

    engine_dir = Path(command_module.__file__).resolve().parent.parent
    hooking = re.compile(r'listens_for\((?:Session|Engine)\w*, "(?:before_commit|commit|after_commit|after_rollback|rollback)"\)')
    hooks = sorted(str(p.relative_to(engine_dir)) for p in engine_dir.rglob("*.py") if hooking.search(p.read_text(encoding="utf-8")))
    assert hooks == ["db/command.py"]
    assert audit.write_pending in command_module._BEFORE_COMMIT
    assert audit.PENDING in command_module._SCRATCH
    assert not event.contains(Session, "before_commit", getattr(audit, "_before_commit", lambda s: None))
    source = (command_module.__file__ or "").replace("command.py", "writebehind.py")
    with open(source, encoding="utf-8") as f:
        text = f.read()
    assert '"commit"' not in text and '"rollback"' not in text and "before_commit" not in text


@pytest.mark.parametrize(("who", "call"), [
    ("a_handler1", lambda u: save_draft(u, "forms/x.json", "{}")),
    ("a_handler1", lambda u: discard_draft(u, "forms/x.json")),
    ("a_handler1", lambda u: new_process(u, "sneaky", "偷偷上线")),
    ("a_handler1", lambda u: deploy_drafts(u, "偷偷上线")),
    ("a_head", lambda u: deploy_bundle(mini_bundle(), u, "偷偷上线")),
    ("a_head", lambda u: rollback(u, 1, "回到旧版")),
    ("designer", lambda u: retry_instance(u, 1)),
])
def test_a_script_calling_the_engine_meets_the_pages_rule(people: dict[str, int], who: str, call: Any) -> None:
    """These commands were checked only by the web layer: a script calling the engine skipped it."""
    with pytest.raises(Forbidden) as refused:
        call(user(who))
    assert set(refused.value.details) == {"rule"}
    assert " (" in str(refused.value)  # Chinese, then English
    assert _count(Deployment) == 0 and _count(Draft) == 0


def test_every_rule_names_roles_that_exist_and_refuses_in_both_languages() -> None:
    from engine.policy.roles import ALL_ROLES

    for action, rule in RULES.items():
        assert rule.roles and set(rule.roles) <= set(ALL_ROLES), action
        chinese, _, english = rule.refusal.partition(" (")
        assert chinese and english.endswith(")"), action


def test_the_platform_acting_as_itself_passes_and_a_person_needs_the_role(people: dict[str, int]) -> None:
    assert allowed(SYSTEM, "procedure.edit")
    assert allowed(SystemActor("cli"), "incident.retry")
    assert allowed(user("designer"), "procedure.edit")
    assert not allowed(user("a_chief"), "procedure.edit")
    require(user("admin"), "incident.retry")
    with pytest.raises(Forbidden, match="administrators only retry"):
        require(user("a_head"), "incident.retry")


def test_a_unit_head_acts_on_tasks_of_their_own_unit_only(people: dict[str, int]) -> None:
    class Other:
        unit_id = user("b_handler1").unit_id

    class Own:
        unit_id = user("a_head").unit_id

    assert allowed(user("a_head"), "task.reassign", task=Own())  # type: ignore[arg-type]
    assert not allowed(user("a_head"), "task.reassign", task=Other())  # type: ignore[arg-type]
    assert not allowed(user("a_handler1"), "task.reassign", task=Own())  # type: ignore[arg-type]
