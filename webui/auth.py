"""Session login for people, bearer tokens for scripts, CSRF for every state-changing request."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

from flask import Blueprint, Flask, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from sqlalchemy import update
from werkzeug.wrappers import Response

from engine import audit
from engine.models import User, db
from engine.models.db import writing
from engine.users import authenticate, load_user, user_for_token

from .extensions import csrf, login_manager

bp = Blueprint("auth", __name__)
EPOCH_KEY = "_epoch"
MAX_FAILURES = 5  # per account
MAX_FAILURES_PER_ADDRESS = 30  # a whole office may sit behind one address
WINDOW_SECONDS = 300


class LoginThrottle:
    """Failed logins per username and per address in a sliding window (kept on the app object)."""

    def __init__(self) -> None:
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                q = self._failures[key]
                while q and now - q[0] > WINDOW_SECONDS:
                    q.popleft()
                if len(q) >= (MAX_FAILURES_PER_ADDRESS if key.startswith("addr:") else MAX_FAILURES):
                    return True
        return False

    def fail(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures[key].append(time.monotonic())

    def clear(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)


def init_app(app: Flask) -> None:
    app.extensions["zhifa_login_throttle"] = LoginThrottle()
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("请先登录")
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def load_session_user(user_id: str) -> User | None:
        user = load_user(int(user_id))
        if user is None or not user.active or session.get(EPOCH_KEY) != user.session_epoch:
            return None  # deactivated, or the session ended by a logout or password reset
        return user

    @app.before_request
    def identify() -> None:
        g.user = None
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            g.user = user_for_token(header[7:].strip())
            g.auth = "token"
            return  # a bearer token cannot be sent by a foreign page: no CSRF check needed
        g.auth = "session"
        if current_user.is_authenticated:
            g.user = current_user._get_current_object()
        elif request.path.startswith("/api/"):
            return  # no session and no token: the API answers 401 (a CSRF check protects a session's authority)
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            csrf.protect()


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    if request.method == "GET":
        return render_template("login.html")
    throttle: LoginThrottle = current_app.extensions["zhifa_login_throttle"]
    username = request.form.get("username", "").strip()
    keys = (f"user:{username}", f"addr:{request.remote_addr}")
    if throttle.blocked(*keys):
        flash(_("登录失败次数过多，请 5 分钟后再试"), "danger")
        return render_template("login.html", username=username), 429
    user = authenticate(username, request.form.get("password", ""))
    if user is None:
        throttle.fail(*keys)
        flash(_("用户名或密码错误"), "danger")
        return render_template("login.html", username=username), 401
    throttle.clear(keys[0])
    session.clear()  # a fresh session on login: no session fixation
    login_user(user)
    session[EPOCH_KEY] = user.session_epoch
    with writing():
        audit.record("user.login", user.username, {"address": request.remote_addr})
        db.session.commit()
    target = request.args.get("next", "")
    return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("inbox.index"))


@bp.post("/logout")
def logout() -> Response:
    """End the session here and everywhere: a copied session cookie stops working too."""
    user = g.user if getattr(g, "auth", None) == "session" else None
    if user is not None:
        with writing():
            db.session.execute(update(User).where(User.id == user.id).values(session_epoch=User.session_epoch + 1))
            audit.record("user.logout", user.username, {"address": request.remote_addr})
            db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))
