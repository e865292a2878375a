"""Notifications leave the app: an e-mail digest and a webhook for an agency's SMS or WeChat gateway.

Both are off by default and set by administrators (the settings page). The scheduler (``zhifa run``'s
embedded loop, ``zhifa worker``) calls :func:`deliver` on every sweep:

- the digest collects, per officer with an address, the notifications not yet mailed and sends one
  message every ``digest_minutes``; a failed SMTP conversation leaves them for the next digest;
- the webhook POSTs each new notification as JSON, signed with HMAC-SHA256 over
  ``timestamp + "." + body`` (headers ``X-Zhifa-Timestamp``, ``X-Zhifa-Signature: sha256=<hex>``), so
  the gateway can check who sent it and refuse replays; a failure is retried with growing delays
  (1, 5, 30, 120, 600 minutes) and then recorded as failed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import smtplib
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select, update

from engine import clock
from engine.db.command import command
from engine.db.session import writing
from engine.errors import InvalidInput
from engine.models import Case, DeliverySettings, Notification, NotificationPreference, User, db
from engine.policy.permissions import require
from engine.record import audit

log = logging.getLogger(__name__)
RETRY_MINUTES = (1, 5, 30, 120, 600)
WEBHOOK_TIMEOUT = 10  # seconds: a gateway that hangs must not hold the scheduler
BATCH = 200
SECURITY = ("none", "starttls", "ssl")
KIND_LABELS = {"assigned": "分派给您的任务", "offered": "可认领的任务", "co_handler": "协办任务", "near": "任务临期",
               "overdue": "任务超期", "clock_overdue": "办案期限届满", "released": "任务退回待办池",
               "designated": "指定承办人", "recusal": "回避", "taken_over": "任务被接手"}
EDITABLE = ("email_enabled", "digest_minutes", "smtp_host", "smtp_port", "smtp_security", "smtp_username", "smtp_password",
            "smtp_sender", "webhook_enabled", "webhook_url", "webhook_secret")


@dataclass
class DeliveryResult:
    mailed: int = 0  # notifications in the digests sent
    messages: int = 0  # e-mails sent
    pushed: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def settings() -> DeliverySettings:
    """The one settings row (defaults: both channels off) — read-only: a new row is not added here."""
    return db.session.get(DeliverySettings, 1) or DeliverySettings(
        id=1, email_enabled=False, digest_minutes=60, smtp_host="", smtp_port=25, smtp_security="none", smtp_username="",
        smtp_password="", smtp_sender="", webhook_enabled=False, webhook_url="", webhook_secret="", updated_by="",
        digest_after_id=0, webhook_after_id=0)


@command
def update_settings(actor: User, values: dict[str, Any]) -> DeliverySettings:
    """Administrators set SMTP, the digest interval and the webhook; every change is audited (no secrets)."""
    require(actor, "delivery.configure")
    row = db.session.get(DeliverySettings, 1)
    if row is None:
        row = settings()
        db.session.add(row)
    clean = _validated({**{k: getattr(row, k) for k in EDITABLE}, **{k: v for k, v in values.items() if k in EDITABLE}})
    newest = db.session.scalar(select(func.max(Notification.id))) or 0
    if clean["email_enabled"] and not row.email_enabled:
        row.digest_after_id = newest  # switching on never mails history
    if clean["webhook_enabled"] and not row.webhook_enabled:
        row.webhook_after_id = newest
    changed = sorted(k for k, v in clean.items() if getattr(row, k) != v)
    for key, value in clean.items():
        setattr(row, key, value)
    row.updated_by, row.updated_at = actor.username, clock.now()
    audit.record("delivery.settings_changed", actor.username, {"changed": changed})
    return row


def deliver(now: dt.datetime | None = None, opener: Any = None) -> DeliveryResult:
    """One sweep: the digest if due, then the webhook queue. Each in its own transactions."""
    now = now or clock.now()
    result = DeliveryResult()
    with writing():
        # One sweeper at a time (any number of ``zhifa worker``s): the others skip this round.
        row = db.session.scalars(select(DeliverySettings).where(DeliverySettings.id == 1)
                                 .with_for_update(skip_locked=True)).first()
        if row is None:
            db.session.rollback()
            return result
        if row.email_enabled and (row.last_digest_at is None or now - row.last_digest_at >= dt.timedelta(minutes=row.digest_minutes)):
            _send_digest(row, now, result)
        if row.webhook_enabled and row.webhook_url:
            _push(row, now, result, opener or urllib.request.urlopen)
        db.session.commit()
    return result


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature a gateway recomputes: HMAC-SHA256 of ``timestamp.body`` with the shared secret."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _send_digest(row: DeliverySettings, now: dt.datetime, result: DeliveryResult) -> None:
    pending = db.session.execute(
        select(Notification, User, NotificationPreference, Case.case_number)
        .join(User, User.id == Notification.user_id)
        .outerjoin(NotificationPreference, NotificationPreference.user_id == Notification.user_id)
        .outerjoin(Case, Case.id == Notification.case_id)
        .where(Notification.id > row.digest_after_id, Notification.emailed_at.is_(None))
        .order_by(Notification.user_id, Notification.id).limit(5000)).all()
    by_user: dict[int, list[Notification]] = {}
    addresses: dict[int, tuple[User, str]] = {}
    for note, user, pref, _number in pending:
        if pref is None or not pref.email or not pref.digest or not user.active:
            note.emailed_at = now  # nobody to mail: settled, not retried forever
            continue
        by_user.setdefault(user.id, []).append(note)
        addresses[user.id] = (user, pref.email)
    try:
        with _smtp(row) as smtp:
            for user_id, notes in by_user.items():
                user, address = addresses[user_id]
                smtp.send_message(_digest_message(row, user, address, notes))
                for note in notes:
                    note.emailed_at = now
                result.messages += 1
                result.mailed += len(notes)  # what was sent stays sent, whatever the next address does
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("notification digest: SMTP failed, the rest goes with the next digest: %s", exc)
        result.errors.append(f"smtp: {exc}")
    row.last_digest_at = now


def _smtp(row: DeliverySettings) -> smtplib.SMTP:
    context = ssl.create_default_context()
    smtp = (smtplib.SMTP_SSL(row.smtp_host, row.smtp_port, timeout=30, context=context) if row.smtp_security == "ssl"
            else smtplib.SMTP(row.smtp_host, row.smtp_port, timeout=30))
    if row.smtp_security == "starttls":
        smtp.starttls(context=context)
    if row.smtp_username:
        smtp.login(row.smtp_username, row.smtp_password)
    return smtp


def _digest_message(row: DeliverySettings, user: User, address: str, notes: list[Notification]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"执法办案平台通知摘要：{len(notes)} 条新通知"
    message["From"] = row.smtp_sender
    message["To"] = address
    lines = [f"{user.display_name or user.username}，您好：", "", f"自上次摘要以来，您有 {len(notes)} 条新通知：", ""]
    for note in notes:
        at = note.created_at.astimezone(clock.SHANGHAI).strftime("%Y-%m-%d %H:%M")
        lines.append(f"· {at} [{KIND_LABELS.get(note.kind, '通知')}] {note.message}")
    lines += ["", "请登录执法办案平台查看和办理。本邮件由系统自动发送，请勿回复。"]
    message.set_content("\n".join(lines))
    return message


def _push(row: DeliverySettings, now: dt.datetime, result: DeliveryResult, opener: Any) -> None:
    # New notifications join the queue; then every queued one that is due is sent once.
    fresh = select(Notification.id).where(Notification.id > row.webhook_after_id).order_by(Notification.id).limit(BATCH)
    ids = list(db.session.scalars(fresh))
    if ids:
        db.session.execute(update(Notification).where(Notification.id.in_(ids))
                           .values(push_state="pending", push_next_at=now).execution_options(synchronize_session=False))
        row.webhook_after_id = max(ids)
        db.session.flush()
    due = db.session.execute(
        select(Notification, User.username, User.display_name, Case.case_number)
        .join(User, User.id == Notification.user_id).outerjoin(Case, Case.id == Notification.case_id)
        .where(Notification.push_state == "pending", Notification.push_next_at <= now)
        .order_by(Notification.push_next_at, Notification.id).limit(BATCH)).all()
    for note, username, display_name, case_number in due:
        body = json.dumps({
            "id": note.id, "kind": note.kind, "kind_label": KIND_LABELS.get(note.kind, "通知"), "message": note.message,
            "user": username, "user_name": display_name or username, "task_id": note.task_id, "case_id": note.case_id,
            "case_number": case_number, "created_at": note.created_at.isoformat(),
        }, ensure_ascii=False).encode()
        timestamp = str(int(now.timestamp()))
        request = urllib.request.Request(row.webhook_url, data=body, method="POST", headers={  # noqa: S310 - http(s) checked on save
            "Content-Type": "application/json; charset=utf-8", "X-Zhifa-Timestamp": timestamp,
            "X-Zhifa-Signature": sign(row.webhook_secret, timestamp, body), "X-Zhifa-Delivery": str(note.id)})
        note.push_attempts = (note.push_attempts or 0) + 1
        try:
            with opener(request, timeout=WEBHOOK_TIMEOUT) as response:
                status = response.status
            if not 200 <= status < 300:
                raise urllib.error.HTTPError(row.webhook_url, status, "gateway refused", None, None)  # type: ignore[arg-type]
        except (OSError, urllib.error.URLError) as exc:
            note.push_error = str(exc)[:500]
            if note.push_attempts > len(RETRY_MINUTES):
                note.push_state, note.push_next_at = "failed", None
                result.failed += 1
            else:
                note.push_next_at = now + dt.timedelta(minutes=RETRY_MINUTES[note.push_attempts - 1])
                result.retried += 1
        else:
            note.push_state, note.push_next_at, note.push_error = "sent", None, None
            result.pushed += 1


def _validated(values: dict[str, Any]) -> dict[str, Any]:
    errors = []
    out = dict(values)
    for key in ("email_enabled", "webhook_enabled"):
        out[key] = bool(out[key])
    for key in ("smtp_host", "smtp_username", "smtp_password", "smtp_sender", "webhook_url", "webhook_secret", "smtp_security"):
        out[key] = str(out[key] or "").strip()
    try:
        out["digest_minutes"] = int(out["digest_minutes"])
        out["smtp_port"] = int(out["smtp_port"])
    except (TypeError, ValueError):
        errors.append({"field": "digest_minutes", "message": "须为整数"})
    else:
        if not 5 <= out["digest_minutes"] <= 7 * 24 * 60:
            errors.append({"field": "digest_minutes", "message": "摘要间隔须在 5 分钟至 7 天（10080 分钟）之间"})
        if not 1 <= out["smtp_port"] <= 65535:
            errors.append({"field": "smtp_port", "message": "端口须在 1 至 65535 之间"})
    if out["smtp_security"] not in SECURITY:
        errors.append({"field": "smtp_security", "message": "加密方式须为 none、starttls 或 ssl"})
    if out["email_enabled"] and not (out["smtp_host"] and "@" in out["smtp_sender"]):
        errors.append({"field": "smtp_host", "message": "启用邮件摘要须填写 SMTP 服务器和发件地址"})
    if out["webhook_enabled"]:
        url = urlsplit(out["webhook_url"])
        if url.scheme not in ("https", "http") or not url.netloc:
            errors.append({"field": "webhook_url", "message": "须为 http(s) 地址"})
        if len(out["webhook_secret"]) < 16:
            errors.append({"field": "webhook_secret", "message": "签名密钥至少 16 个字符"})
    if errors:
        raise InvalidInput("通知发送设置有误：" + "；".join(e["message"] for e in errors) + " (fix the delivery settings)",
                           details=errors)
    return out


@command
def set_preference(actor: User, email: str, digest: bool) -> NotificationPreference:
    """An officer's own address for the digest (empty: none). Only the officer sets it."""
    address = (email or "").strip() if isinstance(email, str) else ""
    if address and (len(address) > 254 or "@" not in address or " " in address or address.startswith("@") or address.endswith("@")):
        raise InvalidInput("电子邮箱地址无效：请填写形如 name@example.cn 的地址，或留空 (not an e-mail address)",
                           details=[{"field": "email", "message": "无效"}])
    row = db.session.get(NotificationPreference, actor.id)
    if row is None:
        row = NotificationPreference(user_id=actor.id, email=address, digest=bool(digest))
        db.session.add(row)
    else:
        row.email, row.digest = address, bool(digest)
    return row


def preference(user: User) -> NotificationPreference | None:
    return db.session.get(NotificationPreference, user.id)
