"""Offline verification of an exported case file (案卷): standard library only.

This module is copied into every export as ``verify.py`` so that anyone holding the zip can check
it without zhifa: ``python3 verify.py 案卷.zip``. It recomputes the audit hash chain exactly as the
engine computes it (``engine.record.audit`` uses ``event_hash`` from here), and checks every file against
the manifest and every document against the hash the chain recorded when it was issued.
Exit status 0 means intact; 1 lists what does not match.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
import zipfile
from typing import Any

GENESIS = "0" * 64
HASHED_FIELDS = ("chain", "seq", "case_id", "instance_id", "task_id", "actor", "action", "at", "data", "prev_hash")


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def event_hash(event: dict[str, Any]) -> str:
    """sha256 over the canonical JSON of an event's recorded fields (``at`` as UTC ISO 8601)."""
    payload = {key: event.get(key) for key in HASHED_FIELDS}
    at = payload["at"]
    if isinstance(at, dt.datetime):
        payload["at"] = at.astimezone(dt.UTC).isoformat()
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def verify_chain(events: list[dict[str, Any]], head: dict[str, Any] | None = None) -> list[str]:
    """Problems of one chain given in stored order; ``head`` is the recorded end of the chain."""
    problems = []
    prev_hash, expected = GENESIS, 1
    for event in events:
        seq = event.get("seq")
        if seq != expected:
            problems.append(f"#{seq}: 序号不连续，期望 {expected} (missing or reordered event)")
        if event.get("prev_hash") != prev_hash:
            problems.append(f"#{seq}: 前一哈希不匹配 (prev_hash does not match: an event was deleted or reordered)")
        if event_hash(event) != event.get("hash"):
            problems.append(f"#{seq}: 记录内容被修改 (event content does not match its hash: edited)")
        prev_hash, expected = event.get("hash"), (seq or 0) + 1
    if head is not None and (not events or head.get("seq") != events[-1].get("seq") or head.get("hash") != events[-1].get("hash")):
        problems.append("链尾与记录不符 (the chain head does not match the last event: events removed at the end)")
    return problems


def verify_archive(path: str) -> list[str]:
    """Every problem of an exported case file; an empty list means the file is intact."""
    problems: list[str] = []
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        if "manifest.json" not in names:
            return ["缺少 manifest.json (not a zhifa case file)"]
        manifest = json.loads(archive.read("manifest.json").decode("utf-8"))
        for name, digest in sorted(manifest.get("files", {}).items()):
            if name not in names:
                problems.append(f"{name}: 文件缺失 (file missing)")
            elif hashlib.sha256(archive.read(name)).hexdigest() != digest:
                problems.append(f"{name}: 文件被修改 (file content does not match the manifest)")
        evidence_files = {e.get("file") for e in manifest.get("evidence", []) if isinstance(e, dict) and e.get("file")}
        for name in sorted(names - set(manifest.get("files", {})) - evidence_files - {"manifest.json", "verify.py", "README.txt"}):
            problems.append(f"{name}: 清单之外的文件 (file not in the manifest)")
        events = [json.loads(line) for line in archive.read("audit.jsonl").decode("utf-8").splitlines() if line.strip()]
        problems += verify_chain(events, manifest.get("chain_head"))
        issued = {e["data"].get("sha256"): e for e in events
                  if e.get("action") == "document.issued" and isinstance(e.get("data"), dict)}
        for document in manifest.get("documents", []):
            name = document.get("file")
            if name in names and hashlib.sha256(archive.read(name)).hexdigest() != document.get("sha256"):
                problems.append(f"{name}: 文书内容与其哈希不符 (the document does not match its hash)")
            if document.get("sha256") not in issued:
                problems.append(f"{document.get('file')}: 办案记录中没有该文书的签发哈希 (the record does not hold this document's hash)")
        problems += verify_evidence(archive, names, manifest.get("evidence", []), events)
    return problems


def verify_evidence(archive: zipfile.ZipFile, names: set[str], entries: list[dict[str, Any]], events: list[dict[str, Any]]) -> list[str]:
    """Each evidence file against the sha256 its registration recorded in the chain (re-hashed in blocks:
    a video need not fit in memory); every registered item must be listed, included or not."""
    problems: list[str] = []
    registered = {e["data"].get("evidence_id"): e["data"] for e in events
                  if e.get("action") == "evidence.registered" and isinstance(e.get("data"), dict)}
    listed = set()
    for entry in entries:
        label = f"证据 {entry.get('seq')}（{entry.get('filename')}）"
        listed.add(entry.get("evidence_id"))
        recorded = registered.get(entry.get("evidence_id"))
        if recorded is None or recorded.get("sha256") != entry.get("sha256"):
            problems.append(f"{label}: 办案记录中没有该证据登记时的哈希 (the record does not hold this evidence's hash)")
            continue
        name = entry.get("file")
        if entry.get("missing"):
            problems.append(f"{label}: 导出时存储中的证据文件缺失 (the stored file was missing when exported)")
        elif name:
            if name not in names:
                problems.append(f"{name}: 证据文件缺失 (evidence file missing)")
                continue
            digest, size = hashlib.sha256(), 0
            with archive.open(name) as f:
                for block in iter(lambda: f.read(1024 * 1024), b""):
                    digest.update(block)
                    size += len(block)
            if digest.hexdigest() != recorded.get("sha256") or size != recorded.get("size"):
                problems.append(f"{name}: 证据文件与登记时的哈希不符，已被修改 (the evidence file does not match the hash recorded "
                                "when it was registered: changed)")
    for evidence_id, data in registered.items():
        if evidence_id not in listed:
            problems.append(f"证据 {data.get('seq')}: 办案记录中登记的证据未列入案卷 (a registered evidence item is not listed)")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("用法 (usage): python3 verify.py 案卷.zip")
        return 2
    problems = verify_archive(argv[1])
    if problems:
        print(f"校验未通过，共 {len(problems)} 处问题 (NOT intact, {len(problems)} problems):")
        for problem in problems:
            print("  - " + problem)
        return 1
    print("校验通过：案卷完整，办案记录未被篡改 (intact: files match the manifest and the hash chain verifies)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
