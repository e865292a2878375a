"""送达: service facts attached to the document that was served, never a new filled-in copy.

A served document (告知书, 听证通知书, 决定书, 催告书 …) is issued, with its 送达回证, when the step
that makes it completes; both are printed with blank lines and handed over. The step that records
the service (BPMN property ``service`` naming the served types) attaches the facts — method, date,
recipient, address, witness — to that same document as a :class:`DocumentService` row and records
``document.served`` in the case's chain. The form fields are found by the names the procedures use
(``*service_method``, ``*served_on``, ``*recipient``…), so a task that issues and serves at once
(service on the spot) attaches them to the document it just issued.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from engine import clock
from engine.models import Document, DocumentService, db
from engine.record import audit

PUBLIC_NOTICE_DAYS = 30  # 民事诉讼法 Art. 95: deemed served thirty days after the public notice
METHOD_LABELS = {"direct": "直接送达", "left": "留置送达", "electronic": "电子送达", "postal": "邮寄送达",
                 "entrusted": "委托送达", "forwarded": "转交送达", "public_notice": "公告送达"}


def service_facts(form: Mapping[str, Any]) -> dict[str, str] | None:
    """The service recorded in ``form`` (None when it records none: no service date)."""

    def pick(*suffixes: str, exclude: tuple[str, ...] = ()) -> str:
        for key, value in form.items():
            if any(key.endswith(s) for s in suffixes) and not any(key.startswith(x) for x in exclude) and value:
                return str(value)
        return ""

    served_on = pick("served_on", exclude=("effective_",))
    if not served_on:
        return None
    method = pick("service_method") or "direct"
    effective = served_on
    if method == "postal" and pick("postal_receipt_on"):
        effective = pick("postal_receipt_on")
    elif method == "public_notice" and pick("public_notice_on"):
        effective = (dt.date.fromisoformat(pick("public_notice_on")[:10]) + dt.timedelta(days=PUBLIC_NOTICE_DAYS)).isoformat()
    return {"method": method, "served_on": served_on[:10], "effective_on": effective[:10],
            "recipient": pick("service_recipient", "recipient")[:200], "address": pick("service_address")[:300],
            "witness": pick("refusal_witness")[:200]}


def record_task_service(actor: str, case_id: int, task_id: str | None, instance_id: int | None, served_types: list[str],
                        form: Mapping[str, Any], labels: Mapping[str, Mapping[str, Any]],
                        issued: Document | None) -> DocumentService | None:
    """Attach the service ``form`` records to the served document; None when there is nothing to attach."""
    facts = service_facts(form)
    if facts is None:
        return None
    if issued is not None and issued.doc_type in served_types:
        target: Document | None = issued
    else:
        target = db.session.scalars(
            select(Document).where(Document.case_id == case_id, Document.doc_type.in_(served_types),
                                   Document.voided_at.is_(None), Document.superseded_by_id.is_(None))
            .order_by(Document.id.desc()).limit(1)).first()
    if target is None:
        return None
    enum = next((dict(lab.get("enum") or {}) for key, lab in labels.items() if key.endswith("service_method")), {})
    label = str(enum.get(facts["method"]) or METHOD_LABELS.get(facts["method"], facts["method"]))[:60]
    row = DocumentService(document_id=target.id, case_id=case_id, task_id=task_id, method=facts["method"][:40],
                          method_label=label, served_on=facts["served_on"], effective_on=facts["effective_on"],
                          recipient=facts["recipient"], address=facts["address"], witness=facts["witness"],
                          recorded_by=actor, recorded_at=clock.now())
    db.session.add(row)
    audit.record("document.served", actor,
                 {"document_type": target.doc_type, "number": target.number, "sha256": target.sha256,
                  "method": facts["method"], "served_on": facts["served_on"], "effective_on": facts["effective_on"],
                  "recipient": facts["recipient"]},
                 case_id=case_id, instance_id=instance_id, task_id=task_id)
    return row


def services_of(document_ids: list[int]) -> dict[int, list[DocumentService]]:
    """Document id -> its recorded services, oldest first (for the case page and the print view)."""
    out: dict[int, list[DocumentService]] = {}
    if not document_ids:
        return out
    for row in db.session.scalars(select(DocumentService).where(DocumentService.document_id.in_(document_ids))
                                  .order_by(DocumentService.id)):
        out.setdefault(row.document_id, []).append(row)
    return out
