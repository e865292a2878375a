"""暂存: what an officer typed into a task's form and saved without submitting, one per officer and task."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.db.session import UTCDateTime, db


class TaskDraft(db.Model):
    """Kept per user (two officers of a case never see each other's half-typed text) and removed when
    the task is completed or withdrawn: a draft is work in progress, not part of the record."""

    __tablename__ = "task_draft"
    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    saved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
