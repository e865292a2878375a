"""Evidence (证据) and the audio-visual record (全过程记录): photos, recordings, video and scans on a case.

Stored content-addressed and write-once (storage), typed from the bytes (sniff), described from
the file's own metadata (metadata), registered into the case's hash chain (register), uploaded in
resumable chunks when large (chunks), read back ranged and as thumbnails (view), and re-hashed by
verification (verify). Layer: above documents, below runtime (docs/architecture.md).
"""

from engine.evidence.chunks import chunk_max_bytes, complete_upload, put_chunk, start_upload, upload_status
from engine.evidence.register import (
    get_evidence,
    list_evidence,
    recorded_fields,
    register_evidence,
    why_not_add,
    withdraw_evidence,
)
from engine.evidence.sniff import KINDS, accept_attr, is_audio, is_image, is_inline, is_pdf, is_video
from engine.evidence.verify import verify_evidence
from engine.evidence.view import evidence_summary, open_content, thumbnail

__all__ = [
    "KINDS",
    "accept_attr",
    "chunk_max_bytes",
    "complete_upload",
    "evidence_summary",
    "get_evidence",
    "is_audio",
    "is_image",
    "is_inline",
    "is_pdf",
    "is_video",
    "list_evidence",
    "open_content",
    "put_chunk",
    "recorded_fields",
    "register_evidence",
    "start_upload",
    "thumbnail",
    "upload_status",
    "verify_evidence",
    "why_not_add",
    "withdraw_evidence",
]
