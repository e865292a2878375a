"""HTTP hardening shared by every page: bounded ids in URLs and the security headers.

Pages carry no inline script (CSP ``script-src 'self'``); Flask-Admin's own templates do, so
/admin alone allows inline scripts, and the designer's editors allow ``eval``
(dmn-js needs it). bpmn-js and Bootstrap set inline style attributes, hence
``style-src 'unsafe-inline'``. Framing is denied everywhere (clickjacking of claim/complete).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, abort, g, request
from flask.json.provider import DefaultJSONProvider
from flask_login import login_required
from werkzeug.routing import IntegerConverter, Map
from werkzeug.wrappers import Response

from engine.errors import ZhifaError

MAX_ID = 2**31 - 1  # ids are INTEGER columns: a larger one cannot exist, and PostgreSQL refuses to bind it (500)
MAX_PAGE = 100_000

_CSP = ("default-src 'self'; script-src 'self'{inline}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'")


class BoundedIntConverter(IntegerConverter):
    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


class BoundedJSONProvider(DefaultJSONProvider):
    """JSON bodies nested thousands deep make ``json.loads`` raise ``RecursionError``, which Werkzeug
    does not treat as bad JSON (it catches ``ValueError`` only): the request became a 500."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


class NulCharacter(ZhifaError):
    code = "bad_request"
    status = 400


class LoneSurrogate(ZhifaError):
    code = "bad_request"
    status = 400


# Text no database can store: NUL (PostgreSQL refuses it in text) and UTF-16 surrogates without their pair
# (JSON "\ud800" decodes to one; it cannot be encoded as UTF-8, so SQLite and psycopg both raised: a 500).
_NUL, _SURROGATE = "nul", "surrogate"
_SURROGATES = re.compile("[\ud800-\udfff]")
# The JSON escapes that can produce either; a body without one is not parsed here at all.
_JSON_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def _bad_text_in_request() -> str | None:
    """``"nul"``, ``"surrogate"`` or None for the query string, a posted form and a JSON body."""
    fields = list(request.args.items(multi=True))
    if request.method in ("POST", "PUT", "PATCH"):
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            fields += request.form.items(multi=True)
        elif request.is_json and _JSON_ESCAPE.search(request.get_data(cache=True)):  # parsed only when it may hold one
            try:
                found = _bad_text(request.get_json(silent=True))
            except RecursionError:
                return _NUL
            if found:
                return found
    for key, value in fields:
        found = _text_problem(key or "") or _text_problem(value or "")  # a part may have no name
        if found:
            return found
    return None


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return _NUL
    if _SURROGATES.search(text):
        return _SURROGATE
    return None


def _bad_text(value: Any) -> str | None:
    if isinstance(value, str):
        return _text_problem(value)
    if isinstance(value, dict):
        for k, v in value.items():
            found = _bad_text(k) or _bad_text(v)
            if found:
                return found
    if isinstance(value, list):
        for v in value:
            found = _bad_text(v)
            if found:
                return found
    return None


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedIntConverter
    provider = BoundedJSONProvider(app)
    provider.ensure_ascii = app.json.ensure_ascii  # type: ignore[attr-defined]
    app.json = provider

    @app.before_request
    def refuse_unstorable_text() -> None:
        """PostgreSQL stores no NUL character in text, and no database stores a lone surrogate: the
        statement failed and the request was a 500. Refused up front, whatever the route."""
        found = _bad_text_in_request()
        if found == _NUL:
            raise NulCharacter("请求中含有空字符，无法保存 (NUL characters are not accepted)")
        if found == _SURROGATE:
            raise LoneSurrogate("请求中含有无效的 Unicode 字符（不成对的 UTF-16 代理项，如 \\ud800），无法保存："
                                "请删除该字符，或检查发送方的文本编码后重试 (lone surrogate characters are not accepted)")

    @app.after_request
    def headers(response: Response) -> Response:
        inline = " 'unsafe-inline'" if request.path.startswith("/admin") else ""
        if request.path.startswith("/designer/edit"):
            inline += " 'unsafe-eval'"  # dmn-js compiles its decision-table editor at run time (designers only)
        response.headers.setdefault("Content-Security-Policy", _CSP.format(inline=inline))
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response


def page_number(value: object) -> int:
    """A page number from the query string, clamped to 1..MAX_PAGE (never an overflow)."""
    try:
        return min(MAX_PAGE, max(1, int(str(value))))
    except (TypeError, ValueError):
        return 1


def id_arg(value: str) -> int:
    """``request.args.get(name, type=id_arg)``: an id from a query or form, or the default when it cannot exist."""
    number = int(value)
    if not 0 <= number <= MAX_ID:
        raise ValueError(f"id out of range: {value}")
    return number


MAX_REDIRECT = 2000


def safe_redirect(target: object, default: str) -> str:
    """``target`` when it is a path on this site, else ``default``: the one check for every ``next=``.

    Browsers drop tab, CR and LF anywhere in a URL and read a backslash as ``/``, so ``/%09/evil.example``
    (a tab) and ``/%5Cevil.example`` lead to another site although they start with one ``/``. A target with a
    control character or a backslash is refused, not cleaned (a CR/LF in a Location header was a 500).
    """
    if not isinstance(target, str) or not target.startswith("/") or len(target) > MAX_REDIRECT:
        return default
    if "\\" in target or any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in target):
        return default
    squeezed = "".join(c for c in target if not c.isspace())
    if squeezed.startswith(("//", "/\\")):
        return default
    try:
        parts = urlsplit(target)
    except ValueError:
        return default
    if parts.scheme or parts.netloc:
        return default
    return target


F = TypeVar("F", bound=Callable[..., Any])


def roles_required(*roles: str) -> Callable[[F], F]:
    """A page for the holders of any of ``roles``: the login page for nobody, 403 for other people."""
    def decorate(fn: F) -> F:
        @wraps(fn)
        @login_required
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not g.user.has_role(*roles):
                abort(403)
            return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
