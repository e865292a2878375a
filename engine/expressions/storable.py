"""What task data may hold, so that every value a script or expression leaves behind can be saved.

A workflow is saved as JSON after every command (engine/definitions/serialization.py). A value JSON cannot hold
used to surface there, as a 500 after the script had already "succeeded". Instead, right after each
script (and for each value an expression hands back to the workflow) the data is checked and
normalised here:

- ``str``, ``int``, ``float``, ``bool``, ``None``, lists, tuples and dicts are stored as they are;
  ``date``, ``datetime``, ``timedelta`` and ``Decimal`` too (the serializer round-trips them), so
  ``x = today()`` or ``fine = Decimal('200.00')`` just work;
- a ``set``/``frozenset`` becomes a sorted list (sorted so that the stored order, and everything
  computed from it later, does not depend on hashing; mixed types that cannot be compared are
  ordered by type name and text);
- a ``range`` or a dict view (``d.keys()``, ``d.items()``) becomes a list: both are small and
  finite (``range`` is capped at MAX_RANGE) and a list is what they mean as data;
- a generator is **refused**, with a message naming the field: it is a suspended computation, not a
  value. Materialising it after the script has ended would run the script's code outside its
  budget (after its CPU deadline, so it would fail at an arbitrary point) and could be unbounded;
  the designer writes ``list(...)``, ``sum(...)`` or ``any(...)`` instead;
- ``NaN``/``Infinity`` (float or Decimal), complex numbers, integers above MAX_INT_BITS (JSON
  cannot write them back as numbers), dict keys JSON cannot hold, and any other type are refused.

Converting immediately after the script (rather than when saving) keeps a case's behaviour the same
whether or not it was saved and reloaded between two steps.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, MutableMapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import GeneratorType
from typing import Any, Final

from engine.errors import InvalidInput
from engine.expressions.bounds import MAX_INT_BITS, limit_error

_ATOMS: Final = (str, bool, type(None), date, datetime, timedelta)
_KEY_TYPES: Final = (str, int, float, bool, type(None))
_VIEWS: Final = (type({}.keys()), type({}.values()), type({}.items()))


def storable_data(context: MutableMapping[str, Any]) -> None:
    """Normalise task data in place after a script; raise :class:`UnsafeExpression` naming the field."""
    memo: dict[int, Any] = {}
    for key in list(context):
        value = context[key]
        normal = _storable(value, str(key), memo)
        if normal is not value:
            context[key] = normal


def storable_value(value: Any, where: str = "表达式结果") -> Any:
    """A value an expression hands back to the workflow, normalised (copied where it changes)."""
    return _storable(value, where, {})


def non_finite_fields(value: Any, path: str = "") -> Iterator[str]:
    """Dotted paths of NaN/Infinity numbers in submitted data (``items.0.amount``)."""
    if isinstance(value, float | Decimal) and not isinstance(value, bool):
        if not (math.isfinite(value) if isinstance(value, float) else value.is_finite()):
            yield path or "value"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from non_finite_fields(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from non_finite_fields(item, f"{path}.{index}" if path else str(index))


def refuse_non_finite(data: Any) -> None:
    """Submitted data (a form, case facts) with NaN or Infinity is refused with a 422 naming the field.

    JSON bodies may spell ``NaN``/``Infinity`` (Python's parser accepts them), a posted form ``nan``;
    such a number passes ``minimum``/``maximum`` (every comparison with NaN is false), poisons every
    sum and comparison in the procedure, and cannot be written back as JSON."""
    fields = list(non_finite_fields(data))
    if fields:
        raise InvalidInput(
            "数值必须是有限数，不能是 NaN 或 Infinity：" + "、".join(fields) + " (numbers must be finite, not NaN or Infinity)",
            details=[{"field": field, "label": field, "message": "必须是有限数值 (must be a finite number)"} for field in fields],
        )


def _storable(value: Any, path: str, memo: dict[int, Any]) -> Any:
    kind = type(value)
    if kind is int:
        if value.bit_length() > MAX_INT_BITS:
            raise _refused(path, "整数过大", f"an integer above {MAX_INT_BITS:,} bits")
        return value
    if isinstance(value, _ATOMS):
        return value
    if kind is float:
        if not math.isfinite(value):
            raise _refused(path, f"非有限数值 {value}", f"the non-finite number {value}")
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise _refused(path, f"非有限数值 {value}", f"the non-finite number {value}")
        return value
    if isinstance(value, int):  # an int subclass other than bool
        return _storable(int(value), path, memo)
    key = id(value)
    if key in memo:
        return memo[key]
    if isinstance(value, list | tuple):
        items = [_storable(item, f"{path}.{index}", memo) for index, item in enumerate(value)]
        changed = any(new is not old for new, old in zip(items, value, strict=True))
        result: Any = (type(value)(items) if isinstance(value, tuple) else items) if changed else value
    elif isinstance(value, dict):
        result = value
        entries = []
        for item_key, item in value.items():
            if not isinstance(item_key, _KEY_TYPES):
                raise _refused(f"{path}.{item_key!r}", f"类型为 {type(item_key).__name__} 的字典键",
                               f"a dict key of type {type(item_key).__name__}")
            entries.append((item_key, item, _storable(item, f"{path}.{item_key}", memo)))
        if any(new is not old for _, old, new in entries):
            result = {item_key: new for item_key, _, new in entries}
    elif isinstance(value, set | frozenset):
        items = [_storable(item, f"{path}.*", memo) for item in value]
        result = _sorted(items)
    elif isinstance(value, (range, *_VIEWS)):
        result = [_storable(item, f"{path}.*", memo) for item in value]
    elif isinstance(value, GeneratorType):
        raise _refused(path, "生成器（请用 list(...)、sum(...) 或 any(...) 求出结果）",
                       "a generator (use list(...), sum(...) or any(...) to compute its result)")
    else:
        raise _refused(path, f"类型为 {kind.__name__} 的值", f"a value of type {kind.__name__}")
    memo[key] = result
    return result


def _sorted(items: list[Any]) -> list[Any]:
    try:
        return sorted(items)
    except TypeError:  # mixed types: a stable order all the same
        return sorted(items, key=lambda item: (type(item).__name__, repr(item)))


def _refused(path: str, chinese: str, english: str) -> Exception:
    error = limit_error(f"任务数据字段 '{path}' 含有{chinese}，无法保存",
                        f"task data field '{path}' holds {english}, which cannot be stored")
    error.details = {"reason": "unstorable", "field": path, "value": english}
    return error
