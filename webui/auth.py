"""Session login for people, bearer tokens for scripts, CSRF for every state-changing request."""

from __future__ import annotations

import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, Flask, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from sqlalchemy import update
from werkzeug.wrappers import Response

from engine.admin.users import authenticate, load_user, user_for_token
from engine.db.session import writing
from engine.errors import Unauthenticated
from engine.models import User, db
from engine.record import audit

from .extensions import csrf, login_manager
from .security import safe_redirect

bp = Blueprint("auth", __name__)
EPOCH_KEY = "_epoch"
WINDOW_SECONDS = 300
MAX_FAILURES_PER_PAIR = 5  # one username from one address
MAX_FAILURES_PER_USER = 10  # one username from any address (credential stuffing from many addresses)
# Password spraying from one address: beyond this, a username that has failed (or does not exist) is refused
# there; a user with no failure of their own still logs in with the right password (an office shares a NAT).
MAX_FAILURES_PER_ADDRESS = 100
MAX_KEYS = 50_000  # distinct counters kept before stale ones are dropped
TOKEN_MAX = 200  # issued tokens are "zf_" + 43 characters; anything far longer is not one of ours
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")  # RFC 6750 b64token


class InvalidToken(Unauthenticated):
    """RFC 6750 ``invalid_token``: the Authorization header names a token that is not (or no longer) valid."""

    code = "invalid_token"


@dataclass(frozen=True)
class Refusal:
    """Why a login attempt is refused now, and for how many more seconds."""

    rule: str  # "pair", "user" or "address"
    limit: int
    wait_seconds: int

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.wait_seconds / 60))


class LoginThrottle:
    """Failed logins in a sliding window (kept on the app object), counted three ways.

    - per username and address: the account's own guesser is stopped after MAX_FAILURES_PER_PAIR;
    - per username from any address: stuffing one account from many addresses, MAX_FAILURES_PER_USER;
    - per address: spraying many usernames from one address, MAX_FAILURES_PER_ADDRESS. Beyond it a username
      that has failed in the window (unknown names included) is refused at that address, and a wrong password
      answers "too many" too. The right password of a user who has not failed is never refused for the
      failures of others at the same address: colleagues behind one NAT address must still log in.
    """

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._now = now

    @staticmethod
    def _keys(username: str, address: str) -> tuple[str, str, str]:
        name = username[:100]  # usernames are at most 80 characters; a posted megabyte is not kept
        return f"pair:{name}\x00{address}", f"user:{name}", f"addr:{address}"

    def refusal(self, username: str, address: str) -> Refusal | None:
        """The rule that refuses ``username`` at ``address`` before its password is even checked, if any."""
        pair, user, addr = self._keys(username, address)
        with self._lock:
            now = self._now()
            for key, limit in ((pair, MAX_FAILURES_PER_PAIR), (user, MAX_FAILURES_PER_USER)):
                wait = self._wait(key, limit, now)
                if wait is not None:
                    return Refusal("pair" if key == pair else "user", limit, wait)
            wait = self._wait(addr, MAX_FAILURES_PER_ADDRESS, now)
            if wait is not None and self._recent(user, now):
                return Refusal("address", MAX_FAILURES_PER_ADDRESS, wait)
        return None

    def address_refusal(self, address: str) -> Refusal | None:
        """The address's own rule (after a wrong password: "too many" rather than "wrong password")."""
        with self._lock:
            wait = self._wait(f"addr:{address}", MAX_FAILURES_PER_ADDRESS, self._now())
        return None if wait is None else Refusal("address", MAX_FAILURES_PER_ADDRESS, wait)

    def fail(self, username: str, address: str, times: int = 1) -> None:
        with self._lock:
            now = self._now()
            if len(self._failures) > MAX_KEYS:
                self._forget_stale(now)
            for key in self._keys(username, address):
                self._failures.setdefault(key, deque()).extend([now] * times)

    def succeed(self, username: str, address: str) -> None:
        """A right password ends the count of its own username at that address (not the others)."""
        with self._lock:
            self._failures.pop(self._keys(username, address)[0], None)

    def _recent(self, key: str, now: float) -> int:
        q = self._failures.get(key)
        if not q:
            return 0
        while q and now - q[0] >= WINDOW_SECONDS:
            q.popleft()
        return len(q)

    def _wait(self, key: str, limit: int, now: float) -> int | None:
        """Seconds until ``key`` is under ``limit`` again, or None when it is under it now."""
        count = self._recent(key, now)
        if count < limit:
            return None
        q = self._failures[key]
        return max(1, math.ceil(WINDOW_SECONDS - (now - q[count - limit])))

    def _forget_stale(self, now: float) -> None:
        for key in [k for k, q in self._failures.items() if not q or now - q[-1] >= WINDOW_SECONDS]:
            del self._failures[key]


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
        scheme, _sep, credentials = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            # A request that presents a token is judged by the token alone, whatever cookie comes with it:
            # a bad one is a 401 (it was a 500 on pages: the session passed login_required, g.user was None).
            g.auth = "token"
            token = credentials.strip()
            user = user_for_token(token) if len(token) <= TOKEN_MAX and _TOKEN68.fullmatch(token) else None
            if user is None:
                raise InvalidToken("API 令牌无效、已被吊销或格式不对：请用 zhifa users token 重新签发，"
                                   "或去掉 Authorization 头后登录 (invalid bearer token)")
            g.user = user
            return  # a bearer token cannot be sent by a foreign page: no CSRF check needed
        g.auth = "session"
        if current_user.is_authenticated:
            g.user = current_user._get_current_object()
        elif request.path.startswith("/api/"):
            return  # no session and no token: the API answers 401 (a CSRF check protects a session's authority)
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            csrf.protect()


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int] | tuple[str, int, dict[str, str]]:
    if request.method == "GET":
        return render_template("login.html")
    throttle: LoginThrottle = current_app.extensions["zhifa_login_throttle"]
    username = request.form.get("username", "").strip()
    address = request.remote_addr or ""
    refusal = throttle.refusal(username, address)
    if refusal is not None:
        return _too_many(refusal, username)
    user = authenticate(username, request.form.get("password", ""))
    if user is None:
        throttle.fail(username, address)
        spraying = throttle.address_refusal(address)
        if spraying is not None:
            return _too_many(spraying, username)
        flash(_("用户名或密码错误"), "danger")
        return render_template("login.html", username=username), 401
    throttle.succeed(username, address)
    session.clear()  # a fresh session on login: no session fixation
    login_user(user)
    session[EPOCH_KEY] = user.session_epoch
    with writing():
        audit.record("user.login", user.username, {"address": request.remote_addr})
        db.session.commit()
    return redirect(safe_redirect(request.args.get("next"), url_for("inbox.index")))


def _too_many(refusal: Refusal, username: str) -> tuple[str, int, dict[str, str]]:
    if refusal.rule == "pair":
        message = _("该账号从本机地址 %(window)d 分钟内登录失败 %(limit)d 次，已暂停登录：请 %(minutes)d 分钟后再试；"
                    "忘记密码请联系系统管理员重置", window=WINDOW_SECONDS // 60, limit=refusal.limit, minutes=refusal.minutes)
    elif refusal.rule == "user":
        message = _("该账号 %(window)d 分钟内登录失败 %(limit)d 次（可能有人在猜测密码），已暂停登录：请 %(minutes)d 分钟后再试，"
                    "或联系系统管理员", window=WINDOW_SECONDS // 60, limit=refusal.limit, minutes=refusal.minutes)
    else:
        message = _("本机地址 %(window)d 分钟内登录失败超过 %(limit)d 次，已失败过的用户名暂不能从这里登录：请 %(minutes)d 分钟后再试；"
                    "未输错过密码的用户不受影响", window=WINDOW_SECONDS // 60, limit=refusal.limit, minutes=refusal.minutes)
    flash(message, "danger")
    return render_template("login.html", username=username), 429, {"Retry-After": str(refusal.wait_seconds)}


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
