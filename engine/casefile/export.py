"""The case file (案卷) as one zip that anyone can verify offline (全过程记录, 法 Art. 47).

Contents: ``case.json`` (the case as recorded), ``audit.jsonl`` (the case's hash chain, every field
that was hashed), ``documents/…`` (the issued documents), ``printable.html`` (the printable case
file), ``manifest.json`` (sha256 of every file, the chain head, each document's hash) and
``verify.py`` (``engine.record.offline_check``, standard library only). ``python3 verify.py 案卷.zip``
recomputes the chain and every hash. Evidence files (照片、录音、录像…) are in ``evidence/…`` up to
the administrator's size limit, beyond it listed with their hashes (engine/evidence/export.py); the
manifest's ``evidence`` list ties each to the sha256 its registration recorded in the chain.

A void document (作废, engine/documents/void.py) is part of the record: its file, its hash and its
issuing and voiding events are all here, and the manifest marks it void with the reason. The
printable file is the case file as it stands: it leaves void documents out and only lists them, with
the reason, after the documents that are in force.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile
from html import escape
from pathlib import Path
from typing import Any

from sqlalchemy import select

from engine import clock
from engine.db.command import command
from engine.evidence import export as evidence_export
from engine.models import AuditEvent, AuditHead, Case, User, db
from engine.policy.access import get_case
from engine.record import audit
from engine.record import offline_check as recordcheck

README = """zhifa 案卷导出 (case file export)

校验方法 (to verify, offline, Python 3 only):
    python3 verify.py {name}
或不解压 (or without extracting):
    unzip -p {name} verify.py | python3 - {name}

校验内容：manifest.json 中每个文件的 sha256；audit.jsonl 办案记录哈希链（序号、前一哈希、内容哈希、链尾）；
每份文书的哈希须记录在办案记录的签发事件中；每件证据的哈希须与办案记录中登记时的哈希一致（超出导出大小上限的证据只列出哈希）。
Checks: every file against manifest.json; the audit hash chain (sequence, previous hash, content hash,
chain head); every document's hash must appear in the record's issuing event; every evidence file
must match the sha256 recorded when it was registered (items above the export size limit are listed only).
"""


@command
def export_case_file(actor: User, case_id: int) -> tuple[str, bytes]:
    """(file name, zip bytes) of the case as recorded now; the export itself is recorded afterwards."""
    case = get_case(actor, case_id)
    events = [_event(e) for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.chain == f"case:{case.id}").order_by(AuditEvent.id))]
    head = db.session.get(AuditHead, f"case:{case.id}")
    files: dict[str, bytes] = {
        "case.json": _json_bytes(_case(case)),
        "audit.jsonl": "".join(recordcheck.canonical_json(e) + "\n" for e in events).encode("utf-8"),
    }
    documents = []
    for doc in case_documents(case.id):
        files[doc["file"]] = doc.pop("content")
        documents.append(doc)
    files["printable.html"] = _printable(case).encode("utf-8")
    evidence = evidence_export.export_entries(case.id)
    manifest = {
        "format": "zhifa-case-file/1",
        "case_number": case.case_number,
        "exported_at": clock.now().astimezone(clock.SHANGHAI).isoformat(),
        "exported_by": actor.username,
        "files": {name: hashlib.sha256(content).hexdigest() for name, content in files.items()},
        "chain_head": {"seq": head.seq, "hash": head.hash} if head else None,
        "documents": documents,
        "evidence": evidence,
    }
    name = f"{case.case_number}.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file_name, content in files.items():
            archive.writestr(file_name, content)
        evidence_export.write_files(archive, evidence)
        archive.writestr("manifest.json", _json_bytes(manifest))
        archive.writestr("verify.py", Path(recordcheck.__file__).read_text(encoding="utf-8"))
        archive.writestr("README.txt", README.format(name=name))
    audit.record("case.exported", actor.username, {"files": len(files), "chain_seq": head.seq if head else 0}, case_id=case.id)
    return name, buffer.getvalue()


def case_documents(case_id: int) -> list[dict[str, Any]]:
    """The issued documents of a case as export entries (file name, number, type, sha256, content)."""
    from engine import documents  # issued documents live in their own package

    return documents.export_entries(case_id)


def _printable(case: Case) -> str:
    """The case file to print: the documents in force in the order issued, then a register of the
    void ones (number, type, reason) without their content."""
    from engine.documents import case_documents as issued

    docs = issued(case.id)
    valid = [d for d in docs if d.voided_at is None]
    void = [d for d in docs if d.voided_at is not None]
    parts = [
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">",
        f"<title>{escape(case.case_number)} 案卷</title>",
        "<style>body{font-family:serif;max-width:180mm;margin:auto}article{page-break-after:always}"
        "table{border-collapse:collapse;width:100%}td,th{border:1px solid #000;padding:4px}</style></head><body>",
        f"<h1>{escape(case.case_number)} 案卷</h1>",
        f"<p>当事人：{escape(case.party_name)}　承办单位：{escape(case.unit.name)}</p>",
        "<h2>卷内文书目录</h2><table><tr><th>序号</th><th>文书</th><th>文号</th><th>日期</th></tr>",
        *(f"<tr><td>{n}</td><td>{escape(d.doc_type)}</td><td>{escape(d.number)}</td><td>{_day(d.created_at)}</td></tr>"
          for n, d in enumerate(valid, 1)),
        "</table>",
        "<section class=\"zf-documents\">",
        *(f"<article id=\"document-{d.id}\">{d.content}</article>" for d in valid),  # stored HTML, escaped when rendered
        "</section>",
    ]
    if void:
        parts += ["<h2>作废文书登记（不列入卷内文书，保留于办案记录）</h2>",
                  "<table><tr><th>文书</th><th>文号</th><th>作废日期</th><th>作废原因</th></tr>",
                  *(f"<tr><td>{escape(d.doc_type)}</td><td>{escape(d.number)}</td><td>{_day(d.voided_at)}</td>"
                    f"<td>{escape(d.void_reason or '')}</td></tr>" for d in void),
                  "</table>"]
    return "".join([*parts, "</body></html>"])


def _day(value: dt.datetime | None) -> str:
    return value.astimezone(clock.SHANGHAI).date().isoformat() if value else ""


def _event(event: AuditEvent) -> dict[str, Any]:
    return {
        "chain": event.chain, "seq": event.seq, "case_id": event.case_id, "instance_id": event.instance_id,
        "task_id": event.task_id, "actor": event.actor, "action": event.action,
        "at": event.at.astimezone(dt.UTC).isoformat(), "data": event.data, "prev_hash": event.prev_hash, "hash": event.hash,
    }


def _case(case: Case) -> dict[str, Any]:
    return {
        "case_number": case.case_number, "procedure": case.procedure, "unit": case.unit.code, "unit_name": case.unit.name,
        "party_type": case.party_type, "party_name": case.party_name, "party_id_number": case.party_id_masked or None,
        "facts": case.facts, "status": case.status, "opened_at": _iso(case.opened_at), "closed_at": _iso(case.closed_at),
    }


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(clock.SHANGHAI).isoformat() if value else None


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
