"""执法文书: the A4 print view and the PDF download of a stored document (pages and /api/v1).

Documents are read through the case's unit scope: another unit's document is a 404.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, g, render_template, url_for
from flask_login import login_required

from engine.documents import get_document
from engine.documents.pdf import render_pdf
from engine.models import Document

from .api import bp as api_bp
from .api import current
from .api.present import iso

bp = Blueprint("documents", __name__)


@bp.get("/cases/<int:case_id>/documents/<int:document_id>")
@login_required
def show(case_id: int, document_id: int) -> str:
    document = get_document(g.user, case_id, document_id)
    return render_template("documents/print.html", document=document)


@bp.get("/cases/<int:case_id>/documents/<int:document_id>.pdf")
@login_required
def pdf(case_id: int, document_id: int) -> Response:
    return pdf_response(get_document(g.user, case_id, document_id))


@api_bp.get("/cases/<int:case_id>/documents/<int:document_id>")
def case_document(case_id: int, document_id: int) -> dict[str, Any]:
    document = get_document(current(), case_id, document_id)
    return {**document_summary(document), "content": document.content, "data": document.data}


@api_bp.get("/cases/<int:case_id>/documents/<int:document_id>.pdf")
def case_document_pdf(case_id: int, document_id: int) -> Response:
    return pdf_response(get_document(current(), case_id, document_id))


def document_summary(document: Document) -> dict[str, Any]:
    """A document as listed in GET /api/v1/cases/<id>."""
    return {
        "id": document.id, "type": document.doc_type, "number": document.number, "task_id": document.task_id,
        "sha256": document.sha256, "created_by": document.created_by, "created_at": iso(document.created_at),
        # 作废: issued on a path the process then refused; kept in the record, never published.
        "voided": document.voided_at is not None, "voided_at": iso(document.voided_at), "void_reason": document.void_reason,
        "url": url_for("api.case_document", case_id=document.case_id, document_id=document.id),
        "pdf": url_for("api.case_document_pdf", case_id=document.case_id, document_id=document.id),
    }


def pdf_response(document: Document) -> Response:
    filename = f"{document.doc_type}-{document.number}.pdf"
    return Response(render_pdf(document), mimetype="application/pdf", headers={
        "Content-Disposition": f"inline; filename=\"document-{document.id}.pdf\"; filename*=UTF-8''{quote(filename)}",
        "Cache-Control": "private, no-store",
    })
