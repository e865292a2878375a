"""Generate the 执法文书 a completed task produces (its ``document`` property), in the task's transaction.

The number is taken from the agency × type × year sequence inside the same transaction as the
completion (engine/models/sequences.py), so a rolled-back completion gives it back and a committed one
keeps it: no gaps, no reuse. The rendered content and the data it was rendered from are stored
once, hashed, and the hash is recorded in the case's audit chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy import select

from engine import clock
from engine.documents.render import render_content
from engine.documents.types import document_type, format_number
from engine.models import Case, DeploymentFile, Document, OrgUnit, ProcessInstance, Task, User, db
from engine.models.sequences import next_number
from engine.record import audit

MAX_TYPE_LENGTH = 40
_labels_cache: dict[int, dict[str, dict[str, Any]]] = {}


def produce_document(actor: User, task: Task, instance: ProcessInstance, spiff_task: Any, form_data: dict[str, Any]) -> Document | None:
    """Issue the document of ``spiff_task`` if its spec declares one; None otherwise."""
    properties = (getattr(spiff_task.task_spec, "extensions", None) or {}).get("properties") or {}
    doc_type = str(properties.get("document") or "").strip()[:MAX_TYPE_LENGTH]
    if not doc_type:
        return None
    labels = field_labels(instance)
    return _issue(actor, task.case, doc_type, instance.id, task_id=task.id,
                  task_info={"name": task.name, "bpmn_id": task.bpmn_id},
                  form=_readable(form_data, labels), data=_readable(dict(spiff_task.data), labels),
                  labels={k: v for k, v in labels.items() if k in form_data or k in spiff_task.data})


def issue_case_document(actor: User, case: Case, doc_type: str, fields: list[tuple[str, str, Any]],
                        instance_id: int | None = None) -> Document:
    """Issue a document of a decision taken on the case itself, not through a task (中止, 恢复, 终止
    调查, 延长办案期限): ``fields`` are (key, title, value) in the order the document lists them.

    Numbered, rendered, hashed and audited exactly like a task's document, in the caller's transaction.
    """
    form = {key: value for key, _title, value in fields}
    labels = {key: {"title": title, "enum": {}, "widget": ""} for key, title, _value in fields}
    return _issue(actor, case, doc_type, instance_id, task_id=None, task_info={"name": doc_type, "bpmn_id": None},
                  form=form, data={}, labels=labels)


def _issue(actor: User, case: Case, doc_type: str, instance_id: int | None, *, task_id: str | None,
           task_info: dict[str, Any], form: dict[str, Any], data: dict[str, Any],
           labels: dict[str, dict[str, Any]]) -> Document:
    agency = case.unit.agency_short_name or case.unit.code
    now = clock.now()
    year = now.astimezone(clock.SHANGHAI).year
    kind = document_type(doc_type)
    serial = next_number(agency, doc_type, year)
    number = format_number(kind.pattern, agency, kind.code, year, serial)
    snapshot = _plain({
        "document": {"type": doc_type, "number": number, "code": kind.code, "year": year, "serial": serial,
                     "issued_on": now.astimezone(clock.SHANGHAI).date().isoformat(), "basis": kind.basis},
        "case": {"number": case.case_number, "procedure": case.procedure, "party_type": case.party_type,
                 "party_name": case.party_name, "party_id_masked": case.party_id_masked,
                 "opened_on": case.opened_at.astimezone(clock.SHANGHAI).date().isoformat(),
                 "unit": case.unit.name, "agency": agency, "agency_name": _agency_name(case.unit)},
        "task": {**task_info, "officer": actor.display_name or actor.username, "username": actor.username},
        "form": form,
        "data": data,
        "labels": labels,
        "earlier": _earlier_numbers(case.id),
    })
    values: dict[str, Any] = {
        "case_id": case.id, "task_id": task_id, "doc_type": doc_type, "code": kind.code, "agency": agency,
        "year": year, "serial": serial, "number": number, "template": kind.template,
        "content": render_content(kind.template, snapshot), "data": snapshot,
        "created_by": actor.username, "created_at": now,
    }
    values["sha256"] = document_hash(values)
    document = Document(**values)
    db.session.add(document)
    audit.record("document.issued", actor.username,
                 {"document_type": doc_type, "number": number, "sha256": values["sha256"]},
                 case_id=case.id, instance_id=instance_id, task_id=task_id)
    return document


def document_hash(values: Any) -> str:
    """sha256 over the canonical JSON of a document (a row or a mapping of its values)."""
    return hashlib.sha256(hash_payload(values)).hexdigest()


def hash_payload(values: Any) -> bytes:
    """The exact bytes a document's hash covers (also the document's file in a case-file export)."""
    get = values.get if isinstance(values, dict) else lambda k: getattr(values, k)
    payload = {k: get(k) for k in ("case_id", "task_id", "doc_type", "code", "agency", "year", "serial", "number",
                                   "template", "content", "data", "created_by")}
    payload["created_at"] = get("created_at").astimezone(dt.UTC).isoformat()
    return audit.canonical_json(payload).encode("utf-8")


def field_labels(instance: ProcessInstance) -> dict[str, dict[str, Any]]:
    """Field key -> title, enum labels and widget, from every form of the instance's deployment."""
    from engine.definitions.specs import deployment_of

    deployment_id = deployment_of(instance.process_spec_id)
    labels = _labels_cache.get(deployment_id)
    if labels is None:
        labels = {}
        for content in db.session.scalars(select(DeploymentFile.content).where(
                DeploymentFile.deployment_id == deployment_id, DeploymentFile.kind == "form")):
            try:
                properties = json.loads(content).get("properties") or {}
            except (ValueError, AttributeError):
                continue
            for key, prop in properties.items():
                if isinstance(prop, dict):
                    labels.setdefault(key, {"title": prop.get("title") or key, "enum": prop.get("x-enum-labels") or {},
                                            "widget": prop.get("x-widget") or ""})
        _labels_cache[deployment_id] = labels  # deployments are immutable
    return labels


def _readable(data: dict[str, Any], labels: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Officers' usernames become names; identity numbers are masked (DOMAIN.md §6)."""
    out: dict[str, Any] = {}
    usernames = {u for k, v in data.items() if labels.get(k, {}).get("widget") == "officers" and isinstance(v, list)
                 for u in v if isinstance(u, str)}
    names = {u.username: (u.display_name or u.username) for u in db.session.scalars(
        select(User).where(User.username.in_(usernames)))} if usernames else {}
    for key, value in data.items():
        if "id_number" in key and isinstance(value, str):
            value = mask_id(value)
        elif usernames and isinstance(value, list) and labels.get(key, {}).get("widget") == "officers":
            value = [names.get(v, v) for v in value]
        out[key] = value
    return out


def mask_id(value: str) -> str:
    value = value.strip()
    return "*" * len(value) if len(value) <= 8 else value[:4] + "*" * (len(value) - 8) + value[-4:]


def _earlier_numbers(case_id: int) -> dict[str, str]:
    """Type -> number of the latest document of each type already issued in the case (e.g. for 送达回证)."""
    rows = db.session.execute(select(Document.doc_type, Document.number).where(Document.case_id == case_id)
                              .order_by(Document.id))
    return {doc_type: number for doc_type, number in rows}


def _agency_name(unit: OrgUnit) -> str:
    """The issuing agency: the root of the unit's organisation tree."""
    seen = {unit.id}
    while unit.parent_id is not None and unit.parent_id not in seen:
        parent = db.session.get(OrgUnit, unit.parent_id)
        if parent is None:
            break
        seen.add(parent.id)
        unit = parent
    return unit.name


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """JSON-native copy, so what is stored is exactly what was hashed and rendered."""
    return json.loads(json.dumps(data, ensure_ascii=False, default=str))
