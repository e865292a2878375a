"""Users, roles, units and API tokens: hashed passwords, hashed tokens, audited changes."""

from __future__ import annotations

import hashlib
import os
import re
import secrets

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from . import audit, clock
from .errors import InvalidInput, NotFound
from .models import ApiToken, OrgUnit, Role, User, db
from .roles import ALL_ROLES

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
    return unit


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD or not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        raise InvalidInput(f"密码至少 {MIN_PASSWORD} 位，且须同时包含字母和数字 (password: ≥{MIN_PASSWORD} chars, letters and digits)")


def create_user(username: str, unit_code: str, roles: list[str], password: str | None = None,
                display_name: str = "", actor: str = "system") -> tuple[User, str]:
    """Create a user; returns the user and the password (generated when none is given)."""
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
        password = secrets.token_urlsafe(12) + "7a"
    check_password_policy(password)
    ensure_roles()
    user = User(
        username=username, display_name=display_name or username, unit_id=unit.id,
        password_hash=_hash_password(password), active=True, created_at=clock.now(),
        roles=list(db.session.scalars(select(Role).where(Role.name.in_(roles)))),
    )
    db.session.add(user)
    db.session.flush()
    audit.record("user.created", actor, {"username": username, "unit": unit_code, "roles": sorted(roles)})
    return user, password


def authenticate(username: str, password: str) -> User | None:
    user = db.session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def issue_token(user: User, actor: str = "system") -> str:
    """A new API token; only its hash is stored, so it is shown exactly once."""
    token = "zf_" + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=token_hash(token), created_at=clock.now()))
    audit.record("token.issued", actor, {"username": user.username})
    return token


def user_for_token(token: str) -> User | None:
    row = db.session.scalars(select(ApiToken).where(ApiToken.token_hash == token_hash(token))).first()
    if row is None:
        return None
    user = db.session.get(User, row.user_id)
    return user if user is not None and user.active else None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
