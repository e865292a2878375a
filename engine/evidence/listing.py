"""证据清单: the evidence list issued with a task's document (调查终结报告, 提交法制审核).

A user task whose BPMN carries ``<spiffworkflow:property name="evidence_list" value="true"/>`` issues, in the
completion's transaction, a numbered 证据清单 listing every item of the case not withdrawn: number, kind,
description, source, when and where it was collected, who collected it, and its sha256, so the report and
the reviewer's file name exactly the bytes they rely on (the same sha256 the case's hash chain recorded).
It goes through the documents machinery (numbered, hashed, audited like any 执法文书); the template is
engine/documents/templates/evidence_list.html.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from engine import clock
from engine.documents import issue_case_document
from engine.evidence.sniff import KINDS
from engine.models import Case, Document, Evidence, ProcessInstance, Task, User, db

DOC_TYPE = "证据清单"
PROPERTY = "evidence_list"


def wants_evidence_list(spiff_task: Any) -> bool:
    properties = (getattr(spiff_task.task_spec, "extensions", None) or {}).get("properties") or {}
    return str(properties.get(PROPERTY) or "").strip().lower() in ("true", "1", "yes")


def attach_evidence_list(actor: User, task: Task, instance: ProcessInstance, spiff_task: Any,
                         document: Document | None) -> Document | None:
    """Issue the 证据清单 of ``task``'s case if its spec asks for one; it names the document it goes with."""
    if not wants_evidence_list(spiff_task):
        return None
    attached_to = f"本清单附于{document.doc_type}（{document.number}）" if document is not None else f"本清单附于“{task.name}”"
    return issue_evidence_list(actor, task.case_id, attached_to, instance.id)


def issue_evidence_list(actor: User, case_id: int, attached_to: str, instance_id: int | None = None) -> Document:
    """The case's current evidence, as a numbered document, in the caller's transaction."""
    case = db.session.get(Case, case_id)
    assert case is not None
    items = db.session.scalars(select(Evidence).where(Evidence.case_id == case_id, Evidence.withdrawn_at.is_(None))
                               .order_by(Evidence.seq)).all()
    steps = dict(db.session.execute(select(Task.id, Task.name).where(
        Task.id.in_({e.task_id for e in items if e.task_id}))).tuples().all()) if items else {}
    names = dict(db.session.execute(select(User.username, User.display_name).where(
        User.username.in_({e.registered_by for e in items}))).tuples().all()) if items else {}
    fields: list[tuple[str, str, Any]] = [("attached_to", "附于", attached_to), ("item_count", "证据数量", len(items))]
    for e in items:
        step = steps.get(e.task_id or "")
        source = f"{step}环节登记" if step else "案件页面登记"
        collector = e.collected_by or names.get(e.registered_by) or e.registered_by
        when = _when(e.collected_at) if e.collected_at else "未记录时间"
        fields += [
            (f"e{e.seq}_seq", "编号", str(e.seq)),
            (f"e{e.seq}_kind", "种类", KINDS.get(e.kind, e.kind)),
            (f"e{e.seq}_description", "证据说明", e.description or "（未填写）"),
            (f"e{e.seq}_source", "来源", f"{source}；文件 {e.filename}"),
            (f"e{e.seq}_collected", "采集时间、地点", f"{when}，{e.collected_place or '未记录地点'}"),
            (f"e{e.seq}_collector", "采集人", collector),
            (f"e{e.seq}_sha256", "sha256", e.sha256),
        ]
    return issue_case_document(actor, case, DOC_TYPE, fields, instance_id)


def _when(moment: dt.datetime) -> str:
    local = moment.astimezone(clock.SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
