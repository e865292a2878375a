"""公示: publish ordinary-procedure penalty decisions, masked, on time; withdraw and expire them.

DOMAIN.md §6 and 国办发〔2018〕118号: a 行政处罚决定书 is published within the ``publication`` limit
(default 7 working days) of the decision; warning-only decisions are not; minors' cases and cases on
state or trade secrets or privacy never are. What is published: 文号, party, violation, penalty,
agency, date. A natural person's ID number, address, phone and bank account, and an organization's
bank account, are masked (engine.publication.masking) wherever they appear in any published field, the party's
name included: a person's name is published, an ID number or phone typed into it is not. A changed
or revoked decision is withdrawn within the ``publication_withdrawal`` limit (法 Art. 48);
publication ends after 3 years (3 months for low fines). The scheduler's sweep does all of it, reading only due rows.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from engine import clock
from engine.db.command import command, unit_of_work
from engine.deadlines.limits import Deadlines
from engine.definitions.procedures import decision_documents
from engine.errors import InvalidInput, NotFound
from engine.models import AuditEvent, Case, Document, Publication, User, db
from engine.policy.permissions import require
from engine.publication.masking import mask_text
from engine.record import audit
from engine.record.audit import Finding

SYSTEM_ACTOR = "system"
SETTINGS: dict[str, Any] = json.loads((Path(__file__).resolve().parent.parent / "data" / "publication.json").read_text(encoding="utf-8"))
WITHHELD = {
    "warning_only": "仅给予警告的决定不予公示",
    "minor": "当事人为未成年人，不予公示",
    "state_secret": "涉及国家秘密，不予公示",
    "trade_secret": "涉及商业秘密，不予公示",
    "privacy": "涉及个人隐私，不予公示",
}
BATCH = 500


@dataclass
class PublicationSweep:
    registered: int = 0
    published: int = 0
    withdrawn: int = 0
    expired: int = 0


def sweep_publications(now: dt.datetime | None = None) -> PublicationSweep:
    """One pass of the scheduler: register new decisions, publish, withdraw and expire what is due."""
    now = now or clock.now()
    result = PublicationSweep()
    with unit_of_work():
        result.registered = _register_new(now)
        result.published = _publish_pending(now)
        result.withdrawn = _withdraw_requested(now)
        result.expired = _expire(now)
    return result


@command
def request_withdrawal(actor: User, case_id: int, reason: str) -> list[Publication]:
    """The decision was changed or revoked: withdraw its publication (within 3 working days, 法 Art. 48)."""
    from engine.policy.access import get_case

    case = get_case(actor, case_id)
    require(actor, "publication.withdraw")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("请填写撤回原因 (give the reason: decision changed or revoked)")
    rows = list(db.session.scalars(select(Publication).where(Publication.case_id == case.id,
                                                             Publication.status.in_(("pending", "published")))))
    if not rows:
        raise NotFound("该案件没有在公示中的决定 (no publication of this case to withdraw)")
    now = clock.now()
    for row in rows:
        _ask_withdrawal(row, now, reason, actor.username)
    return rows


def void_decision(document: Document, reason: str, actor: str) -> None:
    """A decision voided (作废) on a refused path is never published; one registered or already
    published is withdrawn (法 Art. 48), the sweep doing it at its next pass."""
    if document.doc_type not in decision_documents():
        return
    for row in db.session.scalars(select(Publication).where(Publication.document_id == document.id,
                                                            Publication.status.in_(("pending", "published")))):
        _ask_withdrawal(row, clock.now(), f"决定书已作废：{reason}" if reason else "决定书已作废", actor)


def public_query(party: str | None = None, violation: str | None = None, date_from: dt.date | None = None,
                 date_to: dt.date | None = None) -> Any:
    """Published, unexpired decisions for the public page and feed, newest first."""
    query = select(Publication).where(Publication.status == "published")
    if party:
        query = query.where(Publication.party.contains(party[:100], autoescape=True))
    if violation:
        query = query.where(Publication.violation.contains(violation[:100], autoescape=True))
    if date_from:
        query = query.where(Publication.decided_on >= date_from)
    if date_to:
        query = query.where(Publication.decided_on <= date_to)
    return query.order_by(Publication.decided_on.desc(), Publication.id.desc())


def publication_hash(row: Any) -> str:
    get = row.get if isinstance(row, dict) else lambda k: getattr(row, k)
    payload = {k: get(k) for k in ("case_id", "document_id", "decision_number", "party", "violation", "penalty", "agency",
                                   "content")}
    payload["decided_on"] = get("decided_on").isoformat()
    return hashlib.sha256(audit.canonical_json(payload).encode("utf-8")).hexdigest()


def verify_publications(case_id: int | None = None) -> list[Finding]:
    """Edited publications (content no longer matching its hash, or the hash the record holds)."""
    query = select(Publication).execution_options(populate_existing=True)
    if case_id is not None:
        query = query.where(Publication.case_id == case_id)
    recorded = {(e.case_id, (e.data or {}).get("publication")): (e.data or {}).get("sha256") for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "publication.published",
                                 *([AuditEvent.case_id == case_id] if case_id is not None else [])))}
    findings = []
    for row in db.session.scalars(query):
        chain = f"case:{row.case_id}"
        if publication_hash(row) != row.sha256:
            findings.append(Finding(chain, None, None, f"公示信息 #{row.id} 被修改 (publication content does not match its hash)"))
        elif row.published_at is not None and recorded.get((row.case_id, row.id)) != row.sha256:
            findings.append(Finding(chain, None, None, f"公示信息 #{row.id} 与办案记录不符 (publication hash differs from the record)"))
    return findings


# --------------------------------------------------------------------------------------------- helpers
def _register_new(now: dt.datetime) -> int:
    docs = list(db.session.scalars(
        select(Document).outerjoin(Publication, Publication.document_id == Document.id)
        .where(Document.doc_type.in_(decision_documents()), Document.voided_at.is_(None), Publication.id.is_(None))
        .order_by(Document.id).limit(BATCH)))
    for doc in docs:
        # A second decision in the same case changes the first: its publication is withdrawn.
        for earlier in db.session.scalars(select(Publication).where(
                Publication.case_id == doc.case_id, Publication.status.in_(("pending", "published")))):
            _ask_withdrawal(earlier, now, f"决定已变更，以 {doc.number} 为准 (decision changed)", SYSTEM_ACTOR)
        db.session.add(_publication_for(doc, now))
    db.session.flush()
    return len(docs)


def _publication_for(doc: Document, now: dt.datetime) -> Publication:
    case = db.session.get(Case, doc.case_id)
    assert case is not None
    data = (doc.data or {}).get("data") or {}
    form = (doc.data or {}).get("form") or {}
    decided_on = _date(data.get("decided_on")) or doc.created_at.astimezone(clock.SHANGHAI).date()
    kind = str(data.get("decided_penalty_kind") or "")
    fine = data.get("decided_fine") or 0
    reason = _withheld(data, form, kind)
    low = kind == "fine" and isinstance(fine, int | float) and fine < SETTINGS["low_fine"].get(case.party_type, 0)
    violation = str(data.get("facts_found") or data.get("violation") or case.facts.get("violation") or "")
    agency = (doc.data or {}).get("case", {}).get("agency_name") or case.unit.name
    # Every published text goes through the masking, not only the free text: officers type ID numbers
    # and phones into the party's name too. Ordinary text (文号, amounts, organisations) comes out unchanged.
    published = {name: mask_text(str(value or "")) for name, value in {
        "decision_number": doc.number, "party": case.party_name if not reason else "", "violation": violation,
        "penalty": data.get("decided_penalty") or _penalty_text(kind, fine), "agency": agency}.items()}
    row = Publication(
        case_id=case.id, document_id=doc.id, **published,
        decided_on=decided_on, low_fine=low, status="withheld" if reason else "pending",
        withheld_reason=WITHHELD.get(reason or ""), created_at=now,
        due_by=None if reason else Deadlines().deadline("publication", decided_on),
    )
    row.content = {"文号": row.decision_number, "当事人": row.party, "违法行为": row.violation, "处罚内容": row.penalty,
                   "处罚机关": row.agency, "决定日期": decided_on.isoformat()}
    row.sha256 = publication_hash(row)
    if reason:
        audit.record("publication.withheld", SYSTEM_ACTOR, {"document": doc.number, "reason": WITHHELD[reason]}, case_id=case.id)
    return row


def _penalty_text(kind: str, fine: Any) -> str:
    label = {"warning": "警告", "fine": "罚款", "confiscation": "没收违法所得、没收非法财物", "licence_revocation": "吊销许可证件",
             "suspension": "责令停产停业", "closure": "责令关闭"}.get(kind, kind)
    return f"{label}人民币{fine:,.2f}元" if kind == "fine" and isinstance(fine, int | float) else label


def _withheld(data: dict[str, Any], form: dict[str, Any], kind: str) -> str | None:
    restriction = str(form.get("publication_restriction") or data.get("publication_restriction") or "none")
    if restriction in WITHHELD:
        return restriction
    if data.get("party_minor") or form.get("party_minor"):
        return "minor"
    if kind == "warning":
        return "warning_only"
    return None


def _publish_pending(now: dt.datetime) -> int:
    # One asked to be withdrawn before it was published (a voided or changed decision) never is.
    rows = list(db.session.scalars(select(Publication).where(Publication.status == "pending",
                                                             Publication.withdraw_requested_at.is_(None))
                                   .order_by(Publication.due_by).limit(BATCH).with_for_update(skip_locked=True)))
    for row in rows:
        row.status, row.published_at = "published", now
        if row.low_fine:
            row.expires_at = _add_months(now, SETTINGS["low_fine_months"])
        else:
            row.expires_at = _add_months(now, 12 * SETTINGS["period_years"])
        audit.record("publication.published", SYSTEM_ACTOR,
                     {"publication": row.id, "document": row.decision_number, "sha256": row.sha256,
                      "on_time": row.due_by is None or now <= row.due_by, "expires_at": row.expires_at.isoformat()},
                     case_id=row.case_id)
    return len(rows)


def _withdraw_requested(now: dt.datetime) -> int:
    rows = list(db.session.scalars(select(Publication).where(
        Publication.status.in_(("pending", "published")), Publication.withdraw_requested_at.is_not(None),
        Publication.withdraw_requested_at <= now).limit(BATCH).with_for_update(skip_locked=True)))
    for row in rows:
        row.status, row.withdrawn_at = "withdrawn", now
        audit.record("publication.withdrawn", SYSTEM_ACTOR,
                     {"publication": row.id, "document": row.decision_number, "reason": row.withdraw_reason,
                      "on_time": row.withdraw_due_by is None or now <= row.withdraw_due_by}, case_id=row.case_id)
    return len(rows)


def _expire(now: dt.datetime) -> int:
    rows = list(db.session.scalars(select(Publication).where(
        Publication.status == "published", Publication.expires_at <= now).limit(BATCH).with_for_update(skip_locked=True)))
    for row in rows:
        row.status = "expired"
        audit.record("publication.expired", SYSTEM_ACTOR, {"publication": row.id, "document": row.decision_number},
                     case_id=row.case_id)
    return len(rows)


def _ask_withdrawal(row: Publication, now: dt.datetime, reason: str, actor: str) -> None:
    if row.withdraw_requested_at is not None:
        return
    row.withdraw_requested_at, row.withdraw_reason = now, reason
    row.withdraw_due_by = Deadlines().deadline("publication_withdrawal", now.astimezone(clock.SHANGHAI).date())
    audit.record("publication.withdrawal_requested", actor, {"publication": row.id, "reason": reason}, case_id=row.case_id)


def _add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """Same day and time ``months`` later in Beijing (the month's last day when it is shorter)."""
    local = moment.astimezone(clock.SHANGHAI)
    year, month = divmod(local.month - 1 + months, 12)
    year, month = local.year + year, month + 1
    return local.replace(year=year, month=month, day=min(local.day, calendar.monthrange(year, month)[1]))


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None
