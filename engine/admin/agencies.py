"""Administering 行政机关 (agencies): the organ's names, contact, seal, the 复议机关 and court its
documents name, where fines are paid, its own number patterns, and which units belong to it.

Every change is an administrator's command, audited on the system chain in the same transaction,
because what the organ's settings say is printed on every document it issues afterwards: a wrong
复议机关 or account misleads a party, so who set it and when must be traceable. Documents keep the
snapshot they were issued with; a change applies to documents issued from then on.
"""

from __future__ import annotations

import hashlib
import io
import re
from typing import Any

from PIL import Image, UnidentifiedImageError
from sqlalchemy import select

from engine import clock
from engine.db.command import command
from engine.documents.types import check_pattern
from engine.errors import InvalidInput, NotFound
from engine.models import Agency, OrgUnit, User, db
from engine.models.agency import SETTINGS
from engine.policy.permissions import ADMINISTRATOR, require
from engine.record import audit

ADMIN_ROLE = ADMINISTRATOR
MAX_SEAL_BYTES = 1024 * 1024  # 1 MB: a seal is a small picture; larger is a scan to crop first
MAX_SEAL_PIXELS = 2000  # per side: enough for a 42 mm seal at 1200 dpi
_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,40}$")
_POSTAL = re.compile(r"^\d{6}$")
_ACCOUNT = re.compile(r"^[0-9][0-9 \-]{3,58}[0-9]$")
_PHONE = re.compile(r"^[0-9+()（） \-－转]{3,40}$")
LIMITS = {"full_name": 200, "short_name": 40, "address": 300, "postal_code": 10, "phone": 40, "review_organ": 200,
          "court": 200, "payment_place": 200, "payment_account_name": 200, "payment_account": 60}
REQUIRED = ("full_name", "short_name")


def agencies() -> list[Agency]:
    return list(db.session.scalars(select(Agency).order_by(Agency.code)))


def get_agency(agency_id: int) -> Agency:
    agency = db.session.get(Agency, agency_id)
    if agency is None:
        raise NotFound("行政机关不存在 (no such agency)")
    return agency


@command
def create_agency(actor: User, code: str, values: dict[str, Any], seal: bytes | None = None) -> Agency:
    """A new organ; its units are assigned afterwards (``assign_units``)."""
    _require_admin(actor)
    code = (code or "").strip()
    errors = [] if _CODE.match(code) else [_error("code", "机关代码只能包含字母、数字和 _ . -，最长 40 位 (letters, digits, _ . -)")]
    if not errors and db.session.scalars(select(Agency.id).where(Agency.code == code)).first() is not None:
        errors.append(_error("code", f"机关代码 {code} 已被使用 (code in use)"))
    clean = _checked(values, None, errors)
    patterns = _checked_patterns(values.get("doc_patterns"), errors)
    seal = check_seal(seal, errors) if seal else None
    _raise(errors)
    agency = Agency(code=code, **clean, doc_patterns=patterns, seal_png=seal, updated_by=actor.username, updated_at=clock.now())
    db.session.add(agency)
    db.session.flush()
    audit.record("agency.created", actor.username, {"code": code, "after": snapshot(agency)})
    return agency


@command
def update_agency(actor: User, agency_id: int, values: dict[str, Any], seal: bytes | None = None,
                  remove_seal: bool = False) -> Agency:
    """Change the organ's settings (the code is fixed: scripts and imports name the organ by it)."""
    _require_admin(actor)
    agency = get_agency(agency_id)
    errors: list[dict[str, str]] = []
    clean = _checked(values, agency, errors)
    patterns = _checked_patterns(values.get("doc_patterns"), errors) if "doc_patterns" in values else agency.doc_patterns
    seal = check_seal(seal, errors) if seal else None
    _raise(errors)
    before = snapshot(agency)
    for key, value in clean.items():
        setattr(agency, key, value)
    agency.doc_patterns = patterns
    if seal is not None:
        agency.seal_png = seal
    elif remove_seal:
        agency.seal_png = None
    after = snapshot(agency)
    if before != after:
        agency.updated_by, agency.updated_at = actor.username, clock.now()
        changed = sorted(k for k in after if before.get(k) != after.get(k))
        audit.record("agency.updated", actor.username, {"code": agency.code, "changed": changed,
                                                        "before": {k: before.get(k) for k in changed},
                                                        "after": {k: after.get(k) for k in changed}})
    return agency


@command
def assign_units(actor: User, agency_id: int, unit_ids: list[int]) -> Agency:
    """The units listed belong to this organ from now on, moved from the one they had: a unit always
    belongs to exactly one organ, so a unit leaves an organ only by being assigned to another."""
    _require_admin(actor)
    agency = get_agency(agency_id)
    wanted = set(unit_ids)
    units = list(db.session.scalars(select(OrgUnit).where(OrgUnit.id.in_(wanted)))) if wanted else []
    if len(units) != len(wanted):
        raise InvalidInput("所选单位不存在，请刷新页面后重试 (a selected unit does not exist)",
                           details=[_error("units", "单位不存在")])
    moved = [(u.code, u.agency.code if u.agency else None) for u in units if u.agency_id != agency.id]
    for unit in units:
        unit.agency_id = agency.id
        unit.agency = agency
    if moved:
        db.session.flush()
        audit.record("agency.units_assigned", actor.username,
                     {"code": agency.code, "units": [{"unit": code, "from": previous} for code, previous in moved]})
    return agency


def ensure_agency(code: str, full_name: str, short_name: str, **settings: Any) -> Agency:
    """The organ ``code``, created with these settings if missing (demo data, tests, first setup);
    no audit: like ``ensure_unit`` it runs before any administrator exists."""
    agency = db.session.scalars(select(Agency).where(Agency.code == code)).first()
    if agency is None:
        agency = Agency(code=code, full_name=full_name, short_name=short_name, doc_patterns={}, updated_by="setup",
                        updated_at=clock.now(), **settings)
        db.session.add(agency)
        db.session.flush()
    return agency


def agency_for_new_unit(unit: OrgUnit) -> Agency:
    """The organ a unit created by setup code joins: the one numbering with its short name, else a
    new one named after the unit, for an administrator to complete (the migration does the same)."""
    short_name = unit.agency_short_name or unit.code
    found = db.session.scalars(select(Agency).where(Agency.short_name == short_name)).first()
    if found is not None:
        return found
    code = unit.code if db.session.scalars(select(Agency.id).where(Agency.code == unit.code)).first() is None else f"a{unit.id}"
    return ensure_agency(code, unit.name, short_name)


def check_seal(data: bytes | None, errors: list[dict[str, str]] | None = None) -> bytes | None:
    """A seal is a PNG of at most 1 MB and 2000 px a side, decoded in full once to be sure it is one."""
    problems = errors if errors is not None else []
    message = None
    if not data:
        message = "请选择印章图片文件 (choose a seal image)"
    elif len(data) > MAX_SEAL_BYTES:
        message = f"印章图片不超过 1 MB，当前 {len(data) // 1024} KB：请压缩或裁剪后再上传 (at most 1 MB)"
    else:
        try:
            with Image.open(io.BytesIO(data)) as image:
                if image.format != "PNG":
                    message = "印章图片须为 PNG 格式（建议透明背景） (the seal must be a PNG)"
                elif max(image.size) > MAX_SEAL_PIXELS:
                    message = (f"印章图片每边不超过 {MAX_SEAL_PIXELS} 像素，当前 {image.size[0]}×{image.size[1]}："
                               f"请缩小后再上传 (at most {MAX_SEAL_PIXELS} px a side)")
                else:
                    image.load()  # a truncated or corrupt file fails here, not when a document is drawn
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
            message = "无法识别印章图片，请上传有效的 PNG 文件 (not a readable PNG image)"
    if message:
        problems.append(_error("seal", message))
        if errors is None:
            _raise(problems)
        return None
    return data


def snapshot(agency: Agency) -> dict[str, Any]:
    """What the audit records: every setting, the patterns, and the seal as its hash (not its bytes)."""
    seal = agency.seal_png
    return {**{key: getattr(agency, key) or "" for key in SETTINGS}, "doc_patterns": dict(agency.doc_patterns or {}),
            "seal_sha256": hashlib.sha256(seal).hexdigest() if seal else None}


def _checked(values: dict[str, Any], agency: Agency | None, errors: list[dict[str, str]]) -> dict[str, str]:
    clean: dict[str, str] = {}
    for key, label in SETTINGS.items():
        value = values.get(key)
        value = (str(value) if value is not None else (getattr(agency, key) if agency else "")).strip()
        if key in REQUIRED and not value:
            errors.append(_error(key, f"请填写{label} (required)"))
        elif len(value) > LIMITS[key]:
            errors.append(_error(key, f"{label}不超过 {LIMITS[key]} 个字符 (at most {LIMITS[key]} characters)"))
        clean[key] = value
    if clean["postal_code"] and not _POSTAL.match(clean["postal_code"]):
        errors.append(_error("postal_code", "邮政编码为 6 位数字 (six digits)"))
    if clean["phone"] and not _PHONE.match(clean["phone"]):
        errors.append(_error("phone", "联系电话只能包含数字、空格、括号、+ 和 - (digits, spaces, brackets, + and -)"))
    if clean["payment_account"] and not _ACCOUNT.match(clean["payment_account"]):
        errors.append(_error("payment_account", "收款账号只能包含数字、空格和 -，请核对后填写 (digits, spaces and hyphens)"))
    if clean["short_name"]:
        other = db.session.scalars(select(Agency.code).where(Agency.short_name == clean["short_name"],
                                                             Agency.id != (agency.id if agency else -1))).first()
        if other is not None:
            errors.append(_error("short_name", f"简称“{clean['short_name']}”已由机关 {other} 使用：简称决定文书编号，"
                                               "两个机关共用会混用同一编号序列，请换一个简称 (another agency numbers with it)"))
    return clean


def _checked_patterns(patterns: Any, errors: list[dict[str, str]]) -> dict[str, str]:
    """Document type name -> number pattern; an empty pattern means the type's own pattern."""
    if patterns is None:
        return {}
    if not isinstance(patterns, dict):
        errors.append(_error("doc_patterns", "文书编号格式须按文书种类逐项填写 (patterns by document type)"))
        return {}
    clean: dict[str, str] = {}
    for name, pattern in patterns.items():
        pattern = str(pattern or "").strip()
        if not pattern:
            continue
        try:
            check_pattern(pattern)
        except InvalidInput as exc:
            errors.append(_error(f"pattern:{name}", f"{name}：{exc.message}"))
            continue
        clean[str(name)[:40]] = pattern
    return clean


def _require_admin(actor: User) -> None:
    require(actor, "agencies.manage")


def _error(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def _raise(errors: list[dict[str, str]]) -> None:
    if errors:
        raise InvalidInput("行政机关设置有误：" + "；".join(e["message"] for e in errors), details=errors)
