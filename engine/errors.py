"""Typed errors a user or a designer can cause.

The web layer maps each class to one HTTP status and shows ``message`` (Chinese first); engine code
never returns error codes. ``details`` carries machine-readable specifics (file, line, element, field).
"""

from __future__ import annotations

from typing import Any


class ZhifaError(Exception):
    """Base of every error a user can cause; ``code`` is stable for API clients."""

    code = "error"
    status = 400

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, "details": self.details}


class InvalidInput(ZhifaError):
    code = "invalid_input"
    status = 422


class NotFound(ZhifaError):
    # Also used for objects outside the user's unit: their existence is not disclosed.
    code = "not_found"
    status = 404


class Forbidden(ZhifaError):
    code = "forbidden"
    status = 403


class Unauthenticated(ZhifaError):
    code = "unauthenticated"
    status = 401


class Conflict(ZhifaError):
    """Someone else changed the object first (stale version, task already handled)."""

    code = "conflict"
    status = 409


class InvalidState(ZhifaError):
    code = "invalid_state"
    status = 409


class UnsafeExpression(ZhifaError):
    """An expression or script failed the restricted evaluator's allow-list."""

    code = "unsafe_expression"
    status = 422


class ExpressionFailed(ZhifaError):
    """An allowed expression raised while being evaluated (bad data, wrong types)."""

    code = "expression_failed"
    status = 422


class CalendarMissing(ZhifaError):
    """A deadline needs a year whose holiday calendar has not been entered; never guess."""

    code = "calendar_missing"
    status = 422


class DeploymentInvalid(ZhifaError):
    """A bundle failed validation; ``details`` lists every problem (file, line, element, message)."""

    code = "deployment_invalid"
    status = 422
