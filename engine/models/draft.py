"""Designers' work in progress: one draft per file, shared by the designers until deployed."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db.session import UTCDateTime, db


class Draft(db.Model):
    __tablename__ = "draft"
    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(String(255), unique=True)  # "processes/x.bpmn", "forms/y.json"
    content: Mapped[str] = mapped_column(Text)
    base_deployment_id: Mapped[int | None] = mapped_column()  # the deployment the draft was started from
    updated_by: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
