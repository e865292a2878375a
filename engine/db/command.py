"""One command, one transaction: commit on success, roll back everything on any error."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from SpiffWorkflow.exceptions import SpiffWorkflowException
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from engine.db import writebehind
from engine.db.session import db, writing
from engine.errors import Conflict, ExpressionFailed, ZhifaError

P = ParamSpec("P")
R = TypeVar("R")


def command(fn: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with writing():
            return _run(fn, *args, **kwargs)

    return run


def _run(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    try:
        result = fn(*args, **kwargs)
        writebehind.commit()
        return result
    except StaleDataError:
        db.session.rollback()
        raise Conflict("该任务已被他人处理 (already handled: someone else changed this case first)")
    except OperationalError as exc:
        db.session.rollback()
        if "lock" in str(exc).lower() or "deadlock" in str(exc).lower():
            raise Conflict("案件正被他人处理，请稍后重试 (the case is busy; try again)")
        raise
    except SpiffWorkflowException as exc:
        db.session.rollback()
        raise user_error(exc) from exc
    except BaseException:
        db.session.rollback()
        raise


def user_error(exc: BaseException) -> ZhifaError:
    """What the user should see for an error raised inside the workflow engine.

    SpiffWorkflow wraps whatever an expression raised (e.g. our CalendarMissing from ``deadline``)
    into WorkflowTaskException; the original is the exception's context.
    """
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ZhifaError):
            return cause
        cause = cause.__cause__ or cause.__context__
    return ExpressionFailed(f"流程执行出错，请联系流程设计人员 (the procedure failed to run): {exc}")
