"""Document types: code, number pattern and template per type name.

The shipped defaults (engine/data/document_types.json) apply until an administrator changes a type;
the change is a ``document_type`` row, audited, and applies to numbers allocated from then on.
A type name found in a deployed BPMN but not listed (a designer's new document) is generated with
the generic template and its own name as code, so completing its task never fails for want of
configuration; administrators can give it a short code later.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import select

from engine import clock
from engine.db.command import command
from engine.errors import InvalidInput
from engine.models import DocumentType, User, db
from engine.policy.permissions import require
from engine.record import audit

DATA = Path(__file__).resolve().parent.parent / "data" / "document_types.json"
GENERIC_TEMPLATE = "generic.html"
PLACEHOLDERS = ("agency", "code", "year", "serial")
_TOKEN = re.compile(r"\{([a-z]+)(?::(\d))?\}")


@dataclass(frozen=True)
class DocType:
    name: str
    code: str
    pattern: str
    template: str
    basis: str
    configured: bool  # False: shipped default or derived for an unknown name
    required: tuple[str, ...] = ("header", "signature")  # what an edited text must still use (engine/documents/texts.py)
    served: bool = False  # served on the party: issued with its 送达回证, service attaches to it
    supersedes: bool = False  # a new one replaces (已更正) the case's earlier valid one of the type


def document_type(name: str) -> DocType:
    """The settings in force for ``name`` (an administrator's row, else the default, else derived)."""
    row = db.session.get(DocumentType, name)
    default = _defaults()["types"].get(name)
    template = default["template"] if default else GENERIC_TEMPLATE
    basis = default.get("basis", "") if default else ""
    flags = {"required": tuple(default.get("required") or ("header", "signature")), "served": bool(default.get("served")),
             "supersedes": bool(default.get("supersedes"))} if default else {}
    if row is not None:
        return DocType(name, row.code, row.pattern, template, basis, True, **flags)
    code = default["code"] if default else name
    return DocType(name, code, default_pattern(), template, basis, False, **flags)


def all_types() -> list[DocType]:
    """Every shipped type plus every configured one, in the shipped order."""
    names = list(_defaults()["types"])
    names += [n for n in db.session.scalars(select(DocumentType.name).order_by(DocumentType.name)) if n not in names]
    return [document_type(n) for n in names]


def default_pattern() -> str:
    return str(_defaults()["default_pattern"])


def format_number(pattern: str, agency: str, code: str, year: int, serial: int) -> str:
    """Fill ``{agency}{code}〔{year}〕{serial}号``; ``{serial:3}`` pads the serial to three digits."""
    values = {"agency": agency, "code": code, "year": str(year), "serial": str(serial)}

    def fill(match: re.Match[str]) -> str:
        name, width = match.group(1), match.group(2)
        value = values[name]
        return value.zfill(int(width)) if width and name == "serial" else value

    return _TOKEN.sub(fill, pattern)


def check_pattern(pattern: str) -> None:
    """A pattern names every part that keeps numbers unique (agency, type code, year, serial)."""
    pattern = (pattern or "").strip()
    if not pattern or len(pattern) > 200:
        raise InvalidInput("编号格式不能为空，且不超过200个字符 (pattern required, at most 200 characters)",
                           details=[{"field": "pattern", "message": "必填"}])
    used = [m.group(1) for m in _TOKEN.finditer(pattern)]
    unknown = sorted(set(used) - set(PLACEHOLDERS))
    missing = [p for p in PLACEHOLDERS if p not in used]
    stray = _TOKEN.sub("", pattern)
    if unknown or missing or "{" in stray or "}" in stray:
        raise InvalidInput(
            "编号格式须包含 {agency}、{code}、{year}、{serial} 且只能使用这些占位符 "
            "(the pattern must contain {agency}, {code}, {year} and {serial}, and nothing else in braces)",
            details=[{"field": "pattern", "message": f"缺少 {', '.join(missing)}" if missing else "占位符无效"}])


@command
def set_document_type(actor: User, name: str, code: str, pattern: str, reason: str) -> DocType:
    """Change a type's code or number pattern; applies to numbers allocated from now on."""
    require(actor, "document_types.edit")
    name, code, pattern, reason = name.strip(), (code or "").strip(), (pattern or "").strip(), (reason or "").strip()
    if not name or len(name) > 40:
        raise InvalidInput("文书名称无效 (invalid document type name)", details=[{"field": "name", "message": "必填"}])
    if not code or len(code) > 40 or _TOKEN.search(code) or any(c in code for c in "{}〔〕"):
        raise InvalidInput("文书代字须为1至40个字符，不含括号 (code: 1–40 characters, no brackets)",
                           details=[{"field": "code", "message": "无效"}])
    check_pattern(pattern)
    if not reason:
        raise InvalidInput("请填写修改理由 (a reason is required)", details=[{"field": "reason", "message": "必填"}])
    # Two types with one code would print the same number for different documents.
    for other in all_types():
        if other.name != name and other.code == code:
            raise InvalidInput(f"代字“{code}”已用于“{other.name}” (code already used by another type)",
                               details=[{"field": "code", "message": "重复"}])
    before = document_type(name)
    row = db.session.get(DocumentType, name)
    if row is None:
        row = DocumentType(name=name)
        db.session.add(row)
    row.code, row.pattern, row.updated_by, row.updated_at = code, pattern, actor.username, clock.now()
    audit.record("document_type.changed", actor.username,
                 {"name": name, "reason": reason, "before": {"code": before.code, "pattern": before.pattern},
                  "after": {"code": code, "pattern": pattern}})
    return document_type(name)


@cache
def _defaults() -> dict[str, Any]:
    raw = json.loads(DATA.read_text(encoding="utf-8"))
    return {"default_pattern": raw["default_pattern"], "types": {t["name"]: t for t in raw["types"]}}
