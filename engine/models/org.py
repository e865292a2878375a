"""People and where they work: units, roles, credentials, API tokens."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Column, Date, ForeignKey, Integer, String, Table
from sqlalchemy.orm import Mapped, joinedload, mapped_column, relationship

from engine.db.session import UTCDateTime, db
from engine.models.agency import Agency

user_role = Table(
    "user_role",
    db.metadata,
    Column("user_id", Integer, ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", Integer, ForeignKey("role.id", ondelete="CASCADE"), primary_key=True),
)


class OrgUnit(db.Model):
    """An enforcement unit (承办机构) inside an agency (行政机关, engine/models/agency.py), which issues
    and numbers its documents. ``agency_short_name`` numbers them only while the unit has no agency."""

    __tablename__ = "org_unit"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    agency_short_name: Mapped[str] = mapped_column(String(40), default="")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)

    agency: Mapped[Agency | None] = relationship(lazy="joined")

    @property
    def numbering_name(self) -> str:
        """The name that numbers this unit's cases and documents: its agency's short name."""
        if self.agency is not None and self.agency.short_name:
            return self.agency.short_name
        return self.agency_short_name or self.code


class Role(db.Model):
    __tablename__ = "role"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    label: Mapped[str] = mapped_column(String(80), default="")


class User(db.Model):
    __tablename__ = "user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Sessions are signed cookies: bumping the epoch (logout, password reset) ends every one of them.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    unit: Mapped[OrgUnit] = relationship(lazy="joined")
    roles: Mapped[list[Role]] = relationship(secondary=user_role, lazy="selectin")
    credentials: Mapped[list[Credential]] = relationship(back_populates="user", lazy="selectin")

    @property
    def role_names(self) -> set[str]:
        return {r.name for r in self.roles}

    def has_role(self, *names: str) -> bool:
        return bool(self.role_names.intersection(names))

    # The session-login protocol (Flask-Login's), written out so the engine needs no Flask import.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return str(self.id)


class Credential(db.Model):
    """执法证 (law-enforcement certificate) or 法律职业资格 (legal qualification)."""

    __tablename__ = "credential"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # law_enforcement | legal_qualification
    number: Mapped[str] = mapped_column(String(80))
    expires_on: Mapped[dt.date | None] = mapped_column(Date)

    user: Mapped[User] = relationship(back_populates="credentials")

    def valid_on(self, day: dt.date) -> bool:
        return self.expires_on is None or self.expires_on >= day


class ApiToken(db.Model):
    """Only the SHA-256 of a token is stored: a leaked table does not leak access."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


# A user with unit, roles and credentials (access checks read all three) in one query with joins
# instead of three round trips: a handful of roles x credentials rows at most.
WHOLE_USER = (joinedload(User.roles), joinedload(User.credentials))
