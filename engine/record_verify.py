"""Verify the whole full-process record at once (an administrator's check, itself recorded)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from . import audit
from .audit import Finding
from .models import AuditHead, User, db
from .transaction import command


@dataclass
class VerificationResult:
    chains: int
    events: int
    findings: list[Finding] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.findings


@command
def verify_everything(actor: User) -> VerificationResult:
    """Every chain (each case and the system chain); the result is recorded in the system chain."""
    findings = audit.verify()
    chains = db.session.scalar(select(func.count()).select_from(AuditHead)) or 0
    events = db.session.scalar(select(func.coalesce(func.sum(AuditHead.seq), 0))) or 0
    audit.record("audit.verified", actor.username, {"chains": chains, "events": int(events), "findings": len(findings)})
    return VerificationResult(chains, int(events), findings)
