"""Verify the whole full-process record at once (an administrator's check, itself recorded)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from engine.db.command import command
from engine.documents.verify import verify_documents
from engine.evidence.verify import verify_evidence
from engine.models import AuditHead, User, db
from engine.publication.publish import verify_publications
from engine.record import audit
from engine.record.audit import Finding


@dataclass
class VerificationResult:
    chains: int
    events: int
    findings: list[Finding] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.findings


def verify_record(case_id: int | None = None) -> list[Finding]:
    """Check one case's record, or the whole record: hash chains, issued documents, 公示 entries and
    evidence (every stored file re-hashed against the hash its registration recorded).

    An empty list means intact.
    """
    return audit.verify_chains(case_id) + verify_documents(case_id) + verify_publications(case_id) + verify_evidence(case_id)


@command
def verify_everything(actor: User) -> VerificationResult:
    """Every chain (each case and the system chain); the result is recorded in the system chain."""
    findings = verify_record()
    chains = db.session.scalar(select(func.count()).select_from(AuditHead)) or 0
    events = db.session.scalar(select(func.coalesce(func.sum(AuditHead.seq), 0))) or 0
    audit.record("audit.verified", actor.username, {"chains": chains, "events": int(events), "findings": len(findings)})
    return VerificationResult(chains, int(events), findings)
