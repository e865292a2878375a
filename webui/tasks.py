"""The task page: instructions, the form rendered from its JSON Schema, the case beside it.

Submitting goes through the same ``complete_task`` command as the API: the page only converts the
posted strings to the schema's types. A refusal re-renders the page with the user's input and
the errors next to their fields; a stale version says plainly that someone else was quicker.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.wrappers import Response

from engine.definitions.specs import deployment_of
from engine.errors import Conflict, InvalidInput, InvalidState
from engine.forms.schema import form_schema
from engine.models import ProcessInstance, Task, db
from engine.policy.access import eligible_users, get_task, why_not_eligible
from engine.policy.officers import field_choices
from engine.runtime import complete_task
from engine.runtime.instance import find_task, open_session

from .api.present import deadline_badge, due_label, start_of_period
from .formrender import UnreadableForm, display_value, fields_of, parse_form
from .instructions import render_instructions

bp = Blueprint("tasks", __name__)


@bp.route("/tasks/<task_id>", methods=["GET", "POST"])
@login_required
def show(task_id: str) -> str | Response | tuple[str, int]:
    user = g.user
    task = get_task(user, task_id)
    instance = db.session.get(ProcessInstance, task.instance_id)
    assert instance is not None
    deployment_id = deployment_of(instance.process_spec_id)
    schema = form_schema(deployment_id, task.form) if task.form else {"properties": {}}
    data, instructions = _task_data(task, instance)
    values: dict[str, Any] = data
    errors: dict[str, list[str]] = {}
    message = conflict = None
    version = instance.version
    status = 200
    if request.method == "POST":
        submitted: dict[str, Any] = {}
        version = request.form.get("version", type=int) or version
        try:
            submitted = parse_form(schema, request.form)  # a row number that is not one is refused here
            complete_task(user, task.id, submitted, version)
        except InvalidInput as exc:
            submitted = exc.partial if isinstance(exc, UnreadableForm) else submitted
            values, message, status = {**data, **submitted}, exc.message, 422
            errors = _field_errors(exc.details)
        except (Conflict, InvalidState) as exc:
            values, conflict, status = {**data, **submitted}, exc.message, 409
        else:
            flash(_("已办结：%(name)s", name=task.name), "success")
            return redirect(url_for("cases.show", case_id=task.case_id))
    reason = why_not_eligible(user, task) if task.status == "open" else None
    can_complete = task.status == "open" and reason is None and task.assignee_id in (None, user.id)
    fields = fields_of(schema)
    officer_choices = field_choices(task, schema, task.assignee or user)
    reassign_to = eligible_users(task) if task.status == "open" and user.has_role("unit_head") and \
        task.unit_id == user.unit_id else []
    return render_template(
        "task.html", task=task, case=task.case, schema=schema, fields=fields, values=values, errors=errors,
        message=message, conflict=conflict, version=version, instructions=render_instructions(instructions, data),
        can_complete=can_complete, reason=reason, officer_choices=officer_choices, reassign_to=reassign_to,
        display_value=display_value, badge=deadline_badge, due_label=due_label, json=json,
        period_start=start_of_period(task, deployment_id),
    ), status


def _task_data(task: Task, instance: ProcessInstance) -> tuple[dict[str, Any], str | None]:
    """The task's current data and instructions (an open task only: done tasks show their record)."""
    if task.status != "open":
        return {}, None
    session = open_session(instance, g.user.username)
    try:
        spiff_task = find_task(session.workflow, task.id)
        if spiff_task is None:
            return {}, None
        data = json.loads(json.dumps(spiff_task.data, default=str))
        return data, spiff_task.task_spec.extensions.get("instructionsForEndUser")
    finally:
        db.session.rollback()  # reading never changes the instance


def _field_errors(details: Any) -> dict[str, list[str]]:
    """Engine error details name fields as ``evidence_items.0.name``; the page names inputs
    ``evidence_items-0-name``. Errors without a field are shown at the top only."""
    errors: dict[str, list[str]] = {}
    for item in details if isinstance(details, list) else []:
        if isinstance(item, dict) and item.get("field"):
            name = str(item["field"]).replace(".", "-")
            errors.setdefault(name, []).append(str(item.get("message", "")))
            top = name.split("-")[0]
            if top != name:
                errors.setdefault(top, [])
    return errors
