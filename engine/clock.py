"""The one clock seam for zhifa and for SpiffWorkflow's timers.

SpiffWorkflow's timer module calls ``datetime.now(timezone.utc)`` directly, with no hook. Tests,
drills (``zhifa tick --now``) and the scheduler must agree on "now", so the timer module's
``datetime`` name is pointed at a shim that asks the current clock. The current clock lives in a
context variable: concurrent requests or test threads never see each other's frozen time.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as _dt
import functools
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock:
    """Real time, always timezone-aware (UTC)."""

    def now(self) -> _dt.datetime:
        return _dt.datetime.now(_dt.UTC)


class FrozenClock(Clock):
    """A clock that moves only when told to; for tests and drills."""

    def __init__(self, at: _dt.datetime) -> None:
        self.at = _aware(at)

    def now(self) -> _dt.datetime:
        return self.at

    def set(self, at: _dt.datetime) -> None:
        self.at = _aware(at)

    def advance(self, **delta: float) -> _dt.datetime:
        self.at = self.at + _dt.timedelta(**delta)
        return self.at


_SYSTEM = Clock()
_current: contextvars.ContextVar[Clock] = contextvars.ContextVar("zhifa_clock", default=_SYSTEM)
_default: list[Clock] = [_SYSTEM]


def now() -> _dt.datetime:
    """The current instant in UTC, from the clock in force."""
    return _current.get(_default[0]).now()


def get_clock() -> Clock:
    return _current.get(_default[0])


@contextlib.contextmanager
def use_clock(clock: Clock) -> Iterator[Clock]:
    """Run a block (one command, one test) on ``clock``."""
    token = _current.set(clock)
    try:
        yield clock
    finally:
        _current.reset(token)


def set_default_clock(clock: Clock | None) -> None:
    """Set the process-wide fallback clock (used by threads that did not enter ``use_clock``)."""
    _default[0] = clock or _SYSTEM


def today_shanghai() -> _dt.date:
    return now().astimezone(SHANGHAI).date()


def _aware(at: _dt.datetime) -> _dt.datetime:
    if at.tzinfo is None:
        raise ValueError("zhifa clocks take timezone-aware datetimes only")
    return at.astimezone(_dt.UTC)


class _SpiffDatetime(_dt.datetime):
    """``datetime`` as SpiffWorkflow's timer module sees it: ``now()`` comes from zhifa's clock."""

    @classmethod
    def now(cls, tz: _dt.tzinfo | None = None) -> _dt.datetime:  # type: ignore[override]
        current = now()
        return current.astimezone(tz) if tz is not None else current.astimezone(SHANGHAI).replace(tzinfo=None)


def install_spiff_clock() -> None:
    """Point SpiffWorkflow's timer module at zhifa's clock (idempotent)."""
    from SpiffWorkflow.bpmn.specs.event_definitions import timer

    timer.datetime = _SpiffDatetime
    # Naive timer values would otherwise be read in the server's zone; zhifa's are read in Shanghai.
    timer.LOCALTZ = SHANGHAI
    for kind, method in ((timer.TimeDateEventDefinition, "has_fired"), (timer.DurationTimerEventDefinition, "has_fired"),
                         (timer.CycleTimerEventDefinition, "cycle_complete")):
        if not getattr(getattr(kind, method), "_zhifa_guarded", False):
            setattr(kind, method, _timer_value_errors_as_task_errors(getattr(kind, method)))


def _timer_value_errors_as_task_errors(method: Any) -> Any:
    """SpiffWorkflow reads a timer expression's value outside its error wrapping: a value that is not
    an ISO string (``0``, a ``date``, ``'P5D'`` in a timeDate, ``'abc'``) escaped as a bare
    AttributeError/TypeError/ValueError, so completing the task before it answered 500. Raised as
    the task's WorkflowTaskException instead, it is the designer error it is (422, or an incident)."""
    from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
    from SpiffWorkflow.exceptions import SpiffWorkflowException

    from engine.errors import ZhifaError

    @functools.wraps(method)
    def guarded(self: Any, my_task: Any) -> Any:
        try:
            return method(self, my_task)
        except (SpiffWorkflowException, ZhifaError):
            raise
        except Exception as exc:  # noqa: BLE001 - SpiffWorkflow raises bare Exception('Invalid duration') too
            value = my_task._get_internal_data("event_value")
            raise WorkflowTaskException(
                f"计时器的值无法识别 (timer value {str(value)[:80]!r} is not an ISO 8601 date, datetime or duration): {exc}",
                task=my_task, exception=exc) from exc

    guarded._zhifa_guarded = True  # type: ignore[attr-defined]
    return guarded
