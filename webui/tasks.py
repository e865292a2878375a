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

from engine.errors import Conflict, InvalidInput, InvalidState
from engine.queries.task_detail import task_detail
from engine.runtime import complete_task

from .api.present import deadline_badge, due_label
from .evidence import evidence_choices
from .form_labels import deployment_labels, labelled_data
from .formrender import UnreadableForm, display_value, fields_of, parse_form
from .instructions import render_instructions
from .workspace import with_draft

bp = Blueprint("tasks", __name__)


@bp.route("/tasks/<task_id>", methods=["GET", "POST"])
@login_required
def show(task_id: str) -> str | Response | tuple[str, int]:
    user = g.user
    detail = task_detail(user, task_id)  # the same view GET /api/v1/tasks/<id> serves (engine/queries)
    task, data = detail.task, detail.data
    schema = detail.schema or {"properties": {}}
    values: dict[str, Any] = with_draft(user, task, data)  # 暂存: what this officer saved comes back
    errors: dict[str, list[str]] = {}
    message = conflict = None
    version = detail.version
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
        detail = task_detail(user, task_id)  # refused: what the user may do now, as it is now
        task = detail.task
        if conflict:  # the page now shows the case as it is: submitting again is a decision on that
            version = detail.version
    return render_template(
        "task.html", task=task, case=detail.case, schema=schema, fields=fields_of(schema), values=values, errors=errors,
        message=message, conflict=conflict, version=version,
        instructions=render_instructions(detail.instructions, labelled_data(data, deployment_labels(detail.deployment_id))),
        can_complete=detail.can_complete, reason=detail.reason,
        officer_choices={**detail.officer_choices, **evidence_choices(task, schema)},  # choices per field name
        reassign_to=detail.reassign_to, display_value=display_value, badge=deadline_badge, due_label=due_label, json=json,
        period_start=detail.counts_from, detail=detail,
    ), status


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
