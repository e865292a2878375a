"""HTTP hardening shared by every page: bounded ids in URLs and the security headers.

Pages carry no inline script (CSP ``script-src 'self'``); Flask-Admin's own templates do, so
/admin alone allows inline scripts, and the designer's editors allow ``eval``
(dmn-js needs it). bpmn-js and Bootstrap set inline style attributes, hence
``style-src 'unsafe-inline'``. Framing is denied everywhere (clickjacking of claim/complete).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
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


def _nul_in_request() -> bool:
    fields = list(request.args.items(multi=True))
    if request.method in ("POST", "PUT", "PATCH"):
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            fields += request.form.items(multi=True)
        elif request.is_json and b"\\u0000" in request.get_data(cache=True):  # parsed only when it may hold one
            try:
                return _has_nul(request.get_json(silent=True))
            except RecursionError:
                return True
    return any("\x00" in (key or "") or "\x00" in (value or "") for key, value in fields)  # a part may have no name


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedIntConverter
    provider = BoundedJSONProvider(app)
    provider.ensure_ascii = app.json.ensure_ascii  # type: ignore[attr-defined]
    app.json = provider

    @app.before_request
    def refuse_nul() -> None:
        """PostgreSQL stores no NUL character in text: the statement failed and the request was a 500."""
        if _nul_in_request():
            raise NulCharacter("请求中含有空字符，无法保存 (NUL characters are not accepted)")

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
