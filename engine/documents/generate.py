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
import secrets
from typing import Any

from sqlalchemy import select

from engine import clock
from engine.db import caches
from engine.documents.render import render_content
from engine.documents.service import record_task_service
from engine.documents.texts import current_text
from engine.documents.types import document_type, format_number
from engine.models import Case, DeploymentFile, Document, OrgUnit, ProcessInstance, Task, User, db
from engine.models.sequences import next_number
from engine.record import audit

MAX_TYPE_LENGTH = 40
RECEIPT = "送达回证"
VERIFY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
VERIFY_LENGTH = 10
_labels_cache: dict[int, dict[str, dict[str, Any]]] = {}
caches.register(_labels_cache.clear)  # keyed by deployment id: a database emptied under the process reuses ids


def produce_document(actor: User, task: Task, instance: ProcessInstance, spiff_task: Any, form_data: dict[str, Any]) -> Document | None:
    """Issue the document of ``spiff_task`` if its spec declares one (``document``), and attach the
    service it records (``service``: the served types, ``|``-separated) to the document it served.

    Returns the issued document, None when the task issues none.
    """
    properties = (getattr(spiff_task.task_spec, "extensions", None) or {}).get("properties") or {}
    doc_type = str(properties.get("document") or "").strip()[:MAX_TYPE_LENGTH]
    served_types = [t.strip() for t in str(properties.get("service") or "").split("|") if t.strip()]
    if not doc_type and not served_types:
        return None
    labels = field_labels(instance)
    issued = None
    if doc_type:
        issued = _issue(actor, task.case, doc_type, instance.id, task_id=task.id,
                        task_info={"name": task.name, "bpmn_id": task.bpmn_id},
                        form=_readable(form_data, labels), data=_readable(dict(spiff_task.data), labels),
                        labels={k: v for k, v in labels.items() if k in form_data or k in spiff_task.data})
    if served_types:
        record_task_service(actor.username, task.case_id, task.id, instance.id, served_types, form_data, labels, issued)
    return issued


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
           labels: dict[str, dict[str, Any]], serves: Document | None = None) -> Document:
    agency_row = case.unit.agency
    agency = case.unit.numbering_name
    now = clock.now()
    year = now.astimezone(clock.SHANGHAI).year
    kind = document_type(doc_type)
    pattern = (agency_row.pattern_for(doc_type) if agency_row is not None else None) or kind.pattern
    serial = next_number(agency, doc_type, year)
    number = format_number(pattern, agency, kind.code, year, serial)
    code = new_verify_code()
    template, source = current_text(doc_type)
    snapshot = _snapshot(actor, case, {"type": doc_type, "number": number, "code": kind.code, "year": year, "serial": serial,
                                       "issued_on": now.astimezone(clock.SHANGHAI).date().isoformat(), "basis": kind.basis,
                                       "verify_code": code},
                         task_info, form, data, labels, serves)
    values: dict[str, Any] = {
        "case_id": case.id, "task_id": task_id, "doc_type": doc_type, "code": kind.code, "agency": agency,
        "year": year, "serial": serial, "number": number, "template": template,
        "content": render_content(source, snapshot), "data": snapshot,
        "created_by": actor.username, "created_at": now,
    }
    values["sha256"] = document_hash(values)
    document = Document(**values, verify_code=code, serves_id=serves.id if serves is not None else None)
    db.session.add(document)
    db.session.flush()  # the id: a receipt names it, a superseded document points at it
    audit.record("document.issued", actor.username,
                 {"document_type": doc_type, "number": number, "sha256": values["sha256"]},
                 case_id=case.id, instance_id=instance_id, task_id=task_id)
    if kind.supersedes:
        _supersede_earlier(document, actor.username, instance_id, task_id)
    if kind.served and serves is None:
        # 送达回证 printed with the document it serves: blank lines for the party and the server to fill in.
        _issue(actor, case, RECEIPT, instance_id, task_id=task_id, task_info=task_info, form={}, data={}, labels={},
               serves=document)
    return document


def _snapshot(actor: User, case: Case, document: dict[str, Any], task_info: dict[str, Any], form: dict[str, Any],
              data: dict[str, Any], labels: dict[str, dict[str, Any]], serves: Document | None) -> dict[str, Any]:
    """What a document is rendered from and stores beside its content (covered by its hash)."""
    agency = _agency_settings(case)
    return _plain({
        "document": document,
        "agency": agency,
        "party": _party(case),
        "case": {"number": case.case_number, "procedure": case.procedure, "party_type": case.party_type,
                 "party_name": case.party_name, "party_id_masked": case.party_id_masked,
                 "opened_on": case.opened_at.astimezone(clock.SHANGHAI).date().isoformat(),
                 "unit": case.unit.name, "agency": case.unit.numbering_name, "agency_name": agency["full_name"]},
        "task": {**task_info, "officer": actor.display_name or actor.username, "username": actor.username},
        "form": form,
        "data": data,
        "labels": labels,
        "earlier": _earlier_numbers(case.id),
        "serves": {"id": serves.id, "type": serves.doc_type, "number": serves.number} if serves is not None else {},
    })


def preview_snapshot(actor: User, case: Case, doc_type: str) -> dict[str, Any]:
    """The data a preview of ``doc_type`` renders on ``case``: its latest document of the type as issued,
    else the case as it stands (party, organ, case facts) with an example number."""
    latest = db.session.scalars(select(Document).where(Document.case_id == case.id, Document.doc_type == doc_type)
                                .order_by(Document.id.desc()).limit(1)).first()
    if latest is not None:
        return dict(latest.data)
    kind = document_type(doc_type)
    today = clock.now().astimezone(clock.SHANGHAI).date()
    number = format_number(kind.pattern, case.unit.numbering_name, kind.code, today.year, 1)
    return _snapshot(actor, case, {"type": doc_type, "number": number, "code": kind.code, "year": today.year, "serial": 1,
                                   "issued_on": today.isoformat(), "basis": kind.basis, "verify_code": "PREVIEW000"},
                     {"name": doc_type, "bpmn_id": None}, dict(case.facts or {}), {}, {}, None)


def _supersede_earlier(document: Document, actor: str, instance_id: int | None, task_id: str | None) -> None:
    """已更正: the case's earlier still-valid documents of the type are replaced by ``document``."""
    earlier = db.session.scalars(select(Document).where(
        Document.case_id == document.case_id, Document.doc_type == document.doc_type, Document.id != document.id,
        Document.voided_at.is_(None), Document.superseded_by_id.is_(None))).all()
    for old in earlier:
        old.superseded_by_id, old.superseded_at = document.id, document.created_at
        audit.record("document.superseded", actor,
                     {"document_type": old.doc_type, "number": old.number, "sha256": old.sha256,
                      "superseded_by": document.number},
                     case_id=document.case_id, instance_id=instance_id, task_id=task_id)


def new_verify_code() -> str:
    """核验码: 10 characters of a 32-letter alphabet without look-alikes (50 random bits), unused so far."""
    while True:
        code = "".join(secrets.choice(VERIFY_ALPHABET) for _ in range(VERIFY_LENGTH))
        if db.session.scalar(select(Document.id).where(Document.verify_code == code)) is None:
            return code


def _agency_settings(case: Case) -> dict[str, Any]:
    """The issuing organ as the document prints it (a unit without an organ: its root unit's name)."""
    agency = case.unit.agency
    if agency is not None:
        return agency.settings()
    return {"full_name": _agency_name(case.unit)}


def _party(case: Case) -> dict[str, Any]:
    """The party's particulars; the identity number only masked (DOMAIN.md §6)."""
    details = dict(case.party_details())
    details.pop("party_id_number", None)
    return details


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
