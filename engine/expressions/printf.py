"""%-formatting: CPython's template grammar, and an upper bound of the result's length.

``'%(a)s' * 200000 % {'a': s}`` repeats one argument 200,000 times, so checking the template and the
argument is not enough: the size is bounded directive by directive, the way CPython reads the template.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from engine.expressions.bounds import MAX_FORMAT_WIDTH, MAX_SIZE, limit_error
from engine.expressions.sizes import TEXT, check_decimal_exponent, guarded_render

if TYPE_CHECKING:
    from engine.expressions.guards import Budget


def printf_directives(template: str) -> Iterator[tuple[int, int, str | None, int | str | None, int | str | None, str]]:
    """``(start, end, key, width, precision, conversion)`` of each directive, read the way CPython's
    ``PyUnicode_Format`` reads them: ``%%``; ``%(key)`` with balanced parentheses; flags ``-+ #0``;
    width ``*`` or digits; ``.`` precision ``*`` or digits; an ignored ``h``/``l``/``L``; the conversion.

    ``"%%"`` is yielded with conversion ``"%%"``. Iteration stops at a malformed directive (CPython
    raises there, after having built only what came before it).
    """
    n = len(template)
    i = template.find("%")
    while i != -1:
        j = i + 1
        if j < n and template[j] == "%":
            yield i, j + 1, None, None, None, "%%"
            i = template.find("%", j + 1)
            continue
        key = None
        if j < n and template[j] == "(":
            depth, j = 1, j + 1
            begin = j
            while depth and j < n:
                if template[j] == ")":
                    depth -= 1
                elif template[j] == "(":
                    depth += 1
                j += 1
            if depth:
                return  # "incomplete format key"
            key = template[begin : j - 1]
        while j < n and template[j] in "-+ #0":
            j += 1
        width: int | str | None = None
        if j < n and template[j] == "*":
            width, j = "*", j + 1
        elif j < n and template[j].isascii() and template[j].isdigit():
            begin = j
            while j < n and template[j].isascii() and template[j].isdigit():
                j += 1
            width = _digits(template[begin:j])
        precision: int | str | None = None
        if j < n and template[j] == ".":
            j += 1
            if j < n and template[j] == "*":
                precision, j = "*", j + 1
            else:
                begin = j
                while j < n and template[j].isascii() and template[j].isdigit():
                    j += 1
                precision = _digits(template[begin:j]) if j > begin else 0
        if j < n and template[j] in "hlL":
            j += 1
        if j >= n:
            return  # "incomplete format"
        yield i, j + 1, key, width, precision, template[j]
        i = template.find("%", j + 1)


def _digits(text: str) -> int:
    # A width of 10**20 digits would make int() itself costly; anything above the limit is just "too big".
    return int(text) if len(text) <= 6 else MAX_FORMAT_WIDTH * 1000 + 1


def check_printf_widths(template: str) -> None:
    """``'%999999999d' % 1`` allocates a gigabyte; ``'%*d'`` takes the width from data."""
    for _start, _end, _key, width, precision, _conversion in printf_directives(template):
        _check_width(width, precision)


def _check_width(width: int | str | None, precision: int | str | None) -> None:
    for number in (width, precision):
        if number == "*" or (isinstance(number, int) and number > MAX_FORMAT_WIDTH):
            raise limit_error("格式宽度过大", f"%-format widths above {MAX_FORMAT_WIDTH} and '*' are not allowed")


def printf_size(template: str, args: Any, budget: Budget | None = None, limit: int = MAX_SIZE) -> int:
    """An upper bound of ``len(template % args)``; refuses above ``limit`` before anything is built.

    Follows CPython: a tuple gives positional arguments, anything else is the single argument; a
    mapping (not a tuple or str) serves ``%(key)`` directives, each of which then becomes the current
    argument. Each ``%s``/``%r``/``%a`` argument is rendered once (checked first) to learn its length;
    numbers are bounded by their bit length, float range and precision; widths and precisions are at
    most :data:`MAX_FORMAT_WIDTH`.
    """
    if isinstance(args, tuple):
        current, arg_count, index = args, len(args), 0
    else:
        current, arg_count, index = args, -1, -2
    mapping = args if not isinstance(args, tuple | str) and hasattr(type(args), "__getitem__") else None
    lengths: dict[tuple[int, str], int] = {}
    total = position = 0
    for start, end, key, width, precision, conversion in printf_directives(template):
        total += start - position
        position = end
        if budget is not None:
            budget.tick()
        if conversion == "%%":
            total += 1
            continue
        _check_width(width, precision)
        if key is not None:
            if mapping is None:
                return total  # CPython raises "format requires a mapping"
            try:
                current = mapping[key]
            except Exception:  # noqa: BLE001 - CPython raises the same error here
                return total
            arg_count, index = -1, -2
        if index >= arg_count:
            return total  # "not enough arguments for format string"
        value = current if arg_count < 0 else current[index]
        index += 1
        piece = _piece_length(value, conversion, precision, lengths)
        if piece is None:
            return total  # "unsupported format character": CPython raises
        total += max(width if isinstance(width, int) else 0, piece)
        if total > limit:
            raise _printf_limit(limit)
    total += len(template) - position
    if total > limit:
        raise _printf_limit(limit)
    return total


def _printf_limit(limit: int) -> Exception:
    return limit_error("格式化结果过长", f"%-formatting result would exceed {limit:,} characters")


def _piece_length(value: Any, conversion: str, precision: int | str | None, lengths: dict[tuple[int, str], int]) -> int | None:
    digits = precision if isinstance(precision, int) else 0
    if conversion in TEXT:
        key = (id(value), conversion)
        length = lengths.get(key)
        if length is None:
            guarded_render(value, conversion)  # so that the text measured here is itself bounded
            length = lengths[key] = len(TEXT[conversion](value))
        return length if precision is None else min(length, digits)
    if conversion == "c":
        return 1
    if conversion in "diuoxX":
        check_decimal_exponent(value)
        return max(digits, _integer_digits(value)) + 3  # sign and '0x' prefix
    if conversion in "eEfFgG":
        return (digits if precision is not None else 6) + 320  # float('1e308') has 309 digits before the point
    return None


def _integer_digits(value: Any) -> int:
    if isinstance(value, int):
        return value.bit_length() // 3 + 1  # octal digits, the most of any base offered
    if isinstance(value, Decimal) and value.is_finite():
        return max(value.adjusted(), 0) + 1
    if isinstance(value, float):
        return 310
    # Anything else: CPython calls int() on it (or refuses); its text bounds the digits.
    guarded_render(value)
    return len(str(value)) + 1
