"""The limits of the restricted evaluator and of the instructions sandbox, and the one error they raise.

Generous for procedure logic (fines, dates, a few lists), far below what hurts a server. Every limit
is named here so that a refusal can say which one was hit (``UnsafeExpression``, ``details["limit"]``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Final, Literal

from engine.errors import UnsafeExpression

Mode = Literal["eval", "exec"]

# --------------------------------------------------------------------------------------- source size
MAX_SOURCE_CHARS: Final = 10_000
MAX_NODES: Final = 2_000
MAX_DEPTH: Final = 100  # also keeps the checker's and CPython compiler's recursion far from their limits

# --------------------------------------------------------------------------------------- run time
MAX_RANGE: Final = 10_000
MAX_ITERATIONS: Final = 100_000  # per evaluation, all loops and comprehensions together
MAX_SECONDS: Final = 2.0  # CPU seconds of the evaluating thread, per evaluation, checked by every guard
MAX_SIZE: Final = 1_000_000  # characters of any string one operation builds or renders (1 MB of text)
MAX_ITEMS: Final = 100_000  # items of any list, tuple, set or dict one operation builds
MAX_DATA_SIZE: Final = 5_000_000  # task data after a script / a returned value, items + characters
# What one evaluation may keep of the values it built (still referenced), in bytes: strings at their
# real size, collections at ITEM_BYTES per item (a slot and a small object of its own). MAX_SIZE and
# MAX_ITEMS bound each value; this bounds all of them together (``x1 = l * 1``, ``x2 = l * 1``, ... or
# a display of 500 copies), so the memory of the whole evaluation stays in the low hundreds of MB.
MAX_ALLOCATED: Final = 128 * 2**20
ITEM_BYTES: Final = 96
MAX_INT_BITS: Final = 10_000  # ~3,000 decimal digits; below CPython's 4,300-digit str() limit
MAX_FORMAT_WIDTH: Final = 999  # widths/precisions in format specs and %-formats
MAX_ROUND_DIGITS: Final = 1_000
MAX_DECIMAL_EXPONENT: Final = 4_000  # int(Decimal('1e999999999')) would build a 400 MB integer
# CPython's strftime grows its buffer up to 256 x the template length: 1,000 characters keep any
# result below 256,000 characters (< MAX_SIZE), whatever the directives and the C library's paddings.
MAX_STRFTIME_CHARS: Final = 1_000
MAX_NESTING: Final = 200

FORBIDDEN_NAMES: Final = frozenset(
    {
        "__import__", "breakpoint", "bytearray", "bytes", "callable", "classmethod", "compile",
        "copyright", "credits", "delattr", "dir", "eval", "exec", "exit", "getattr", "globals",
        "hasattr", "help", "id", "input", "license", "locals", "memoryview", "object", "open",
        "property", "quit", "setattr", "staticmethod", "super", "type", "vars",
    }
)  # fmt: skip

# Attribute names per receiver type, enforced at run time (the static check uses their union).
STR_ATTRIBUTES: Final = frozenset(
    {"strip", "lstrip", "rstrip", "lower", "upper", "startswith", "endswith", "split", "join",
     "replace", "isdigit", "count", "find"}
)  # fmt: skip
DICT_ATTRIBUTES: Final = frozenset({"get", "keys", "values", "items", "pop"})
LIST_ATTRIBUTES: Final = frozenset({"append", "count", "index", "pop"})
TUPLE_ATTRIBUTES: Final = frozenset({"count", "index"})
DATE_ATTRIBUTES: Final = frozenset({"isoformat", "year", "month", "day", "weekday", "isoweekday", "strftime", "replace"})
DATETIME_ATTRIBUTES: Final = DATE_ATTRIBUTES | {"date", "hour", "minute", "second"}
TIMEDELTA_ATTRIBUTES: Final = frozenset({"days", "seconds", "total_seconds"})
DECIMAL_ATTRIBUTES: Final = frozenset({"quantize"})

ATTRIBUTES_BY_TYPE: Final[tuple[tuple[type, frozenset[str]], ...]] = (
    (str, STR_ATTRIBUTES),
    (dict, DICT_ATTRIBUTES),
    (list, LIST_ATTRIBUTES),
    (tuple, TUPLE_ATTRIBUTES),
    (datetime, DATETIME_ATTRIBUTES),  # before date: datetime is a date subclass
    (date, DATE_ATTRIBUTES),
    (timedelta, TIMEDELTA_ATTRIBUTES),
    (Decimal, DECIMAL_ATTRIBUTES),
)

ALLOWED_ATTRIBUTES: Final = frozenset().union(*(names for _, names in ATTRIBUTES_BY_TYPE))


def allowed_attributes(obj: object) -> frozenset[str] | None:
    """The attribute names checked code may read on ``obj``; None for a type with none listed."""
    for kind, names in ATTRIBUTES_BY_TYPE:
        if isinstance(obj, kind):
            return names
    return None


def limit_error(chinese: str, english: str) -> UnsafeExpression:
    """The refusal of a run-time limit: ``中文说明 (English)``, the limit in ``details``."""
    return UnsafeExpression(f"{chinese} ({english})", details={"reason": "limit", "limit": english})
