"""The functions every expression may call (:data:`SAFE_FUNCTIONS`), with wrappers where the builtin
could be made to allocate or loop without bound."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from datetime import time as day_time
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final

from engine import clock
from engine.expressions.bounds import MAX_INT_BITS, MAX_RANGE, MAX_ROUND_DIGITS, limit_error
from engine.expressions.sizes import check_decimal_exponent, guarded_render


def parse_date(value: str | date) -> date:
    """A ``date`` from an ISO string, a date or a datetime; datetimes are read in Asia/Shanghai.

    Form data arrives as JSON strings; the legal day of an instant is the day in China.
    """
    if isinstance(value, datetime):
        return _in_shanghai(value).date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise TypeError(f"parse_date() needs an ISO date string, not {type(value).__name__}")
    text = value.strip()
    if len(text) > 10:  # a datetime: its day in Shanghai, not the day of its UTC rendering
        return parse_datetime(text).astimezone(clock.SHANGHAI).date()
    return date.fromisoformat(text)


def parse_datetime(value: str | date) -> datetime:
    """An aware ``datetime`` from an ISO string, date or datetime; naive values are Asia/Shanghai time.

    SpiffWorkflow reads naive timer values in the server's zone; zhifa's times must never depend on it.
    """
    if isinstance(value, datetime):
        return _in_shanghai(value)
    if isinstance(value, date):
        return datetime.combine(value, day_time(), tzinfo=clock.SHANGHAI)
    if not isinstance(value, str):
        raise TypeError(f"parse_datetime() needs an ISO datetime string, not {type(value).__name__}")
    return _in_shanghai(datetime.fromisoformat(value.strip()))


def now() -> datetime:
    """The current instant in Asia/Shanghai, from zhifa's clock (so tests and ``--now`` drills agree)."""
    return clock.now().astimezone(clock.SHANGHAI)


def today() -> date:
    """Today's date in Asia/Shanghai, from zhifa's clock."""
    return clock.today_shanghai()


def _bounded_range(*args: int) -> range:
    """``range`` with at most MAX_RANGE items: ``sum(range(10**12))`` would pin a worker."""
    steps = range(*args)
    try:
        size = len(steps)
    except OverflowError:
        size = MAX_RANGE + 1
    if size > MAX_RANGE:
        raise limit_error("循环范围过大", f"range() is limited to {MAX_RANGE:,} items")
    return steps


def _safe_sum(items: Iterable[Any], /, start: Any = 0) -> Any:
    """Numbers only: ``sum(lists, [])`` is quadratic and is what ``+`` guards exist to prevent."""
    if not isinstance(start, int | float | Decimal):
        raise TypeError("sum() 只能对数字求和 (sum() adds numbers only)")
    return sum(items, start)


def _safe_str(*args: Any) -> str:
    """``str`` after checking the text will be reasonably small."""
    if args:
        guarded_render(args[0])
    return str(*args)


def _safe_int(value: Any = 0, *args: Any) -> int:
    """``int`` refusing decimals like ``1e999999999`` whose integer would fill memory, and results
    above MAX_INT_BITS: ``int('f' * 10**6, 16)`` parses in linear time (no digit limit for bases that
    are powers of two), but ``Decimal()`` of that 4-million-bit number then runs for ~20 s in C."""
    check_decimal_exponent(value)
    result = int(value, *args)
    if result.bit_length() > MAX_INT_BITS:
        raise limit_error("整数过大", f"integer would exceed {MAX_INT_BITS:,} bits")
    return result


def _safe_round(number: Any, ndigits: int | None = None) -> Any:
    """``round`` refusing ``round(5, -10**9)`` (computes 10**10**9) and huge decimals."""
    if ndigits is None:
        check_decimal_exponent(number)
        return round(number)
    if not isinstance(ndigits, int) or abs(ndigits) > MAX_ROUND_DIGITS:
        raise limit_error("取整位数过大", f"round() digits are limited to ±{MAX_ROUND_DIGITS}")
    return round(number, ndigits)


def _in_shanghai(moment: datetime) -> datetime:
    return moment.replace(tzinfo=clock.SHANGHAI) if moment.tzinfo is None else moment


SAFE_FUNCTIONS: Final[Mapping[str, Callable[..., Any]]] = MappingProxyType(
    {
        "len": len,
        "min": min,
        "max": max,
        "abs": abs,
        "round": _safe_round,
        "sum": _safe_sum,
        "str": _safe_str,
        "int": _safe_int,
        "float": float,
        "bool": bool,
        "Decimal": Decimal,
        "sorted": sorted,
        "any": any,
        "all": all,
        "list": list,
        "dict": dict,
        "tuple": tuple,
        "set": set,
        "range": _bounded_range,
        "date": date,
        "timedelta": timedelta,
        "parse_date": parse_date,
        "parse_datetime": parse_datetime,
        "now": now,
        "today": today,
    }
)
"""The functions every expression may call. ``date``/``timedelta`` are classes, but expressions can
only call them: attribute reads on classes are refused at run time (``date.today`` would bypass the
clock; ``now()``/``today()`` go through it). ``isinstance``/``type`` are left out on purpose: both
hand out class objects. Note: task data cannot use these names (SpiffWorkflow refuses scripts
whose task data would shadow a function)."""
