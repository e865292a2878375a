"""One counter that changes whenever configuration that commands read changes."""

from __future__ import annotations

from sqlalchemy import Integer
from sqlalchemy.orm import Mapped, mapped_column

from engine.db.session import db


class ConfigRevision(db.Model):
    """Bumped in the same transaction as any change to deployments, time limits or the calendar."""

    __tablename__ = "config_revision"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)
