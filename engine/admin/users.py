"""Users, roles, units and API tokens: hashed passwords, hashed tokens, audited changes."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
import threading
from typing import Any

from sqlalchemy import delete, func, select
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

from engine import clock
from engine.admin.agencies import agency_for_new_unit
from engine.db.command import command
from engine.errors import InvalidInput, NotFound
from engine.models import WHOLE_USER, ApiToken, Credential, OrgUnit, Role, User, db
from engine.policy.actor import SYSTEM, Actor, as_actor
from engine.policy.permissions import ADMINISTRATOR, require
from engine.policy.roles import ALL_ROLES, CREDENTIAL_KINDS
from engine.record import audit

MIN_PASSWORD = 10
_USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{2,80}$")


def _hash_password(password: str) -> str:
    # scrypt by default; the test suite lowers the work factor through the environment only.
    method = os.environ.get("ZHIFA_PASSWORD_HASH_METHOD", "scrypt")
    return generate_password_hash(password, method=method)


# Verifying against a dummy hash keeps the timing of "no such user" equal to "wrong password".
_DUMMY_HASH = generate_password_hash("dummy-password-for-timing")


def ensure_roles() -> None:
    existing = set(db.session.scalars(select(Role.name)))
    for name, label in ALL_ROLES.items():
        if name not in existing:
            db.session.add(Role(name=name, label=label))
    db.session.flush()


def ensure_unit(code: str, name: str | None = None, agency_short_name: str = "") -> OrgUnit:
    unit = db.session.scalars(select(OrgUnit).where(OrgUnit.code == code)).first()
    if unit is None:
        unit = OrgUnit(code=code, name=name or code, agency_short_name=agency_short_name or code)
        db.session.add(unit)
        db.session.flush()
        unit.agency = agency_for_new_unit(unit)  # every unit belongs to an organ (行政机关), the issuer of its documents
        db.session.flush()
    return unit


MIN_PASSWORD_SCORE = 3  # zxcvbn 0..4; 3 = "safely unguessable: moderate protection from offline slow-hash attacks"
_ZXCVBN_MAX = 72  # zxcvbn refuses longer input; a longer password is judged by its first 72 characters
# zxcvbn keeps the user inputs of a call in a module-level dictionary: two threads at once would mix them up.
_ZXCVBN_LOCK = threading.Lock()
# zxcvbn's own feedback is English; the Chinese UI says what kind of weakness it found, from its longest match.
_WEAKNESS = {
    "passwords": "是常见密码或与常见密码相似",
    "user_inputs": "含有用户名、姓名或系统名称 zhifa",
    "surnames": "主要由常见姓名组成", "male_names": "主要由常见姓名组成", "female_names": "主要由常见姓名组成",
    "dictionary": "主要由常见单词组成",
    "spatial": "含有键盘上相邻按键的序列（如 qwerty、asdf）",
    "repeat": "含有重复的字符或片段（如 aaa、abcabc）",
    "sequence": "含有连续的字母或数字（如 abc、6543）",
    "regex": "含有年份等容易猜到的数字",
    "date": "含有日期",
}


def check_password_policy(password: str, username: str = "", display_name: str = "") -> None:
    """At least MIN_PASSWORD characters with letters and digits, not containing the username, and a zxcvbn
    score of at least MIN_PASSWORD_SCORE with the username, display name and "zhifa" as known words.
    ``InvalidInput`` says in Chinese which rule refused it and what a good password looks like."""
    if len(password) < MIN_PASSWORD or not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        raise InvalidInput(f"密码至少 {MIN_PASSWORD} 位，且须同时包含字母和数字 (password: ≥{MIN_PASSWORD} chars, letters and digits)",
                           details=[{"field": "password", "message": f"至少 {MIN_PASSWORD} 位，含字母和数字"}])
    if username and username.lower() in password.lower():
        raise InvalidInput(f"密码不能包含用户名 {username}（不区分大小写），请换一个密码 (the password must not contain the username)",
                           details=[{"field": "password", "message": "不能包含用户名"}])
    known = [word for word in (username, display_name, "zhifa") if word]
    known += [part for part in re.split(r"[_.\-\s]+", username) if len(part) >= 3]
    with _ZXCVBN_LOCK:
        result = zxcvbn(password[:_ZXCVBN_MAX], user_inputs=known)
    if result["score"] < MIN_PASSWORD_SCORE:
        raise InvalidInput(
            f"密码太容易被猜到：{_weakness(result)}。请换一个密码：至少 {MIN_PASSWORD} 位，最好由几个不相关的词加数字或符号组成，"
            f"不要使用常见密码、重复或连续的字符，也不要包含用户名、姓名或 zhifa "
            f"(password too easy to guess: strength {result['score']} of 4, at least {MIN_PASSWORD_SCORE} required)",
            details=[{"field": "password", "message": "密码太容易被猜到"}])


def _weakness(result: dict[str, Any]) -> str:
    matches = [m for m in result.get("sequence") or [] if m.get("pattern") != "bruteforce"]
    if not matches:
        return "太短或太简单"
    longest = max(matches, key=lambda m: len(m.get("token", "")))
    if longest["pattern"] == "dictionary":
        return _WEAKNESS.get(longest.get("dictionary_name", ""), _WEAKNESS["dictionary"])
    return _WEAKNESS.get(longest["pattern"], "太短或太简单")


def generate_password(username: str = "", display_name: str = "") -> str:
    """A random password that passes the policy (shown once)."""
    while True:
        password = secrets.token_urlsafe(12) + "7a"
        try:
            check_password_policy(password, username, display_name)
        except InvalidInput:
            continue  # a random string may, rarely, contain a short username
        return password


def create_user(username: str, unit_code: str, roles: list[str], password: str | None = None,
                display_name: str = "", actor: Actor | str = SYSTEM) -> tuple[User, str]:
    """Create a user in the caller's transaction; returns the user and the password (generated when
    none is given). The platform's primitive, for ``zhifa users create``, the demo seed and
    ``admin_create_user`` (which checks the administrator first): ``actor`` is who the record names."""
    actor = as_actor(actor)
    if not _USERNAME.match(username):
        raise InvalidInput("用户名只能包含字母、数字和 _ . - (username: letters, digits, _ . -)")
    if db.session.scalars(select(User).where(User.username == username)).first() is not None:
        raise InvalidInput(f"用户 {username} 已存在 (user exists)")
    unknown = [r for r in roles if r not in ALL_ROLES]
    if unknown:
        raise InvalidInput(f"未知角色 {', '.join(unknown)} (unknown roles; known: {', '.join(ALL_ROLES)})")
    unit = db.session.scalars(select(OrgUnit).where(OrgUnit.code == unit_code)).first()
    if unit is None:
        raise NotFound(f"单位 {unit_code} 不存在 (unit not found)")
    if password is None:
        password = generate_password(username, display_name or username)
    check_password_policy(password, username, display_name or username)
    ensure_roles()
    user = User(
        username=username, display_name=display_name or username, unit_id=unit.id,
        password_hash=_hash_password(password), active=True, created_at=clock.now(),
        roles=list(db.session.scalars(select(Role).where(Role.name.in_(roles)))),
    )
    db.session.add(user)
    db.session.flush()
    audit.record("user.created", actor.username, {"username": username, "unit": unit_code, "roles": sorted(roles)})
    return user, password


def authenticate(username: str, password: str) -> User | None:
    user = db.session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def issue_token(user: User, actor: Actor | str = SYSTEM) -> str:
    """A new API token; only its hash is stored, so it is shown exactly once."""
    actor = as_actor(actor)
    token = "zf_" + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=token_hash(token), created_at=clock.now()))
    audit.record("token.issued", actor.username, {"username": user.username})
    return token


def user_for_token(token: str) -> User | None:
    """The active user holding ``token``, whole, in one query: every API call pays it."""
    return db.session.scalars(select(User).join(ApiToken, ApiToken.user_id == User.id).options(*WHOLE_USER).where(
        ApiToken.token_hash == token_hash(token), User.active.is_(True))).unique().first()


def load_user(user_id: int) -> User | None:
    """The user of a session, whole, in one query: every page pays it."""
    return db.session.get(User, user_id, options=WHOLE_USER)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- Administration (role ``administrator``): people, units and credentials --------------------
# Each function below is one transaction (``command``): it checks the actor, validates, changes,
# and records before/after in the audit log (never a password, a hash or a token).

ADMIN_ROLE = ADMINISTRATOR
EXPIRY_WARNING_DAYS = 30  # a credential expiring within this many days is flagged (即将到期)
_UNIT_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,40}$")


@command
def admin_create_user(actor: User, username: str, unit_code: str, roles: list[str], password: str | None = None,
                      display_name: str = "") -> tuple[User, str]:
    """``create_user`` by an administrator; a blank password means "generate one" (shown once)."""
    _require_admin(actor)
    return create_user(username.strip(), unit_code, roles, password or None, display_name.strip(), actor=actor)


@command
def update_user(actor: User, user_id: int, display_name: str, unit_code: str, roles: list[str], active: bool) -> User:
    """Change display name, unit, roles and active flag; deactivating also revokes every API token."""
    _require_admin(actor)
    user = _get_user(user_id)
    unknown = [r for r in roles if r not in ALL_ROLES]
    if unknown:
        raise InvalidInput(f"未知角色 {', '.join(unknown)}：角色只能从固定列表中选择 (unknown roles)")
    unit = _unit_by_code(unit_code)
    if user.id == actor.id and not active:
        raise InvalidInput("不能停用自己的账号 (you cannot deactivate your own account)")
    if user.id == actor.id and ADMIN_ROLE not in roles:
        raise InvalidInput("不能取消自己的系统管理员角色，请由另一名管理员操作 (you cannot remove your own administrator role)")
    before = _user_snapshot(user)
    ensure_roles()
    user.display_name = display_name.strip() or user.username
    user.unit_id, user.unit = unit.id, unit
    user.roles = list(db.session.scalars(select(Role).where(Role.name.in_(roles))))
    user.active = bool(active)
    db.session.flush()
    after = _user_snapshot(user)
    if before == after:
        return user
    changed = sorted(k for k in after if after[k] != before[k])
    audit.record("user.updated", actor.username, {"username": user.username, "fields": changed,
                                                  "before": {k: before[k] for k in changed},
                                                  "after": {k: after[k] for k in changed}})
    if before["active"] and not user.active:
        _revoke_tokens(user, actor.username, reason="deactivated")
    return user


@command
def reset_password(actor: User, user_id: int, password: str | None = None) -> str:
    """Set a new password (policy-checked) or generate one; returns it so it can be shown once."""
    _require_admin(actor)
    user = _get_user(user_id)
    generated = not password
    password = password or generate_password(user.username, user.display_name)
    check_password_policy(password, user.username, user.display_name)
    user.password_hash = _hash_password(password)
    user.session_epoch = (user.session_epoch or 0) + 1  # a reset password ends the sessions opened with the old one
    audit.record("user.password_reset", actor.username, {"username": user.username, "generated": generated})
    return password


@command
def revoke_tokens(actor: User, user_id: int) -> int:
    _require_admin(actor)
    return _revoke_tokens(_get_user(user_id), actor.username, reason="revoked")


def token_count(user_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(ApiToken).where(ApiToken.user_id == user_id)) or 0


@command
def create_unit(actor: User, code: str, name: str, agency_short_name: str, parent_id: int | None = None) -> OrgUnit:
    _require_admin(actor)
    code, name, agency_short_name = code.strip(), name.strip(), agency_short_name.strip()
    if not _UNIT_CODE.match(code):
        raise InvalidInput("单位代码只能包含字母、数字和 _ . -，最长 40 位 (unit code: letters, digits, _ . -)",
                           details=[{"field": "code", "message": "格式不正确"}])
    if db.session.scalars(select(OrgUnit.id).where(OrgUnit.code == code)).first() is not None:
        raise InvalidInput(f"单位代码 {code} 已被使用 (unit code exists)", details=[{"field": "code", "message": "已被使用"}])
    _check_unit_fields(name, agency_short_name)
    if parent_id is not None:
        _get_unit(parent_id)
    unit = OrgUnit(code=code, name=name, agency_short_name=agency_short_name, parent_id=parent_id)
    db.session.add(unit)
    db.session.flush()
    audit.record("unit.created", actor.username, {"code": code, "after": _unit_snapshot(unit)})
    return unit


@command
def update_unit(actor: User, unit_id: int, name: str, agency_short_name: str, parent_id: int | None = None) -> OrgUnit:
    """The code is fixed at creation: cases, scripts and API calls refer to a unit by its code."""
    _require_admin(actor)
    unit = _get_unit(unit_id)
    name, agency_short_name = name.strip(), agency_short_name.strip()
    _check_unit_fields(name, agency_short_name)
    if parent_id is not None:
        ancestor: OrgUnit | None = _get_unit(parent_id)
        while ancestor is not None:
            if ancestor.id == unit.id:
                raise InvalidInput("上级单位不能是本单位或其下级单位，否则会形成循环 (the parent would create a cycle)",
                                   details=[{"field": "parent_id", "message": "会形成循环"}])
            ancestor = db.session.get(OrgUnit, ancestor.parent_id) if ancestor.parent_id else None
    before = _unit_snapshot(unit)
    unit.name, unit.agency_short_name, unit.parent_id = name, agency_short_name, parent_id
    db.session.flush()
    after = _unit_snapshot(unit)
    if before != after:
        audit.record("unit.updated", actor.username, {"code": unit.code, "before": before, "after": after})
    return unit


@command
def add_credential(actor: User, user_id: int, kind: str, number: str, expires_on: dt.date | None) -> Credential:
    _require_admin(actor)
    return add_user_credential(_get_user(user_id), kind, number, expires_on, actor)


def add_user_credential(user: User, kind: str, number: str, expires_on: dt.date | None, actor: Actor | str) -> Credential:
    """Record a credential in the caller's transaction (the admin command, ``zhifa users create``)."""
    actor = as_actor(actor)
    number = _check_credential(kind, number, expires_on)
    cred = Credential(user_id=user.id, kind=kind, number=number, expires_on=expires_on)
    db.session.add(cred)
    db.session.flush()
    audit.record("credential.added", actor.username, {"username": user.username, "after": _credential_snapshot(cred)})
    return cred


@command
def update_credential(actor: User, credential_id: int, number: str, expires_on: dt.date | None) -> Credential:
    _require_admin(actor)
    cred = _get_credential(credential_id)
    number = _check_credential(cred.kind, number, expires_on)
    before = _credential_snapshot(cred)
    cred.number, cred.expires_on = number, expires_on
    after = _credential_snapshot(cred)
    if before != after:
        audit.record("credential.updated", actor.username, {"username": cred.user.username, "before": before, "after": after})
    return cred


@command
def remove_credential(actor: User, credential_id: int) -> None:
    _require_admin(actor)
    cred = _get_credential(credential_id)
    audit.record("credential.removed", actor.username, {"username": cred.user.username, "before": _credential_snapshot(cred)})
    db.session.delete(cred)


def credential_status(cred: Credential, today: dt.date) -> str:
    """``expired``, ``expiring`` (within EXPIRY_WARNING_DAYS) or ``valid``."""
    if cred.expires_on is None:
        return "valid"
    if cred.expires_on < today:
        return "expired"
    if cred.expires_on <= today + dt.timedelta(days=EXPIRY_WARNING_DAYS):
        return "expiring"
    return "valid"


def _require_admin(actor: User) -> None:
    require(actor, "people.manage")


def _get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在 (user not found)")
    return user


def _get_unit(unit_id: int) -> OrgUnit:
    unit = db.session.get(OrgUnit, unit_id)
    if unit is None:
        raise NotFound("单位不存在 (unit not found)", details=[{"field": "parent_id", "message": "不存在"}])
    return unit


def _unit_by_code(code: str) -> OrgUnit:
    unit = db.session.scalars(select(OrgUnit).where(OrgUnit.code == code)).first()
    if unit is None:
        raise NotFound(f"单位 {code} 不存在 (unit not found)")
    return unit


def _get_credential(credential_id: int) -> Credential:
    cred = db.session.get(Credential, credential_id)
    if cred is None:
        raise NotFound("证件不存在 (credential not found)")
    return cred


def _check_unit_fields(name: str, agency_short_name: str) -> None:
    if not name:
        raise InvalidInput("请填写单位名称 (name is required)", details=[{"field": "name", "message": "必填"}])
    if not agency_short_name:
        # 文书编号 "X市监罚〔2026〕1号" starts with it: a blank would number documents without an agency.
        raise InvalidInput("请填写机关简称：用于文书编号 (agency short name is required: it prefixes document numbers)",
                           details=[{"field": "agency_short_name", "message": "必填"}])


def _check_credential(kind: str, number: str, expires_on: dt.date | None) -> str:
    if kind not in CREDENTIAL_KINDS:
        raise InvalidInput(f"未知证件类型 {kind} (unknown credential kind; known: {', '.join(CREDENTIAL_KINDS)})")
    number = (number or "").strip()
    if not number:
        raise InvalidInput("请填写证件编号 (number is required)", details=[{"field": "number", "message": "必填"}])
    if kind == "law_enforcement" and expires_on is None:
        raise InvalidInput("执法证须填写有效期至 (a law-enforcement certificate needs an expiry date)",
                           details=[{"field": "expires_on", "message": "必填"}])
    return number


def _revoke_tokens(user: User, actor: str, reason: str) -> int:
    count = db.session.execute(delete(ApiToken).where(ApiToken.user_id == user.id)).rowcount or 0
    if count:
        audit.record("token.revoked", actor, {"username": user.username, "count": count, "reason": reason})
    return count


def _user_snapshot(user: User) -> dict[str, Any]:
    return {"display_name": user.display_name, "unit": user.unit.code, "roles": sorted(user.role_names), "active": user.active}


def _unit_snapshot(unit: OrgUnit) -> dict[str, Any]:
    parent = db.session.get(OrgUnit, unit.parent_id) if unit.parent_id else None
    return {"name": unit.name, "agency_short_name": unit.agency_short_name, "parent": parent.code if parent else None}


def _credential_snapshot(cred: Credential) -> dict[str, Any]:
    return {"kind": cred.kind, "number": cred.number,
            "expires_on": cred.expires_on.isoformat() if cred.expires_on else None}
