"""Notifications leave the app (issue 17): an e-mail digest over SMTP and a signed webhook with retry.

A local SMTP sink (aiosmtpd) and a local HTTP server stand in for the agency's mail server and its
SMS/WeChat gateway.
"""

from __future__ import annotations

import email
import hashlib
import hmac
import json
import socket
import threading
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from engine import clock
from engine.admin.delivery import deliver, sign, update_settings
from engine.errors import Forbidden, InvalidInput
from engine.models import Notification, NotificationPreference, db
from tests.conftest import user

SECRET = "gateway-shared-secret-2026"


class Sink:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802, ANN001, ANN201 - aiosmtpd's handler API
        self.messages.append(email.message_from_bytes(envelope.content, policy=default_policy))
        return "250 OK"


@pytest.fixture
def smtp():
    sink = Sink()
    with socket.socket() as probe:  # a free port: aiosmtpd checks its own server by connecting to it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


@pytest.fixture
def gateway():
    """A local HTTP gateway: answers the statuses queued in ``replies`` (then 200), keeps what it got."""
    received: list[tuple[dict[str, str], bytes]] = []
    replies: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's API
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(({k: v for k, v in self.headers.items()}, body))
            self.send_response(replies.pop(0) if replies else 200)
            self.end_headers()

        def log_message(self, *args) -> None:  # noqa: ANN002
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", received, replies
    finally:
        server.shutdown()
        thread.join(timeout=5)


def notify(username: str, message: str, kind: str = "offered") -> None:
    db.session.add(Notification(user_id=user(username).id, kind=kind, message=message, created_at=clock.now(), push_attempts=0))
    db.session.commit()


def test_delivery_is_off_by_default_and_only_administrators_configure_it(ctx, people, frozen):
    notify("a_handler1", "可认领的新任务：调查取证（X案〔2026〕1号）")
    result = deliver()
    assert result.messages == 0 and result.pushed == 0
    with pytest.raises(Forbidden, match="系统管理员"):
        update_settings(user("a_head"), {"email_enabled": True})
    with pytest.raises(InvalidInput, match="SMTP"):
        update_settings(user("admin"), {"email_enabled": True, "smtp_host": ""})
    with pytest.raises(InvalidInput, match="签名密钥"):
        update_settings(user("admin"), {"webhook_enabled": True, "webhook_url": "https://gw.example/hook", "webhook_secret": "short"})
    with pytest.raises(InvalidInput, match="http"):
        update_settings(user("admin"), {"webhook_enabled": True, "webhook_url": "file:///etc/passwd", "webhook_secret": SECRET})


def test_the_digest_collects_each_officers_new_notifications_at_the_interval(ctx, people, frozen, smtp):
    sink, port = smtp
    notify("a_handler1", "old news: before the digest was switched on")
    update_settings(user("admin"), {"email_enabled": True, "digest_minutes": 30, "smtp_host": "127.0.0.1", "smtp_port": port,
                                    "smtp_sender": "zhifa@x-amr.example"})
    db.session.add(NotificationPreference(user_id=user("a_handler1").id, email="handler1@x-amr.example", digest=True))
    db.session.commit()
    notify("a_handler1", "可认领的新任务：调查取证（X案〔2026〕1号）")
    notify("a_handler1", "任务即将到期：调查终结报告（X案〔2026〕1号）", kind="near")
    notify("a_handler2", "no address: never mailed, never retried")
    result = deliver()
    assert result.messages == 1 and result.mailed == 2 and not result.errors
    [mail] = sink.messages
    assert mail["To"] == "handler1@x-amr.example" and "2 条新通知" in mail["Subject"]
    body = mail.get_content()
    assert "调查取证" in body and "[任务临期]" in body and "old news" not in body
    notify("a_handler1", "可认领的新任务：法制审核（X案〔2026〕1号）")
    assert deliver().messages == 0  # not yet: 30 minutes between digests
    frozen.advance(minutes=31)
    assert deliver().messages == 1 and "法制审核" in sink.messages[-1].get_content()
    assert len(sink.messages) == 2  # nothing mailed twice


def test_the_webhook_posts_signed_json_and_retries_with_backoff(ctx, people, frozen, gateway):
    url, received, replies = gateway
    update_settings(user("admin"), {"webhook_enabled": True, "webhook_url": url, "webhook_secret": SECRET})
    notify("a_handler1", "可认领的新任务：调查取证（X案〔2026〕1号）")
    replies.extend([503, 500])
    assert deliver().retried == 1  # the gateway is down: retried in 1 minute
    frozen.advance(seconds=30)
    assert deliver().retried == 0 and len(received) == 1  # not before the backoff ends
    frozen.advance(seconds=31)
    assert deliver().retried == 1  # second failure: next try in 5 minutes
    frozen.advance(minutes=5)
    assert deliver().pushed == 1
    assert len(received) == 3
    headers, body = received[-1]
    expected = "sha256=" + hmac.new(SECRET.encode(), headers["X-Zhifa-Timestamp"].encode() + b"." + body,
                                    hashlib.sha256).hexdigest()
    assert headers["X-Zhifa-Signature"] == expected == sign(SECRET, headers["X-Zhifa-Timestamp"], body)
    payload = json.loads(body)
    assert payload["user"] == "a_handler1" and payload["kind"] == "offered" and "调查取证" in payload["message"]
    note = db.session.scalars(select(Notification)).one()
    assert note.push_state == "sent" and note.push_attempts == 3
    assert deliver().pushed == 0 and len(received) == 3  # sent once


def test_a_gateway_that_never_answers_is_given_up_after_the_last_retry(ctx, people, frozen, gateway):
    url, received, replies = gateway
    update_settings(user("admin"), {"webhook_enabled": True, "webhook_url": url, "webhook_secret": SECRET})
    notify("a_handler1", "可认领的新任务")
    replies.extend([500] * 10)
    for _ in range(6):
        deliver()
        frozen.advance(minutes=601)
    note = db.session.scalars(select(Notification)).one()
    assert note.push_state == "failed" and note.push_attempts == 6 and "500" in note.push_error
    assert len(received) == 6
