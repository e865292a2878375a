"""Who may use /admin: role ``administrator`` only (officers and designers get 403, anonymous users
the login page). Shared by every administration view."""

from __future__ import annotations

from typing import Any

from flask import abort, g, redirect, request, url_for
from werkzeug.wrappers import Response

from engine.policy.permissions import ADMINISTRATOR as ADMIN_ROLE


class AdminOnly:
    def is_accessible(self) -> bool:
        user = g.get("user")
        return user is not None and user.has_role(ADMIN_ROLE)

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Response:
        if g.get("user") is None:
            return redirect(url_for("auth.login", next=request.full_path))
        abort(403)
