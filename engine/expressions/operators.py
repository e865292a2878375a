"""The guard functions the rewritten code calls: each refuses, before computing, a result above the
limits (engine/expressions/bounds.py), then computes it as Python would."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Collection, Iterable, Mapping, Sized
from datetime import date
from datetime import time as day_time
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from engine.errors import UnsafeExpression
from engine.expressions.bounds import (
    ALLOWED_ATTRIBUTES,
    MAX_INT_BITS,
    MAX_ITEMS,
    MAX_STRFTIME_CHARS,
    STR_ATTRIBUTES,
    allowed_attributes,
    limit_error,
)
from engine.expressions.printf import printf_size
from engine.expressions.sizes import TEXT, check_length, check_repeat, guarded_render, limit_of, power_too_large

if TYPE_CHECKING:
    from engine.expressions.guards import Budget


def guarded_getattr(obj: Any, name: str) -> Any:
    names = allowed_attributes(obj)
    if names is not None and name in names:
        if name in _STR_GROWING and isinstance(obj, str):
            return functools.partial(_STR_GROWING[name], obj)
        if name == "strftime":
            return functools.partial(guarded_strftime, obj)
        return getattr(obj, name)
    if name.startswith("_") or name not in ALLOWED_ATTRIBUTES:  # unreachable after the static check
        raise UnsafeExpression(f"不允许的属性 '{name}' (attribute '{name}' is not allowed)")
    raise AttributeError(f"'{type(obj).__name__}' object has no attribute '{name}' available in expressions")


_SEQUENCES: Final = (str, list, tuple)


def guarded_mul(left: Any, right: Any) -> Any:
    if isinstance(left, _SEQUENCES) and isinstance(right, int):
        check_repeat(len(left), right, limit_of(left))
    elif isinstance(right, _SEQUENCES) and isinstance(left, int):
        check_repeat(len(right), left, limit_of(right))
    elif isinstance(left, int) and isinstance(right, int):
        if left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise limit_error("乘积过大", f"product would exceed {MAX_INT_BITS:,} bits")
    return left * right


def guarded_imul(left: Any, right: Any) -> Any:
    if isinstance(left, list) and isinstance(right, int):
        check_repeat(len(left), right, MAX_ITEMS)
        left *= right  # in place, like the original statement
        return left
    return guarded_mul(left, right)


def guarded_pow(base: Any, exponent: Any) -> Any:
    if isinstance(base, int) and isinstance(exponent, int) and power_too_large(base, exponent):
        raise limit_error("乘方结果过大", f"power result would exceed {MAX_INT_BITS:,} bits")
    return base**exponent


def guarded_add(left: Any, right: Any) -> Any:
    if isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
        check_length(len(left) + len(right), limit_of(left))
    return left + right


def guarded_iadd(left: Any, right: Any) -> Any:
    if isinstance(left, list):
        if isinstance(right, Collection):
            check_length(len(left) + len(right), MAX_ITEMS)
        left += right  # in place: other names bound to the list see the change, as in plain Python
        return left
    return guarded_add(left, right)


def guarded_mod(left: Any, right: Any, budget: Budget | None = None) -> Any:
    if isinstance(left, str):
        printf_size(left, right, budget)  # refuses before CPython builds anything
    return left % right


def guarded_format(value: Any, spec: str, conversion: int) -> str:
    if conversion != -1:
        kind = chr(conversion)
        value = TEXT[kind](guarded_render(value, kind))
    elif isinstance(value, date | day_time) and len(spec) > MAX_STRFTIME_CHARS:
        raise _strftime_limit()
    return format(guarded_render(value), spec)


def guarded_strftime(moment: date, template: str) -> str:
    # Called from this module's frame so CPython's internal ``import time`` finds real builtins.
    if isinstance(template, str) and len(template) > MAX_STRFTIME_CHARS:
        raise _strftime_limit()
    return moment.strftime(template)


def _strftime_limit() -> Exception:
    return limit_error("日期格式过长", f"date format strings are limited to {MAX_STRFTIME_CHARS:,} characters")


def guarded_replace(text: str, old: str, new: str, count: int = -1) -> str:
    if isinstance(old, str) and isinstance(new, str) and len(new) > len(old):
        hits = text.count(old) if old else len(text) + 1
        if isinstance(count, int) and count >= 0:
            hits = min(hits, count)
        check_length(len(text) + hits * (len(new) - len(old)))
    return text.replace(old, new, count)


def guarded_join(separator: str, items: Iterable[Any]) -> str:
    items = list(items) if not isinstance(items, list | tuple) else items
    text_length = sum(len(item) for item in items if isinstance(item, str))
    check_length(text_length + len(separator) * max(len(items) - 1, 0))
    return separator.join(items)


_STR_GROWING: Final[dict[str, Callable[..., str]]] = {"replace": guarded_replace, "join": guarded_join}
assert set(_STR_GROWING) <= STR_ATTRIBUTES

# The callables whose result is a newly built value (charged to the budget); others return a scalar
# or a value that already exists (``max(xs)``, ``d.get(k)``), which costs no memory.
_BUILDERS: Final = frozenset({list, tuple, set, dict, sorted, Decimal})


def builds(function: Any) -> bool:
    if isinstance(function, functools.partial):  # str.join/str.replace/strftime through their guards
        return True
    if isinstance(getattr(function, "__self__", None), str):  # s.upper(), s.split()...
        return True
    try:
        return function in _BUILDERS or getattr(function, "__name__", None) == "_safe_str"
    except TypeError:  # an unhashable callable: nothing zhifa offers
        return False

_UNPACKED: Final[dict[str, Callable[[Iterable[Any]], Any]]] = {"list": list, "tuple": tuple, "set": set}


def guarded_unpack(kind: str, *parts: Any) -> Any:
    """``[*a, *b]`` / ``(*a, *b)`` / ``{*a, *b}`` / ``f(*a, *b)``: the items are counted before anything
    is built; an iterator (a generator expression) is drawn only up to the limit."""
    total = 0
    pieces: list[Any] = []
    for part in parts:
        if not isinstance(part, Sized):
            part = list(itertools.islice(part, MAX_ITEMS - total + 1))  # TypeError for a non-iterable, as in Python
        total += len(part)
        if total > MAX_ITEMS:
            raise limit_error("解包结果过大", f"unpacking would build more than {MAX_ITEMS:,} items")
        pieces.append(part)
    return _UNPACKED[kind](itertools.chain.from_iterable(pieces))


def guarded_merge(*mappings: Any) -> dict[Any, Any]:
    """``{**a, 'k': v, **b}``: the entries are counted before the dict is built."""
    total = 0
    for mapping in mappings:
        if not isinstance(mapping, Mapping):
            raise TypeError(f"'{type(mapping).__name__}' object is not a mapping")
        total += len(mapping)
    if total > MAX_ITEMS:
        raise limit_error("解包结果过大", f"unpacking would build more than {MAX_ITEMS:,} items")
    merged: dict[Any, Any] = {}
    for mapping in mappings:
        merged.update(mapping)
    return merged


STATIC_GUARDS: Final[Mapping[str, Callable[..., Any]]] = MappingProxyType(
    {"_zf_getattr": guarded_getattr}
)
