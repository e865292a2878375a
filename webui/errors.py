"""ZhifaError -> HTTP: JSON ``{"error", "message", "details"}`` under /api, a page elsewhere."""

from __future__ import annotations

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from engine.errors import ZhifaError

_HTTP_MESSAGES = {
    400: "请求无效 (bad request)",
    401: "请先登录 (authentication required)",
    403: "无权执行此操作 (forbidden)",
    404: "资源不存在 (not found)",
    405: "不支持的请求方法 (method not allowed)",
    413: "上传内容过大 (payload too large)",
    429: "尝试次数过多，请稍后再试 (too many attempts)",
}


def init_app(app: Flask) -> None:
    @app.errorhandler(ZhifaError)
    def zhifa_error(exc: ZhifaError) -> tuple[Response | str, int]:
        return _render(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> tuple[Response | str, int]:
        return _render(400, "csrf", "表单已过期或缺少 CSRF 令牌，请刷新页面后重试 (missing or invalid CSRF token)", None)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response | str, int, dict[str, str]] | tuple[Response | str, int]:
        code = exc.code or 500
        body, status = _render(code, exc.name.lower().replace(" ", "_"), _HTTP_MESSAGES.get(code, exc.description or ""), None)
        # The exception's own headers (``Allow`` on a 405, required by RFC 9110), not its HTML content type.
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        return (body, status, headers) if headers else (body, status)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[Response | str, int]:
        app.logger.exception("unhandled error")
        return _render(500, "internal_error", "系统内部错误，已记录 (internal error)", None)


def _render(status: int, code: str, message: str, details: object) -> tuple[Response | str, int]:
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        response = jsonify({"error": code, "message": message, "details": details})
        if status == 401:  # RFC 6750: how to authenticate, and (a token was sent) that it was refused
            response.headers["WWW-Authenticate"] = 'Bearer realm="zhifa"' + (
                ', error="invalid_token"' if code == "invalid_token" else "")
        return response, status
    return render_template("error.html", status=status, message=message, details=details), status
