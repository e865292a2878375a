"""The text of each document type: shipped, or edited by an administrator (stored, versioned, audited).

An edited text is checked before it is stored: it must parse and stay within the sandbox's bounds
(engine/documents/render.py), and it must still use every field its type requires (the organ's
复议机关 and court in a decision, the party's particulars in a served document…), so an edit cannot
silently drop a statutory clause. The next document of the type is rendered from the new text;
documents already issued keep the text they were issued with (their content is stored and hashed).
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select

from engine import clock
from engine.db.command import command
from engine.documents.render import render_content, shipped_source, template_problems
from engine.documents.types import document_type
from engine.errors import InvalidInput, UnsafeExpression
from engine.models import DocumentTemplate, User, db
from engine.policy.permissions import require
from engine.record import audit

MAX_REASON = 1000


def current_text(doc_type: str) -> tuple[str, str]:
    """(template name for the document row, source) in force for ``doc_type``."""
    row = latest_row(doc_type)
    if row is not None and row.source:
        return f"db:{row.id}", row.source
    kind = document_type(doc_type)
    return kind.template, shipped_source(kind.template)


def latest_row(doc_type: str) -> DocumentTemplate | None:
    return db.session.scalars(select(DocumentTemplate).where(DocumentTemplate.doc_type == doc_type)
                              .order_by(DocumentTemplate.id.desc()).limit(1)).first()


def history(doc_type: str) -> list[DocumentTemplate]:
    return list(db.session.scalars(select(DocumentTemplate).where(DocumentTemplate.doc_type == doc_type)
                                   .order_by(DocumentTemplate.id.desc())))


def check_text(doc_type: str, source: str) -> None:
    """Refuse a text that does not parse, exceeds the bounds, or misses a required field (named)."""
    problems = template_problems(source, list(document_type(doc_type).required))
    if problems:
        raise InvalidInput("文书模板未通过校验：" + "；".join(problems) + " (the template was refused: see the problems listed)",
                           details=[{"field": "source", "message": p} for p in problems])


def preview(doc_type: str, source: str, snapshot: dict[str, Any]) -> str:
    """The content ``source`` would give on a real case's data (nothing is stored)."""
    check_text(doc_type, source)
    try:
        return render_content(source, snapshot)
    except UnsafeExpression:
        raise
    except Exception as exc:  # noqa: BLE001 - any template error is the administrator's to fix, shown as such
        raise InvalidInput(f"文书模板无法生成：{exc} (the template failed to render)",
                           details=[{"field": "source", "message": str(exc)}])


@command
def set_document_text(actor: User, doc_type: str, source: str, reason: str) -> DocumentTemplate:
    """Store a new text for ``doc_type`` (an empty ``source`` restores the shipped text)."""
    require(actor, "document_texts.edit")
    source = (source or "").replace("\r\n", "\n")
    reason = (reason or "").strip()[:MAX_REASON]
    if not reason:
        raise InvalidInput("请填写修改理由 (a reason is required)", details=[{"field": "reason", "message": "必填"}])
    if source.strip():
        check_text(doc_type, source)
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
    row = DocumentTemplate(doc_type=doc_type, source=source, sha256=digest, reason=reason,
                           created_by=actor.username, created_at=clock.now())
    db.session.add(row)
    audit.record("document_template.changed", actor.username,
                 {"document_type": doc_type, "sha256": digest, "restored_default": not source.strip(), "reason": reason})
    return row
