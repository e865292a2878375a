"""In-app notifications (new task assigned or offered, near-due, overdue) and how they leave the app:
an e-mail digest and a webhook for an agency's SMS or WeChat gateway (engine/admin/delivery.py)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db.session import UTCDateTime, db


class Notification(db.Model):
    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_user_read", "user_id", "read_at"),
        # The digest and the webhook read only what they have not sent yet.
        Index("ix_notification_emailed", "emailed_at", "user_id"),
        Index("ix_notification_push", "push_state", "push_next_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    task_id: Mapped[str | None] = mapped_column(String(36))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    emailed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # in a digest sent then (or skipped: no address)
    # Webhook: pending -> sent | failed (after the last retry); None when no webhook was configured.
    push_state: Mapped[str | None] = mapped_column(String(10))
    push_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    push_next_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    push_error: Mapped[str | None] = mapped_column(Text)


class NotificationPreference(db.Model):
    """Where an officer wants the digest sent (set by the officer on the notifications page)."""

    __tablename__ = "notification_preference"
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), default="")
    digest: Mapped[bool] = mapped_column(Boolean, default=True)


class DeliverySettings(db.Model):
    """One row (id 1), edited by administrators: SMTP for the digest, the webhook, both off by default."""

    __tablename__ = "delivery_settings"
    id: Mapped[int] = mapped_column(primary_key=True)
    email_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    digest_minutes: Mapped[int] = mapped_column(Integer, default=60)
    smtp_host: Mapped[str] = mapped_column(String(200), default="")
    smtp_port: Mapped[int] = mapped_column(Integer, default=25)
    smtp_security: Mapped[str] = mapped_column(String(10), default="none")  # none | starttls | ssl
    smtp_username: Mapped[str] = mapped_column(String(200), default="")
    smtp_password: Mapped[str] = mapped_column(String(200), default="")
    smtp_sender: Mapped[str] = mapped_column(String(254), default="")
    last_digest_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Cursors: notifications with a higher id are new to the digest / the webhook. Enabling a channel
    # moves its cursor to the newest notification, so switching it on never floods anyone with history.
    digest_after_id: Mapped[int] = mapped_column(Integer, default=0)
    webhook_after_id: Mapped[int] = mapped_column(Integer, default=0)
    webhook_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    webhook_url: Mapped[str] = mapped_column(String(500), default="")
    webhook_secret: Mapped[str] = mapped_column(String(200), default="")
    updated_by: Mapped[str] = mapped_column(String(80), default="")
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
