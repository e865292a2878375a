"""Registering and withdrawing evidence (证据登记、撤回): who may, what is checked, what is recorded.

Adding evidence is part of working the case (全过程记录, 法 Art. 47): only the case's officers may
(its unit's handlers — the designated ones once they are designated — the unit head and the agency
head), not a recused officer (法 Art. 43), and not once the case is closed or terminated: the record
of a finished case is what it was when it finished.

The bytes are staged, checked and stored *before* the one short transaction that records the item,
because a 4 GB video must not hold the database's write lock while it is copied. The transaction
then re-checks the case and writes the row and its ``evidence.registered`` event (sha256, size,
kind, content type, metadata) in the case's hash chain together. An object stored for a transaction
that then failed stays in the store unreferenced: harmless, since nothing is ever overwritten and the
next registration of the same bytes finds it already there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, BinaryIO

from sqlalchemy import func, select

from engine import clock
from engine.db.command import command
from engine.errors import Forbidden, InvalidInput, InvalidState, NotFound
from engine.evidence import metadata as media
from engine.evidence import sniff
from engine.evidence.storage import Staged, TooLarge, get_storage, iter_stream, stage
from engine.models import Case, Evidence, Task, UploadSession, User, db
from engine.policy.access import DESIGNATED_HANDLERS, case_facts, get_case, refuse_recused
from engine.policy.permissions import CASE_OFFICERS, HEADS
from engine.record import audit

OFFICER_ROLES = CASE_OFFICERS
HEAD_ROLES = HEADS
FINISHED = ("closed", "terminated")
MAX_TEXT = 2000


def register_evidence(actor: User, case_id: int, stream: BinaryIO | Iterable[bytes], *, kind: str, filename: str,
                      description: str = "", collected_at: dt.datetime | str | None = None, collected_place: str = "",
                      collected_by: str | None = None, task_id: str | None = None) -> Evidence:
    """Stream one file in, check it, store it and record it; nothing is kept when anything is refused."""
    check_may_add(actor, case_id, task_id)  # before a single byte is written
    fields = entry_fields(kind=kind, filename=filename, description=description, collected_at=collected_at,
                          collected_place=collected_place, collected_by=collected_by)
    storage = get_storage()
    try:
        staged = stage(storage, iter_stream(stream), sniff.max_bytes())
    except TooLarge as exc:
        sniff.check_size(exc.size)
        raise
    try:
        return register_staged(actor, case_id, staged, task_id=task_id, **fields)
    finally:
        staged.path.unlink(missing_ok=True)


def entry_fields(*, kind: object, filename: object, description: object = "", collected_at: object = None,
                 collected_place: object = "", collected_by: object = None) -> dict[str, Any]:
    """The officer's entries, checked and normalised (every problem is the user's to fix)."""
    return {
        "kind": sniff.check_kind(kind),
        "filename": sniff.check_filename(filename),
        "description": _text(description, "description", "说明"),
        "collected_at": sniff.parse_time(collected_at),
        "collected_place": _text(collected_place, "collected_place", "收集地点", 300),
        "collected_by": _text(collected_by, "collected_by", "收集人", 200) if collected_by else None,
    }


def register_staged(actor: User, case_id: int, staged: Staged, *, kind: str, filename: str, description: str,
                    collected_at: dt.datetime | None, collected_place: str, collected_by: str | None, task_id: str | None,
                    upload_id: str | None = None) -> Evidence:
    """Check a staged file's content against its kind, read its metadata, store it, then record it."""
    sniff.check_size(staged.size)
    found = sniff.sniff(staged.path)
    sniff.check_content(kind, found)
    meta = media.extract(staged.path, found.content_type)
    get_storage().store(staged)
    return _record(actor, case_id, {
        "kind": kind, "filename": filename, "description": description, "content_type": found.content_type,
        "size": staged.size, "sha256": staged.sha256, "collected_at": collected_at or media.taken_at(meta),
        "collected_place": collected_place, "collected_by": collected_by or actor.display_name or actor.username,
        "meta": meta, "task_id": task_id,
    }, upload_id)


@command
def _record(actor: User, case_id: int, item: dict[str, Any], upload_id: str | None) -> Evidence:
    case = check_may_add(actor, case_id, item["task_id"], lock=True)
    seq = (db.session.scalar(select(func.max(Evidence.seq)).where(Evidence.case_id == case.id)) or 0) + 1
    evidence = Evidence(case_id=case.id, seq=seq, registered_by=actor.username, registered_at=clock.now(), **item)
    db.session.add(evidence)
    db.session.flush()
    if upload_id is not None:
        upload = db.session.get(UploadSession, upload_id)
        if upload is not None:
            upload.status, upload.evidence_id = "complete", evidence.id
    audit.record("evidence.registered", actor.username, recorded_fields(evidence), case_id=case.id, task_id=item["task_id"])
    return evidence


def recorded_fields(evidence: Evidence) -> dict[str, Any]:
    """What the hash chain holds of an item: enough to prove the bytes and the claims made about them."""
    return {
        "evidence_id": evidence.id, "seq": evidence.seq, "kind": evidence.kind, "filename": evidence.filename,
        "content_type": evidence.content_type, "size": evidence.size, "sha256": evidence.sha256,
        "description": evidence.description, "collected_by": evidence.collected_by,
        "collected_at": evidence.collected_at.isoformat() if evidence.collected_at else None,
        "collected_place": evidence.collected_place, "metadata": evidence.meta, "task_id": evidence.task_id,
    }


@command
def withdraw_evidence(actor: User, evidence_id: int, reason: str) -> Evidence:
    """撤回: the item stops counting as evidence relied on; who, when and why are recorded, the bytes stay."""
    reason = _text(reason, "reason", "撤回理由").strip()
    if not reason:
        raise InvalidInput("请填写撤回理由 (a reason is required to withdraw evidence)", details=[{"field": "reason", "message": "必填"}])
    evidence = get_evidence(actor, evidence_id)
    check_may_add(actor, evidence.case_id, None, lock=True)
    if evidence.withdrawn:
        raise InvalidState(f"证据 {evidence.seq} 已于 {evidence.withdrawn_at:%Y-%m-%d} 撤回，无需重复操作 (already withdrawn)")
    evidence.withdrawn_at, evidence.withdrawn_by, evidence.withdraw_reason = clock.now(), actor.username, reason
    audit.record("evidence.withdrawn", actor.username,
                 {"evidence_id": evidence.id, "seq": evidence.seq, "filename": evidence.filename, "sha256": evidence.sha256,
                  "reason": reason}, case_id=evidence.case_id, task_id=evidence.task_id)
    return evidence


def check_may_add(actor: User, case_id: int, task_id: str | None, lock: bool = False) -> Case:
    """The case (in the actor's scope) when the actor may add evidence to it now; else why not."""
    case = get_case(actor, case_id)
    if lock:  # one registration of a case at a time: evidence numbers follow each other without gaps
        db.session.execute(select(Case.id).where(Case.id == case.id).with_for_update())
    reason = why_not_add(actor, case)
    if reason:
        raise (InvalidState if case.status in FINISHED else Forbidden)(reason)
    if task_id is not None:
        task = db.session.get(Task, task_id) if isinstance(task_id, str) else None
        if task is None or task.case_id != case.id:
            raise NotFound("任务不存在或不属于本案 (task not found in this case)", details=[{"field": "task_id", "message": "任务不存在"}])
        if task.status != "open":
            raise InvalidState(f"环节“{task.name}”已办结，不能再添加证据：请在案件页面直接添加 (the step is done; add it on the case)")
    return case


def why_not_add(actor: User, case: Case) -> str | None:
    """None when ``actor`` may add or withdraw evidence of ``case`` now; else the rule and what to do."""
    if case.status in FINISHED:
        return ("案件已结案或终止，不能再添加或撤回证据：结案时的案卷即为定案记录 "
                "(the case is closed or terminated: its record is final)")
    if not actor.has_role(*OFFICER_ROLES) or actor.unit_id != case.unit_id:
        return ("只有本案承办单位的执法人员（承办人、承办机构负责人、行政机关负责人）可以登记证据：请由本案承办人登记 "
                "(only the officers of the case's unit register evidence: ask the case's handler)")
    facts = case_facts([case.id])
    if (case.id, actor.id) in facts.recused:
        try:
            refuse_recused(actor, case.id)
        except Forbidden as refused:
            return refused.message
    handlers = facts.handlers.get(case.id)
    if handlers and actor.id not in handlers and not actor.has_role(*HEAD_ROLES):
        return ("不是本案指定的承办人，不能登记本案证据（《行政处罚法》第四十二条）：请由指定承办人登记，或请承办机构负责人重新指定 "
                f"(not a designated handler ({DESIGNATED_HANDLERS}) of this case: ask a designated handler)")
    return None


def get_evidence(actor: User, evidence_id: int) -> Evidence:
    """One item, if its case is in the actor's scope (otherwise it does not exist for them)."""
    evidence = db.session.get(Evidence, evidence_id) if isinstance(evidence_id, int) else None
    if evidence is None:
        raise NotFound("证据不存在或无权查看 (evidence not found)")
    try:
        get_case(actor, evidence.case_id)
    except NotFound:
        raise NotFound("证据不存在或无权查看 (evidence not found)")
    return evidence


def list_evidence(actor: User, case_id: int, *, task_id: str | None = None, include_withdrawn: bool = True) -> list[Evidence]:
    """The case's items in the order registered (证据编号), as anyone who may see the case sees them."""
    case = get_case(actor, case_id)
    query = select(Evidence).where(Evidence.case_id == case.id).order_by(Evidence.seq)
    if task_id is not None:
        query = query.where(Evidence.task_id == task_id)
    if not include_withdrawn:
        query = query.where(Evidence.withdrawn_at.is_(None))
    return list(db.session.scalars(query))


def _text(value: object, field: str, label: str, limit: int = MAX_TEXT) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{label}必须是文字 ({field} must be a string)", details=[{"field": field, "message": "必须是文字"}])
    if len(value) > limit:
        raise InvalidInput(f"{label}过长，不超过 {limit} 个字 ({field} is longer than {limit} characters)",
                           details=[{"field": field, "message": "过长"}])
    return value.strip()
