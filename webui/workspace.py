"""The officer's working tools on a task and a case page: 暂存 (save a draft), 办理意见 (comments),
接手 / 释放任务, and the read-only record of a finished step.

Kept apart from webui/tasks.py (which renders the form): the templates ask ``task_workspace(task)``
for what to show, and the routes below are thin calls to engine commands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Flask, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.wrappers import Response

from engine.definitions.specs import deployment_of
from engine.errors import Conflict, Forbidden, InvalidInput, InvalidState
from engine.forms.schema import form_schema
from engine.models import Comment, ProcessInstance, Task, TaskDraft, User, db
from engine.policy.access import get_task
from engine.queries.task_record import TaskRecord, completed_record, draft_of, task_comments
from engine.runtime.assignment import takes_over
from engine.runtime.comments import add_comment, comments_of
from engine.runtime.task_drafts import discard_draft, save_draft

from .formrender import Field, UnreadableForm, display_value, fields_of, parse_form

bp = Blueprint("workspace", __name__)


@dataclass
class Workspace:
    record: TaskRecord | None
    record_fields: list[tuple[str, Any]] = field(default_factory=list)  # (label, shown value) of what was entered
    comments: list[Comment] = field(default_factory=list)
    draft: TaskDraft | None = None
    may_take_over: bool = False
    may_release: bool = False


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals.update(task_workspace=task_workspace, case_comments=comments_of)


def task_workspace(task: Task) -> Workspace:
    user: User = g.user
    record = completed_record(task)
    return Workspace(
        record=record, record_fields=_shown(task, record) if record else [], comments=task_comments(task),
        draft=draft_of(task, user) if task.status == "open" else None,
        may_take_over=task.status == "open" and takes_over(user, task),
        may_release=task.status == "open" and task.assignee_id == user.id,
    )


def with_draft(user: User, task: Task, data: dict[str, Any]) -> dict[str, Any]:
    """The values a reopened task shows: what the case holds, then what this officer saved (暂存)."""
    draft = draft_of(task, user) if task.status == "open" else None
    return {**data, **draft.data} if draft is not None and isinstance(draft.data, dict) else data


@bp.post("/tasks/<task_id>/draft")
@login_required
def save(task_id: str) -> Response:
    """暂存: the task form's current inputs, kept as typed (not validated) until submitted."""
    task = get_task(g.user, task_id)
    back = url_for("tasks.show", task_id=task.id)
    try:
        if request.form.get("discard") == "1":
            discard_draft(g.user, task.id)
            flash(_("已清除暂存内容"), "info")
            return redirect(back)
        try:
            data = parse_form(_schema(task), request.form)
        except UnreadableForm as exc:
            data = exc.partial
        except InvalidInput:
            data = {}
        save_draft(g.user, task.id, data)
    except (Conflict, InvalidInput, InvalidState, Forbidden) as exc:
        flash(exc.message, "warning")
    else:
        flash(_("已暂存：重新打开该任务时自动恢复，办结后清除"), "success")
    return redirect(back)


@bp.post("/tasks/<task_id>/comments")
@login_required
def comment_on_task(task_id: str) -> Response:
    task = get_task(g.user, task_id)
    return _comment(task.case_id, task.id, url_for("tasks.show", task_id=task.id, _anchor="comments"))


@bp.post("/cases/<int:case_id>/comments")
@login_required
def comment_on_case(case_id: int) -> Response:
    return _comment(case_id, None, url_for("cases.show", case_id=case_id, _anchor="comments"))


def _comment(case_id: int, task_id: str | None, back: str) -> Response:
    try:
        add_comment(g.user, case_id, request.form.get("body", ""), task_id)
    except (InvalidInput, Forbidden) as exc:
        flash(exc.message, "warning")
    else:
        flash(_("已发表办理意见"), "success")
    return redirect(back)


def _schema(task: Task) -> dict[str, Any]:
    if not task.form:
        return {"properties": {}}
    instance = db.session.get(ProcessInstance, task.instance_id)
    assert instance is not None
    return form_schema(deployment_of(instance.process_spec_id), task.form)


def _shown(task: Task, record: TaskRecord) -> list[tuple[str, str]]:
    """Each entered value under its form label, in the form's order (empty ones left out); values the
    form no longer names last, under their key."""
    try:
        fields = fields_of(_schema(task))
    except (InvalidInput, LookupError):
        fields = []
    out: list[tuple[str, str]] = []
    for f in fields:
        value = record.data.get(f.name)
        if value not in (None, "", [], {}):
            out.append((f.label or f.name, _show(value, f)))
    named = {f.name for f in fields}
    out += [(name, _show(value, None)) for name, value in record.data.items() if name not in named and value not in (None, "", [])]
    return out


def _show(value: Any, f: Field | None) -> str:
    """A value as the officer chose it: option labels, 是/否, rows as "label：value" per column."""
    options = dict(f.options) if f else {}
    if isinstance(value, bool):
        return str(options.get(value) or (_("是") if value else _("否")))
    if isinstance(value, list):
        sep = "\n" if value and isinstance(value[0], dict) else "、"
        return sep.join(_show(v, f) for v in value)
    if isinstance(value, dict):
        columns = {c.name: c for c in f.columns} if f else {}
        return "；".join(f"{columns[k].label if k in columns else k}：{_show(v, columns.get(k))}"
                        for k, v in value.items() if v not in (None, ""))
    return str(options.get(value, display_value(f.widget if f else "", value)))
