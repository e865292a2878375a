"""执法文书: the A4 print view and the PDF download of a stored document (pages and /api/v1).

Documents are read through the case's unit scope: another unit's document is a 404.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, g, render_template, url_for
from flask_login import login_required

from engine.documents import get_document
from engine.documents.pdf import qr_png, render_pdf, verify_url
from engine.documents.service import services_of
from engine.documents.verification import STATUS_LABELS, seal_of
from engine.models import Document, db

from .api import bp as api_bp
from .api import current
from .api.present import iso
from .verify import public_base

bp = Blueprint("documents", __name__)


@bp.get("/cases/<int:case_id>/documents/<int:document_id>")
@login_required
def show(case_id: int, document_id: int) -> str:
    document = get_document(g.user, case_id, document_id)
    served = db.session.get(Document, document.serves_id) if document.serves_id else document
    seal = seal_of(document)
    url = verify_url(public_base(), document) if document.verify_code else ""
    return render_template(
        "documents/print.html", document=document, served=served, services=services_of([served.id]).get(served.id, []),
        status_label=STATUS_LABELS[document.status], verify_link=url,
        qr=base64.b64encode(qr_png(url)).decode() if url else "",
        seal=base64.b64encode(seal).decode() if seal else "")


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
        "status": document.status, "verify_code": document.verify_code, "serves_id": document.serves_id,
        "url": url_for("api.case_document", case_id=document.case_id, document_id=document.id),
        "pdf": url_for("api.case_document_pdf", case_id=document.case_id, document_id=document.id),
    }


def pdf_response(document: Document) -> Response:
    filename = f"{document.doc_type}-{document.number}.pdf"
    pdf = render_pdf(document, public_base(), seal=seal_of(document))
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f"inline; filename=\"document-{document.id}.pdf\"; filename*=UTF-8''{quote(filename)}",
        "Cache-Control": "private, no-store",
    })
