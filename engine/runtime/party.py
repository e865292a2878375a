"""当事人 (the party): the details documents are served with, their rules, and corrections with an audit trail.

A document that does not identify its addressee cannot be served (法 Art. 59: the decision states
the party's name or title and address; 行政处罚法 Art. 61 and 民事诉讼法 Art. 90: electronic service
needs the party's consent and an address the party named). What a case needs therefore depends on
the party's type:

- 公民 (citizen): the ID type and number, and the address (电话 optional);
- 法人或其他组织 (organization): the 统一社会信用代码 (GB 32100), the address (住所) and the 法定代表人
  or 负责人 (联系人 optional);
- either: consent to electronic service (同意电子送达), and then the e-mail or mobile it goes to.

A 居民身份证 number is checked by its GB 11643-1999 check character and birth date and a credit code
by its GB 32100-2015 check character (python-stdnum), so a typo is caught when it is typed, not when a
document comes back unserved. Pages and the API show a citizen's ID number, address and phone
masked (engine/publication/masking.py); documents and the officer's correction form have them whole.
"""

from __future__ import annotations

import re
from typing import Any

from stdnum.cn import ric, uscc

from engine import clock
from engine.db.command import command
from engine.errors import InvalidInput, InvalidState
from engine.models import Case, User, db
from engine.models.case import PARTY_FIELDS
from engine.policy.access import get_case, refuse_recused
from engine.policy.permissions import require
from engine.publication.masking import HIDDEN, mask_text
from engine.record import audit

PARTY_TYPES = {"citizen": "公民", "organization": "法人或其他组织"}
ID_TYPES = ("居民身份证", "护照", "港澳居民来往内地通行证", "台湾居民来往大陆通行证", "外国人永久居留身份证", "其他")
RESIDENT_ID = "居民身份证"
LABELS = {
    "party_type": "当事人类型", "party_name": "当事人名称", "party_id_type": "证件类型", "party_id_number": "证件号码",
    "party_address": "住址（住所）", "party_phone": "联系电话", "party_credit_code": "统一社会信用代码",
    "party_legal_rep": "法定代表人（负责人）", "party_contact": "联系人及电话", "e_service_consent": "同意电子送达",
    "e_service_address": "电子送达地址",
}
REQUIRED_BY_TYPE = {
    "citizen": ("party_id_type", "party_id_number", "party_address"),
    "organization": ("party_credit_code", "party_address", "party_legal_rep"),
}
LIMITS = {"party_name": 200, "party_id_type": 30, "party_id_number": 40, "party_address": 300, "party_phone": 40,
          "party_credit_code": 18, "party_legal_rep": 100, "party_contact": 200, "e_service_address": 200}
# A citizen's ID number, home address and phone are personal information (DOMAIN.md §6, 个人信息保护法
# Art. 28): shown masked on pages and in the audit text. An organization's are public (its credit
# code and address are on its business licence).
PERSONAL = ("party_id_number", "party_address", "party_phone", "e_service_address")
_ZH_EN = re.compile(r"(.*?)\s*\(([^()]*)\)", re.S)  # "中文说明 (English)"
_FIRST_LEVEL = re.compile(r"^[^0-9]{1,10}?(?:自治区|省|市|区|县|旗|盟)")
_OTHER_ID = re.compile(r"^[A-Za-z0-9()（）\-]{5,40}$")
_PHONE = re.compile(r"^[0-9+()（） \-－转]{5,40}$")
_MOBILE = re.compile(r"^(?:\+?86[ \-]?)?1[3-9]\d{9}$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})+$")
MAX_REASON = 1000


def check_party(values: dict[str, Any], *, complete: bool) -> dict[str, Any]:
    """The party's columns, normalised, or ``InvalidInput`` naming every field that is wrong.

    Formats are checked whenever a value is given; ``complete`` also requires what the party's type
    needs before documents can be served (the registration page and every correction ask for it;
    an API client may file first and complete the details later, and is told what is missing)."""
    errors: list[dict[str, str]] = []
    clean: dict[str, Any] = {}
    for key in PARTY_FIELDS:
        value = values.get(key)
        if key == "e_service_consent":
            clean[key] = value is True or str(value).lower() in ("true", "on", "1", "yes")
            continue
        text = "" if value is None else str(value).strip()
        if key in LIMITS and len(text) > LIMITS[key]:
            errors.append(_error(key, f"{LABELS[key]}不超过 {LIMITS[key]} 个字符 (at most {LIMITS[key]} characters)"))
        clean[key] = text
    party_type = clean["party_type"]
    if party_type not in PARTY_TYPES:
        errors.append(_error("party_type", "请选择当事人类型：公民或法人或其他组织 (citizen or organization)"))
    if not clean["party_name"]:
        errors.append(_error("party_name", "请填写当事人名称（姓名） (the party's name is required)"))
    _check_id(clean, errors)
    if clean["party_credit_code"]:
        clean["party_credit_code"] = clean["party_credit_code"].upper()
        if not uscc.is_valid(clean["party_credit_code"]):
            errors.append(_error("party_credit_code", "统一社会信用代码应为 18 位且校验码正确（GB 32100-2015），请核对营业执照后填写 "
                                                      "(not a valid unified social credit code: check the licence)"))
    if clean["party_phone"] and not _PHONE.match(clean["party_phone"]):
        errors.append(_error("party_phone", "联系电话只能包含数字、空格、括号、+ 和 - (digits, spaces, brackets, + and -)"))
    address = clean["e_service_address"]
    if clean["e_service_consent"] and not address:
        errors.append(_error("e_service_address", "当事人同意电子送达的，须填写其确认的电子邮箱或手机号码（《行政处罚法》第六十一条） "
                                                  "(consent to electronic service needs the address it goes to)"))
    elif address and not (_EMAIL.match(address) or _MOBILE.match(address.replace(" ", "").replace("-", ""))):
        errors.append(_error("e_service_address", "电子送达地址应为电子邮箱或 11 位手机号码 (an e-mail address or a mobile number)"))
    if complete and party_type in REQUIRED_BY_TYPE:
        for key in REQUIRED_BY_TYPE[party_type]:
            if not clean[key] and not any(e["field"] == key for e in errors):
                errors.append(_error(key, f"请填写{LABELS[key]}：{PARTY_TYPES[party_type]}当事人须登记此项，文书送达时使用 "
                                          f"({key} is required for this type of party)"))
    if errors:
        # The page shows each field's message by the field (Chinese); the whole message is bilingual.
        parts = [_ZH_EN.fullmatch(e["message"]) for e in errors]
        for error, part in zip(errors, parts, strict=True):
            error["message"] = part.group(1) if part else error["message"]
        english = "; ".join(part.group(2) for part in parts if part)
        raise InvalidInput("当事人信息有误：" + "；".join(e["message"] for e in errors) + f" (party details: {english})",
                           details=errors)
    return clean


def missing_details(case: Case) -> list[str]:
    """What the case's party still lacks before documents can be served (field names)."""
    return [key for key in REQUIRED_BY_TYPE.get(case.party_type, ()) if not getattr(case, key)]


def mask_id_number(value: str) -> str:
    """Keep the first 4 and last 4 characters of an ID number (DOMAIN.md §6 masking)."""
    value = (value or "").strip()
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def masked(case: Case | dict[str, Any], key: str) -> Any:
    """One party value as a page shows it: a citizen's personal details masked, the rest as recorded."""
    get = case.get if isinstance(case, dict) else lambda k: getattr(case, k)
    value = get(key)
    if get("party_type") != "citizen" or key not in PERSONAL or not value:
        return value
    if key == "party_id_number":
        return mask_id_number(value)
    if key == "party_address":
        return mask_address(value)
    shown = mask_text(value)
    if shown == value:  # a number no recogniser knew: keep its last 4 only
        shown = "*" * max(len(value) - 4, 0) + value[-4:]
    return shown


def mask_address(value: str) -> str:
    """Keep the province, city and district, hide the street, house and room (GB/T 35273's convention,
    as 公示 does); an address the 公示 recogniser does not know keeps its first level only."""
    shown = mask_text(value)
    if shown != value:
        return shown
    first = _FIRST_LEVEL.match(value)
    return (first.group(0) if first else value[:2]) + HIDDEN


def party_view(case: Case) -> list[tuple[str, str, Any]]:
    """(field, label, shown value) for the case page, the fields of the party's type only."""
    keys = ["party_id_type", "party_id_number"] if case.party_type == "citizen" else \
        ["party_credit_code", "party_legal_rep", "party_contact"]
    keys += ["party_address", "party_phone", "e_service_consent", "e_service_address"]
    if case.party_type != "citizen" and case.party_id_number and not case.party_credit_code:
        keys.insert(0, "party_id_number")  # registered before the credit code had its own field
    return [(key, LABELS[key], masked(case, key)) for key in keys]


@command
def update_party(actor: User, case_id: int, changes: dict[str, Any], reason: str) -> Case:
    """Correct or complete the party's details; the case's chain records which fields changed, from
    what to what (a citizen's personal details masked), and why. Refused on an ended case: its
    documents were served as they were, and the record stays as it was when it closed."""
    require(actor, "case.correct_party")
    case = get_case(actor, case_id)
    refuse_recused(actor, case_id)
    if case.status in ("closed", "terminated"):
        raise InvalidState("案件已结案或已终止，当事人信息不能再更改：已送达的文书以当时的信息为准 "
                           "(the case has ended: its party details can no longer change)")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("请填写更正理由 (a reason is required)", details=[_error("reason", "必填")])
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"理由不超过 {MAX_REASON} 字 (reason too long)", details=[_error("reason", "过长")])
    wrong = [key for key, value in changes.items()
             if key in PARTY_FIELDS and not isinstance(value, bool if key == "e_service_consent" else str)]
    if wrong:
        raise InvalidInput("当事人信息须为文字（同意电子送达为是或否） (party details are strings; e_service_consent a boolean)",
                           details=[_error(key, "类型不正确") for key in wrong])
    values = {key: getattr(case, key) for key in PARTY_FIELDS} | {k: v for k, v in changes.items() if k in PARTY_FIELDS}
    if values["party_type"] != case.party_type:
        raise InvalidInput("当事人类型决定适用的程序和罚款限额，立案后不能更改：登记有误的，请终止调查后重新立案 "
                           "(the party type cannot change after filing: terminate and file again)",
                           details=[_error("party_type", "立案后不能更改")])
    clean = check_party(values, complete=True)
    changed = [key for key in PARTY_FIELDS if clean[key] != getattr(case, key)]
    if not changed:
        raise InvalidInput("当事人信息没有变化 (nothing changed)")
    before = {key: masked(case, key) for key in changed}
    for key in changed:
        setattr(case, key, clean[key])
    case.party_id_masked = mask_id_number(case.party_id_number)
    after = {key: masked(case, key) for key in changed}
    db.session.flush()
    audit.record("case.party_updated", actor.username,
                 {"changed": changed, "before": before, "after": after, "reason": reason,
                  "on": clock.today_shanghai().isoformat()}, case_id=case.id)
    return case


def _check_id(clean: dict[str, Any], errors: list[dict[str, str]]) -> None:
    id_type, number = clean["party_id_type"], clean["party_id_number"]
    if id_type and id_type not in ID_TYPES:
        errors.append(_error("party_id_type", "请选择证件类型 (choose an ID type)"))
        return
    if not number:
        return
    if id_type == RESIDENT_ID:
        number = clean["party_id_number"] = number.upper()
        if not ric.is_valid(number):
            errors.append(_error("party_id_number", "居民身份证号码应为 18 位，出生日期有效且末位校验码正确（GB 11643-1999），请核对后填写 "
                                                    "(not a valid resident ID number: check it)"))
    elif id_type and not _OTHER_ID.match(number):
        errors.append(_error("party_id_number", "证件号码只能包含字母、数字、括号和 -，5 至 40 位 (letters, digits, brackets, -)"))


def _error(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}
