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
from collections.abc import Iterator
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
