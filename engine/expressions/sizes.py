"""How big a value is, or would be as text, measured without building it; and the checks that refuse
a result above the limits (engine/expressions/bounds.py) before it is computed."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import date, datetime, timedelta
from datetime import time as day_time
from decimal import Decimal
from typing import Any, Final

from engine.expressions.bounds import MAX_DECIMAL_EXPONENT, MAX_INT_BITS, MAX_ITEMS, MAX_NESTING, MAX_SIZE, limit_error

TEXT: Final[dict[str, Callable[[Any], str]]] = {"s": str, "r": repr, "a": ascii}


def guarded_render(value: Any, conversion: str = "s", limit: int = MAX_SIZE) -> Any:
    """Before a value becomes text (``str``, ``repr`` or ``ascii`` by ``conversion``): the text must stay
    below ``limit``. Shared references in a list render once per reference, so ``[[0] * 10_000] *
    10_000`` is small in memory but not as text; a string inside a list renders quoted and escaped,
    so a string of 100,000 control or non-ASCII characters is up to a million characters as text."""
    check_decimal_exponent(value)
    if rendered_weight(value, limit, conversion) > limit:
        raise limit_error("要转换为文本的值超过上限", f"value rendered as text exceeds {limit:,} items and characters")
    return value


def limit_of(sequence: Any) -> int:
    return MAX_SIZE if isinstance(sequence, str) else MAX_ITEMS


def _unit(limit: int) -> str:
    return "characters" if limit == MAX_SIZE else "items"


def check_repeat(length: int, times: int, limit: int = MAX_SIZE) -> None:
    if times > 0 and length * times > limit:
        raise limit_error("序列重复过大", f"sequence repetition would exceed {limit:,} {_unit(limit)}")


def check_length(length: int, limit: int = MAX_SIZE) -> None:
    if length > limit:
        raise limit_error("结果过长", f"result would exceed {limit:,} {_unit(limit)}")


def check_decimal_exponent(value: Any) -> None:
    if isinstance(value, Decimal) and value.is_finite() and abs(value.adjusted()) > MAX_DECIMAL_EXPONENT:
        raise limit_error("数值指数过大", f"decimal exponent beyond ±{MAX_DECIMAL_EXPONENT:,}")


def power_too_large(base: int, exponent: int) -> bool:
    return exponent > 0 and abs(base) > 1 and exponent * base.bit_length() > MAX_INT_BITS


def check_weight(value: Any, limit: int, chinese: str, english: str) -> None:
    """Refuse ``value`` if, written out as a tree (what JSON or ``repr`` produce), it has more than
    ``limit`` items plus characters.

    Shared sub-structures are measured once (memo by ``id``), so ``[[0] * 10_000] * 1_000`` costs
    10,000 steps to find it weighs 10 million; cycles and absurd nesting count as over the limit.
    Numbers weigh their digits: ``[2 ** 9999] * 100_000`` is 300 million characters as text.
    """
    if weight(value, limit) > limit:
        raise limit_error(chinese + "超过上限", f"{english} exceeds {limit:,} items and characters")


def quoted_length(text: str, ascii_only: bool = False) -> int:
    """An upper bound of ``len(repr(text))`` (``ascii(text)`` with ``ascii_only``), without building it:
    printable text gains its quotes and escaped backslashes and quotes; otherwise every character may
    become an escape of up to ten characters, counted exactly by the ``unicode_escape`` codec (asked
    only for text small enough to be worth it)."""
    plain = len(text) + text.count("\\") + text.count("'") + 2
    if text.isprintable() and (not ascii_only or text.isascii()):
        return plain
    if len(text) > MAX_SIZE:
        return 10 * len(text) + 2  # over any limit anyway
    return len(text.encode("unicode_escape")) + text.count("'") + 2


def rendered_weight(value: Any, limit: int, conversion: str = "s") -> int:
    """Characters of ``str(value)`` (``repr``/``ascii`` by ``conversion``), bounded from above; stops
    counting past ``limit``."""
    if isinstance(value, str):
        return len(value) if conversion == "s" else quoted_length(value, conversion == "a")
    return _measure(value, limit, "a" if conversion == "a" else "r", {}, set(), 0)


def weight(value: Any, limit: int, memo: dict[int, int] | None = None, active: set[int] | None = None, depth: int = 0) -> int:
    """Items plus characters of ``value`` written out; stops counting past ``limit``."""
    return _measure(value, limit, None, {} if memo is None else memo, set() if active is None else active, depth)


# Text length of scalars (an upper bound of their str()/repr()/JSON, roughly).
_FIXED_WEIGHTS: Final[dict[type, int]] = {
    float: 25, bool: 6, type(None): 5, date: 11, datetime: 33, timedelta: 27, day_time: 16,
}  # fmt: skip


def _measure(value: Any, limit: int, quoting: str | None, memo: dict[int, int], active: set[int], depth: int) -> int:
    """One walk for both measures. ``quoting`` None: the weight (items plus characters, as JSON would
    write it). ``"r"``/``"a"``: the text ``repr``/``ascii`` makes of a container, whose strings are
    quoted and escaped and whose items are separated. Shared sub-structures are measured once (memo
    by ``id``); cycles and nesting beyond :data:`MAX_NESTING` count as over the limit."""
    kind = type(value)
    if kind is str or isinstance(value, str):
        return len(value) + 1 if quoting is None else quoted_length(value, quoting == "a") + 1
    if kind is int:
        return 2 + value.bit_length() // 3
    fixed = _FIXED_WEIGHTS.get(kind)
    if fixed is not None:
        return fixed
    if isinstance(value, int):
        return 2 + value.bit_length() // 3
    if isinstance(value, Decimal):
        return 12 + len(value.as_tuple().digits)
    if isinstance(value, range) or not isinstance(value, Collection):
        return 1
    key = id(value)
    if key in memo:
        return memo[key]
    if key in active or depth > MAX_NESTING:
        return limit + 1
    active.add(key)
    children: Iterable[Any] = itertools.chain(value.keys(), value.values()) if isinstance(value, Mapping) else value
    separator = 0 if quoting is None else 1
    total = 1 + separator  # brackets
    for child in children:
        # The common children measured inline: a call per item would double the cost of a long list.
        child_kind = type(child)
        if child_kind is str and quoting is None:
            total += len(child) + 1
        elif child_kind is int:
            total += 2 + child.bit_length() // 3 + separator
        else:
            fixed = _FIXED_WEIGHTS.get(child_kind)
            total += separator + (fixed if fixed is not None else _measure(child, limit, quoting, memo, active, depth + 1))
        if total > limit:
            break
    active.discard(key)
    memo[key] = total
    return total
