"""执法文书: generation on task completion, numbering, templates, PDF, verification."""

from engine.documents.generate import document_hash, issue_case_document, produce_document
from engine.documents.query import case_documents, export_entries, get_document
from engine.documents.types import DocType, all_types, document_type, format_number, set_document_type
from engine.documents.verify import verify_documents

__all__ = [
    "DocType",
    "all_types",
    "case_documents",
    "document_hash",
    "document_type",
    "export_entries",
    "format_number",
    "get_document",
    "issue_case_document",
    "produce_document",
    "set_document_type",
    "verify_documents",
]
