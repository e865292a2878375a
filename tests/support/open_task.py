"""The open, claimed mini 登记 task that hostile completions aim at, and a snapshot of what a refusal must not change.

Shared by the completion fuzzers (tests/fuzz/test_form_fuzz.py) and the form-safety tests (tests/test_form_safety.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from engine.models import AuditEvent, ProcessInstance, Task, db
from tests.support.web import start


class Open:
    """The open, claimed 登记 task the examples aim at; ``renew`` starts another case after a success."""

    def __init__(self, app: Flask, claim: Callable[[str], bool]) -> None:
        self.app, self.claim = app, claim
        self.renew()

    def renew(self) -> None:
        _, self.id = start(self.app)
        assert self.claim(self.id)

    def snapshot(self) -> dict[str, Any]:
        with self.app.app_context():
            task = db.session.get(Task, self.id)
            assert task is not None
            instance = db.session.get(ProcessInstance, task.instance_id)
            assert instance is not None
            found = {"version": instance.version, "state": instance.state, "status": task.status, "assignee": task.assignee_id,
                     "events": db.session.scalar(select(func.count()).select_from(AuditEvent))}
            db.session.remove()
            return found
