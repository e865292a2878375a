"""``/api/v1``: the JSON contract of ARCHITECTURE.md (session cookie or bearer token)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, g, request

from engine.errors import Forbidden, InvalidInput, Unauthenticated
from engine.models import User

from ..security import MAX_PAGE

bp = Blueprint("api", __name__, url_prefix="/api/v1")
F = TypeVar("F", bound=Callable[..., Any])


@bp.before_request
def require_user() -> None:
    if request.endpoint in ("api.openapi",):
        return
    if g.get("user") is None:
        raise Unauthenticated("请先登录或提供有效的 API 令牌 (log in or send a valid bearer token)")


def current() -> User:
    return g.user  # type: ignore[no-any-return]


def roles_required(*roles: str) -> Callable[[F], F]:
    def decorate(fn: F) -> F:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current().has_role(*roles):
                raise Forbidden(f"需要角色 {', '.join(roles)} (requires role {', '.join(roles)})")
            return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("请求体必须是 JSON 对象 (the request body must be a JSON object)")
    return body


def text_field(body: dict[str, Any], name: str, default: str = "") -> str:
    """A string member of a JSON body (``default`` when absent or null); any other type is a 422, not a 500."""
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise InvalidInput(f"{name} 必须是字符串 ({name} must be a string)", details=[{"field": name, "message": "必须是字符串"}])
    return value


def page_args() -> tuple[int, int]:
    try:
        page = min(MAX_PAGE, max(1, int(request.args.get("page", 1))))
        per_page = min(200, max(1, int(request.args.get("per_page", 50))))
    except ValueError:
        raise InvalidInput("page/per_page 必须是整数 (page and per_page must be integers)")
    return page, per_page


from . import calendar, cases, deployment_reviews, deployments, evidence, officers, openapi, tasks, versions  # noqa: E402,F401  (routes register on bp)
