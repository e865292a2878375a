"""One command, one transaction: commit on success, roll back everything on any error."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from .errors import Conflict
from .models import db

P = ParamSpec("P")
R = TypeVar("R")


def command(fn: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            result = fn(*args, **kwargs)
            db.session.commit()
            return result
        except StaleDataError:
            db.session.rollback()
            raise Conflict("该任务已被他人处理 (already handled: someone else changed this case first)")
        except OperationalError as exc:
            db.session.rollback()
            if "lock" in str(exc).lower() or "deadlock" in str(exc).lower():
                raise Conflict("案件正被他人处理，请稍后重试 (the case is busy; try again)")
            raise
        except BaseException:
            db.session.rollback()
            raise

    return run
