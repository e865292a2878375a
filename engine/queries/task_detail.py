"""One task as an officer sees it: the task page and ``GET /api/v1/tasks/<id>`` both render this.

Built once here so the two cannot drift: the form schema and the data already entered, the
instructions, whether this user may complete it (and why not), the officers each officers' field
may name, whom a unit head may hand it to, the date its period counts from and the documents it
issued. Reading never changes the instance: the workflow is deserialized and the session rolled back.
"""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from engine import clock
from engine.db import caches
from engine.deadlines.limits import CASE_CLOCK
from engine.deadlines.reference import reference
from engine.definitions.specs import deployment_of
from engine.forms.schema import form_schema
from engine.models import Case, DeploymentFile, Document, ProcessInstance, Task, User, db
from engine.policy.access import eligible_users, get_task, why_not_eligible
from engine.policy.officers import field_choices, officer_fields
from engine.policy.permissions import UNIT_HEAD
from engine.queries.task_record import TaskRecord, completed_record
from engine.runtime.instance import find_task, open_session

# Who may hand an open task to another officer of the unit (engine/runtime/tasks.py reassign_task).
REASSIGNER_ROLE = UNIT_HEAD


@dataclass
class TaskDetail:
    """Plain data about one task for one user (ORM rows, not yet rendered)."""

    task: Task
    case: Case
    user_id: int  # whom it was read for
    version: int  # the instance version a completion must name (409 when someone was quicker)
    deployment_id: int
    schema: dict[str, Any] | None  # the form's JSON Schema, None for a step without a form
    data: dict[str, Any]  # what the case holds now (open tasks only: a done task shows its record)
    instructions: str | None  # the step's instructions, a Jinja template over ``data``
    reason: str | None  # why this user may not take the task (open tasks), or None
    can_complete: bool
    officer_choices: dict[str, list[User]]  # officers' field -> the officers it may name
    reassign_to: list[User]  # whom this user (a unit head of the unit) may hand the task to
    eligible: list[User]  # officers of the unit who may take it now (empty unless asked for)
    counts_from: dict[str, Any] | None  # the date its time limit counts from, as the law names it
    documents: list[Document] = field(default_factory=list)  # documents the task issued
    record: TaskRecord | None = None  # a completed task: what was entered, by whom, when (engine/queries/task_record.py)

    @property
    def actions(self) -> list[str]:
        """What this user may do with the task now: claim, unclaim, complete, reassign."""
        if self.task.status != "open":
            return []
        mine = self.task.assignee_id is not None and self.task.assignee_id == self.user_id
        out = []
        if self.reason is None and self.task.assignee_id is None:
            out.append("claim")
        if mine:
            out.append("unclaim")
        if self.can_complete:
            out.append("complete")
        if self.reassign_to:
            out.append("reassign")
        return out


def task_detail(user: User, task_id: str, *, with_eligible: bool = False) -> TaskDetail:
    """The task ``task_id`` as ``user`` sees it (another unit's task is a 404).

    ``with_eligible`` also lists every officer who may take it (the API serves it so a client can
    tell whom to hand the step to; the page shows it to unit heads only, as ``reassign_to``).
    """
    task = get_task(user, task_id)
    instance = db.session.get(ProcessInstance, task.instance_id)
    assert instance is not None
    deployment_id = deployment_of(instance.process_spec_id)
    schema = form_schema(deployment_id, task.form) if task.form else None
    data, instructions = _open_data(task, instance, user)
    is_open = task.status == "open"
    reason = why_not_eligible(user, task) if is_open else None
    can_complete = is_open and reason is None and task.assignee_id in (None, user.id)
    head = is_open and user.has_role(REASSIGNER_ROLE) and task.unit_id == user.unit_id
    eligible = eligible_users(task) if is_open and (with_eligible or head) else []
    choices = field_choices(task, schema, task.assignee or user) if schema and is_open else {}
    documents = list(db.session.scalars(select(Document).where(Document.case_id == task.case_id, Document.task_id == task.id)
                                        .order_by(Document.id)))
    return TaskDetail(task=task, case=task.case, user_id=user.id, version=instance.version, deployment_id=deployment_id, schema=schema,
                        data=data, instructions=instructions, reason=reason, can_complete=can_complete,
                        officer_choices=choices, reassign_to=eligible if head else [],
                        eligible=eligible if with_eligible else [], counts_from=start_of_period(task, deployment_id),
                        documents=documents, record=completed_record(task))


def _open_data(task: Task, instance: ProcessInstance, user: User) -> tuple[dict[str, Any], str | None]:
    """The open task's current data (as JSON would carry it) and instructions."""
    if task.status != "open":
        return {}, None
    session = open_session(instance, user.username)
    try:
        spiff_task = find_task(session.workflow, task.id)
        if spiff_task is None:
            return {}, None
        return json.loads(json.dumps(spiff_task.data, default=str)), spiff_task.task_spec.extensions.get("instructionsForEndUser")
    finally:
        db.session.rollback()  # reading never changes the instance


def resolved_schema(schema: dict[str, Any], choices: dict[str, list[User]]) -> dict[str, Any]:
    """The form schema with every officers' field narrowed to the officers it may name, so a generic
    JSON Schema form library renders a picker without knowing zhifa's ``x-widget: officers``.

    Each field's ``items`` gains ``enum`` (usernames), ``x-enumNames`` and ``x-enum-labels``
    (display names), and ``oneOf`` with ``const``/``title`` pairs (omitted when nobody may be named:
    ``oneOf`` may not be empty). A copy: the cached schema is shared by every reader.
    """
    fields = officer_fields(schema)
    if not fields:
        return schema
    out = copy.deepcopy(schema)
    for name in fields:
        prop = out["properties"][name]
        officers = choices.get(name, [])
        items = dict(prop.get("items") or {"type": "string"})
        items["enum"] = [u.username for u in officers]
        items["x-enumNames"] = [u.display_name or u.username for u in officers]
        items["x-enum-labels"] = {u.username: u.display_name or u.username for u in officers}
        if officers:
            items["oneOf"] = [{"const": u.username, "title": u.display_name or u.username} for u in officers]
        prop["items"] = items
        if prop.get("type") == "array":
            prop.setdefault("uniqueItems", True)  # the engine refuses the same officer twice
    return out


_titles: dict[tuple[int, str], str] = {}
_titles_lock = threading.Lock()


@caches.register
def clear_titles() -> None:
    """Deployment ids are reused when a database is replaced (tests): forget their field titles."""
    with _titles_lock:
        _titles.clear()


def start_of_period(task: Task, deployment_id: int) -> dict[str, Any] | None:
    """Which date the task's period counts from, as the law names it (shown on the task).

    ``field`` is the recorded field (``case_clock``: due with the case clock; ``None``: from the
    task's creation, where the law names no other date); ``label`` its title in the deployment's
    forms; ``date`` the date itself.
    """
    if task.time_limit is None:
        return None
    limit = reference().limits.get(task.time_limit)
    start = task.starts_on or task.created_at.astimezone(clock.SHANGHAI).date()
    return {
        "field": task.counts_from,
        "label": (task.counts_from_label or field_title(deployment_id, task.counts_from))
        if task.counts_from not in (None, CASE_CLOCK) else None,
        "date": None if task.counts_from == CASE_CLOCK else start.isoformat(),
        "amount": limit.amount if limit else None,
        "unit": limit.unit if limit else None,
        "extended_by": task.extended_by,
    }


def field_title(deployment_id: int, name: str) -> str:
    """The title a field has in the deployment's forms (deployments are immutable: cached)."""
    key = (deployment_id, name)
    title = _titles.get(key)
    if title is None:
        title = name
        paths = db.session.scalars(select(DeploymentFile.path).where(
            DeploymentFile.deployment_id == deployment_id, DeploymentFile.kind == "form").order_by(DeploymentFile.path))
        for path in paths:
            prop = (form_schema(deployment_id, path.removeprefix("forms/").removesuffix(".json")).get("properties") or {}).get(name)
            if isinstance(prop, dict) and isinstance(prop.get("title"), str):
                title = prop["title"]
                break
        with _titles_lock:
            _titles[key] = title
    return title
