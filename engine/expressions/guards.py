"""Run-time guards: what the static check cannot decide, because it depends on the data.

The checked tree is rewritten (:class:`Guard`) so that every operation whose cost depends on run-time
values calls a guard first, and every guard draws from one per-evaluation :class:`Budget`:

- ``*``, ``**``, ``+``, ``%`` refuse results above :data:`MAX_SIZE` characters, :data:`MAX_ITEMS` items or
  :data:`MAX_INT_BITS` bits *before* computing them. For ``str % args`` the size is bounded directive by
  directive (:func:`printf_size`), the way CPython reads the template: ``('%(a)s' * 200000) % {'a': s}``
  repeats one argument 200,000 times, so checking the template and the argument is not enough.
- unpacking in displays and calls (``[*a, *a]``, ``{**d, **e}``, ``f(*a, *a)``) is summed first;
- an f-string counts the text of its parts as they are formatted and stops past :data:`MAX_SIZE`;
- ``strftime`` and date format specs are refused above :data:`MAX_STRFTIME_CHARS`;
- every loop step, call and guarded operation ticks the budget, which refuses more than
  :data:`MAX_ITERATIONS` loop steps and more than :data:`MAX_SECONDS` seconds of this thread's CPU.
  Every single operation is bounded by the size limits, so an evaluation stops within about
  :data:`MAX_SECONDS` plus one operation, however the operations are chained;
- the values an evaluation builds and still holds are counted together against
  :data:`MAX_ALLOCATED`, so that many values each within the limits (``x1 = l * 1``, ``x2 = l * 1``...)
  cannot add up to gigabytes either (see :class:`Budget`).
"""

from __future__ import annotations

import ast
import functools
import itertools
import sys
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sized
from datetime import date, datetime, timedelta
from datetime import time as day_time
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final

from engine.errors import UnsafeExpression
from engine.expressions.bounds import (
    ALLOWED_ATTRIBUTES,
    ITEM_BYTES,
    MAX_ALLOCATED,
    MAX_DECIMAL_EXPONENT,
    MAX_FORMAT_WIDTH,
    MAX_INT_BITS,
    MAX_ITEMS,
    MAX_ITERATIONS,
    MAX_NESTING,
    MAX_SECONDS,
    MAX_SIZE,
    MAX_STRFTIME_CHARS,
    STR_ATTRIBUTES,
    allowed_attributes,
    limit_error,
)

_CHECK_EVERY: Final = 16  # ticks between two reads of the CPU clock (a read costs ~0.5 µs)
_TRACK_FROM: Final = 256  # bytes; smaller values are not tracked (at most MAX_ITERATIONS x 256 bytes of them)


def _references(tracked: dict[int, tuple[Any, int]], key: int) -> int:
    """``sys.getrefcount`` of a tracked value, always read the same way (see :data:`_UNREFERENCED`)."""
    value, _size = tracked[key]
    return sys.getrefcount(value)


def _references_when_unreferenced() -> int:
    """What :func:`_references` says of a value nothing but the tracking refers to."""
    return _references({0: (object(), 0)}, 0)


_UNREFERENCED: Final = _references_when_unreferenced()


# ---------------------------------------------------------------------------------------------------
# The per-evaluation budget
# ---------------------------------------------------------------------------------------------------
class Budget:
    """One evaluation's allowance of loop steps, CPU time and values built, shared by all its loops,
    calls and guarded operations; also the stack of f-strings being built (their running lengths).

    The allowance of values built (:data:`MAX_ALLOCATED`) bounds the memory of the whole evaluation,
    not only of each value: a script keeping 100 copies of a list that is within MAX_ITEMS, or a
    display of 500 of them, is refused once the copies *still alive* add up. Tracked: every result of
    a guarded operation, slices, f-string parts, and the results of the functions and ``str`` methods
    that build a new value (``list()``, ``sorted()``, ``s.upper()``...); values read from task data or
    returned as they are (``d.get(k)``, ``max(xs)``) are not. When the tracked total passes the limit,
    the values nothing else refers to any more (temporaries, rebound names) are dropped from the count
    (:meth:`_sweep`); only if the live ones still pass it is the evaluation refused. Garbage therefore
    never counts (a loop may build and drop 1 MB strings until its time runs out), and at most about
    MAX_ALLOCATED bytes are held at any moment, live or waiting for the next sweep.
    """

    __slots__ = ("left", "iterations", "deadline", "seconds", "pending", "texts", "allocated", "tracked")

    def __init__(self, seconds: float = MAX_SECONDS, iterations: int = MAX_ITERATIONS) -> None:
        self.left = self.iterations = iterations
        self.seconds = seconds
        self.deadline = time.thread_time() + seconds
        self.pending = 0
        self.texts: list[int] = []
        self.allocated = 0
        self.tracked: dict[int, tuple[Any, int]] = {}

    # -- time
    def tick(self, cost: int = 1) -> None:
        """Count ``cost`` units of work; read the CPU clock every :data:`_CHECK_EVERY` units."""
        self.pending += cost
        if self.pending >= _CHECK_EVERY:
            self.pending = 0
            self.check_time()

    def check_time(self) -> None:
        if time.thread_time() > self.deadline:
            raise limit_error("执行时间超过上限", f"evaluation ran longer than {self.seconds} seconds of CPU time")

    def charge(self, result: Any) -> Any:
        """Count a newly built value against :data:`MAX_ALLOCATED`; large ones also cost time (a
        1 MB string is 16 ticks, so the clock is read right after it)."""
        if isinstance(result, str):
            self.track(result, sys.getsizeof(result))
        elif isinstance(result, list | tuple | dict | set | frozenset):
            self.track(result, len(result) * ITEM_BYTES)
        elif isinstance(result, Decimal):
            self.track(result, len(result.as_tuple().digits))
        return result

    def track(self, value: Any, size: int) -> None:
        """``value`` (now about ``size`` bytes) was built or grown by this evaluation."""
        if size < _TRACK_FROM:
            return  # small values: their number is bounded by the loop budget
        key = id(value)
        known = self.tracked.get(key)
        self.allocated += size - (known[1] if known is not None else 0)
        self.tracked[key] = (value, size)  # held, so its id cannot be reused while tracked
        if self.allocated > MAX_ALLOCATED:
            self._sweep()
            if self.allocated > MAX_ALLOCATED:
                raise limit_error("同时保留的数据总量超过上限",
                                  f"one evaluation may keep at most {MAX_ALLOCATED // 2**20} MB of values it built")
        self.tick(size >> 18)

    def _sweep(self) -> None:
        """Forget the tracked values only this budget still refers to, and recount the others. A value
        freed this way may free others it contained: repeat while that changes the verdict."""
        while True:
            live = 0
            removed = False
            for key in list(self.tracked):
                if _references(self.tracked, key) <= _UNREFERENCED:
                    del self.tracked[key]  # freed here, with whatever only it referred to
                    removed = True
                else:
                    live += self.tracked[key][1]
            self.allocated = live
            if not removed or live <= MAX_ALLOCATED:
                return

    # -- loops and calls
    def iterate(self, iterable: Iterable[Any]) -> Iterator[Any]:
        for item in iterable:
            self.left -= 1
            if self.left < 0:
                raise limit_error("循环次数超过上限", f"more than {self.iterations:,} loop steps in one evaluation")
            self.tick()
            yield item

    def call(self, function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        self.tick()
        result = function(*args, **kwargs)
        if _builds(function):
            self.charge(result)
        return result

    def slice(self, value: Any, lower: Any, upper: Any, step: Any) -> Any:
        """``value[lower:upper:step]``: a new list or string (unless it is ``value`` itself)."""
        self.tick()
        return self.fresh(value[lower:upper:step], value)

    def fresh(self, result: Any, *operands: Any) -> Any:
        """Charge ``result`` unless the operation handed back one of its operands (``s * 1``, ``s + ''``,
        ``f'{s}'``): a value that already existed costs no memory."""
        for operand in operands:
            if result is operand:
                return result
        return self.charge(result)

    # -- operators
    def mul(self, left: Any, right: Any) -> Any:
        self.tick()
        return self.fresh(guarded_mul(left, right), left, right)

    def imul(self, left: Any, right: Any) -> Any:
        self.tick()
        return self.charge(guarded_imul(left, right))  # in place: the list is tracked at its new size

    def pow(self, base: Any, exponent: Any) -> Any:
        self.tick()
        return guarded_pow(base, exponent)

    def add(self, left: Any, right: Any) -> Any:
        self.tick()
        return self.fresh(guarded_add(left, right), left, right)

    def iadd(self, left: Any, right: Any) -> Any:
        self.tick()
        return self.charge(guarded_iadd(left, right))  # rows += [row]: tracked at its new size

    def mod(self, left: Any, right: Any) -> Any:
        self.tick()
        return self.fresh(guarded_mod(left, right, self), left)

    # -- displays with unpacking
    def unpack(self, kind: str, *parts: Any) -> Any:
        self.tick()
        return self.charge(guarded_unpack(kind, *parts))

    def merge(self, *mappings: Any) -> dict[Any, Any]:
        self.tick()
        return self.charge(guarded_merge(*mappings))

    # -- f-strings: f'{a}{b}' runs fstart(), format(a), format(b), then fend(joined)
    def fstart(self, constant_chars: int) -> str:
        self.tick()
        self.texts.append(constant_chars)
        return ""

    def format(self, value: Any, spec: str, conversion: int) -> str:
        self.tick()
        text = guarded_format(value, spec, conversion)
        if self.texts:
            self.texts[-1] += len(text)
            if self.texts[-1] > MAX_SIZE:
                raise limit_error("格式化字符串 f-string 的结果过长", f"f-string result would exceed {MAX_SIZE:,} characters")
        return self.fresh(text, value)

    def fend(self, text: str) -> str:
        if self.texts:
            self.texts.pop()
        return text

    def names(self) -> dict[str, Any]:
        """The guard names the rewritten code calls; ``__builtins__`` emptied."""
        return {
            **STATIC_GUARDS,
            "_zf_iter": self.iterate,
            "_zf_call": self.call,
            "_zf_mul": self.mul,
            "_zf_imul": self.imul,
            "_zf_pow": self.pow,
            "_zf_add": self.add,
            "_zf_iadd": self.iadd,
            "_zf_mod": self.mod,
            "_zf_unpack": self.unpack,
            "_zf_slice": self.slice,
            "_zf_merge": self.merge,
            "_zf_fstart": self.fstart,
            "_zf_format": self.format,
            "_zf_fend": self.fend,
            "__builtins__": {},
        }


def guards() -> dict[str, Any]:
    """Names injected into every evaluation; a fresh budget each time."""
    return Budget().names()


# ---------------------------------------------------------------------------------------------------
# The tree rewrite
# ---------------------------------------------------------------------------------------------------
class Guard(ast.NodeTransformer):
    """Route the operations whose cost depends on run-time values through the guard functions.

    The guard names start with ``_``, which checked source can never mention, so an expression can
    neither call nor shadow them. ``x += y`` on a subscript evaluates the target expression twice
    (``d[k] = _zf_iadd(d[k], y)``); checked code has no side effects that could notice.
    """

    _BINARY: Final = {ast.Mult: "_zf_mul", ast.Pow: "_zf_pow", ast.Add: "_zf_add", ast.Mod: "_zf_mod"}
    _IN_PLACE: Final = {ast.Mult: "_zf_imul", ast.Pow: "_zf_pow", ast.Add: "_zf_iadd", ast.Mod: "_zf_mod"}

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        guard = self._BINARY.get(type(node.op))
        return node if guard is None else ast.copy_location(_call(guard, node.left, node.right), node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        guard = self._IN_PLACE.get(type(node.op))
        if guard is None:
            return node
        target = node.target
        if isinstance(target, ast.Name):
            current: ast.expr = ast.Name(id=target.id, ctx=ast.Load())
        else:
            assert isinstance(target, ast.Subscript)  # enforced by the checker
            current = ast.Subscript(value=target.value, slice=target.slice, ctx=ast.Load())
        assign = ast.Assign(targets=[target], value=_call(guard, current, node.value))
        return ast.copy_location(assign, node)

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        return ast.copy_location(_call("_zf_getattr", node.value, ast.Constant(node.attr)), node)

    def visit_For(self, node: ast.For) -> ast.AST:
        self.generic_visit(node)
        node.iter = ast.copy_location(_call("_zf_iter", node.iter), node.iter)
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        args: list[ast.expr] = node.args
        if any(isinstance(arg, ast.Starred) for arg in args):
            # f(*a, *a, ...) builds one tuple of all the arguments: sized first, like a display
            args = [ast.Starred(value=_unpacking("tuple", args), ctx=ast.Load())]
        node.args = [node.func, *args]
        node.func = ast.Name(id="_zf_call", ctx=ast.Load())
        return node

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        self.generic_visit(node)
        part = node.slice
        if isinstance(node.ctx, ast.Load) and isinstance(part, ast.Slice):  # a slice is a new list or string
            bounds = [bound if bound is not None else ast.Constant(None) for bound in (part.lower, part.upper, part.step)]
            return ast.copy_location(_call("_zf_slice", node.value, *bounds), node)
        return node

    def visit_comprehension(self, node: ast.comprehension) -> ast.AST:
        self.generic_visit(node)
        node.iter = ast.copy_location(_call("_zf_iter", node.iter), node.iter)
        return node

    def _display(self, node: ast.List | ast.Tuple | ast.Set, kind: str) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node, ast.List | ast.Tuple) and not isinstance(node.ctx, ast.Load):
            return node  # an assignment target: unpacking *into* names builds nothing new
        if not any(isinstance(element, ast.Starred) for element in node.elts):
            return node
        return ast.copy_location(_unpacking(kind, node.elts), node)

    def visit_List(self, node: ast.List) -> ast.AST:
        return self._display(node, "list")

    def visit_Tuple(self, node: ast.Tuple) -> ast.AST:
        return self._display(node, "tuple")

    def visit_Set(self, node: ast.Set) -> ast.AST:
        return self._display(node, "set")

    def visit_Dict(self, node: ast.Dict) -> ast.AST:
        self.generic_visit(node)
        if all(key is not None for key in node.keys):
            return node
        parts: list[ast.expr] = []
        keys: list[ast.expr | None] = []
        values: list[ast.expr] = []
        for key, value in zip(node.keys, node.values, strict=True):
            if key is None:
                if keys:
                    parts.append(ast.Dict(keys=keys, values=values))
                    keys, values = [], []
                parts.append(value)
            else:
                keys.append(key)
                values.append(value)
        if keys:
            parts.append(ast.Dict(keys=keys, values=values))
        return ast.copy_location(_call("_zf_merge", *parts), node)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        # f'{v!r:spec}' becomes f'{_zf_format(v, "spec", ord("r"))}': the guard checks the size, and
        # formatting runs in a zhifa frame, where date.__format__ can import ``time`` for strftime
        # (CPython imports through the *calling frame's* builtins, which are empty in checked code).
        self.generic_visit(node)
        spec = node.format_spec
        spec_text = "".join(part.value for part in spec.values) if isinstance(spec, ast.JoinedStr) else ""
        value = _call("_zf_format", node.value, ast.Constant(spec_text), ast.Constant(node.conversion))
        return ast.copy_location(
            ast.FormattedValue(value=ast.copy_location(value, node.value), conversion=-1, format_spec=None),
            node,
        )

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        # f'{a}{b}' becomes _zf_fend(f'{_zf_fstart(n)}{_zf_format(a)}{_zf_format(b)}'): the parts are
        # counted as they are formatted, so 600 copies of a large value stop at MAX_SIZE, not at 760 MB.
        self.generic_visit(node)
        if not any(isinstance(value, ast.FormattedValue) for value in node.values):
            return node
        constant = sum(len(value.value) for value in node.values if isinstance(value, ast.Constant))
        start = ast.FormattedValue(value=_call("_zf_fstart", ast.Constant(constant)), conversion=-1, format_spec=None)
        node.values = [start, *node.values]
        return ast.copy_location(_call("_zf_fend", node), node)


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=list(args), keywords=[])


def _unpacking(kind: str, elements: list[ast.expr]) -> ast.Call:
    """``[a, *b, c]`` -> ``_zf_unpack("list", (a,), b, (c,))``: every argument is an iterable to chain,
    evaluated in the original order."""
    parts: list[ast.expr] = []
    plain: list[ast.expr] = []
    for element in elements:
        if isinstance(element, ast.Starred):
            if plain:
                parts.append(ast.Tuple(elts=plain, ctx=ast.Load()))
                plain = []
            parts.append(element.value)
        else:
            plain.append(element)
    if plain:
        parts.append(ast.Tuple(elts=plain, ctx=ast.Load()))
    return _call("_zf_unpack", ast.Constant(kind), *parts)


# ---------------------------------------------------------------------------------------------------
# The guard functions
# ---------------------------------------------------------------------------------------------------
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
        check_repeat(len(left), right, _limit_of(left))
    elif isinstance(right, _SEQUENCES) and isinstance(left, int):
        check_repeat(len(right), left, _limit_of(right))
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
        check_length(len(left) + len(right), _limit_of(left))
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


def guarded_render(value: Any, conversion: str = "s", limit: int = MAX_SIZE) -> Any:
    """Before a value becomes text (``str``, ``repr`` or ``ascii`` by ``conversion``): the text must stay
    below ``limit``. Shared references in a list render once per reference, so ``[[0] * 10_000] *
    10_000`` is small in memory but not as text; a string inside a list renders quoted and escaped,
    so a string of 100,000 control or non-ASCII characters is up to a million characters as text."""
    check_decimal_exponent(value)
    if rendered_weight(value, limit, conversion) > limit:
        raise limit_error("要转换为文本的值超过上限", f"value rendered as text exceeds {limit:,} items and characters")
    return value


def guarded_format(value: Any, spec: str, conversion: int) -> str:
    if conversion != -1:
        kind = chr(conversion)
        value = _TEXT[kind](guarded_render(value, kind))
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


def _builds(function: Any) -> bool:
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


# ---------------------------------------------------------------------------------------------------
# %-formatting: CPython's template grammar, and an upper bound of the result
# ---------------------------------------------------------------------------------------------------
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


_TEXT: Final[dict[str, Callable[[Any], str]]] = {"s": str, "r": repr, "a": ascii}


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
    if conversion in _TEXT:
        key = (id(value), conversion)
        length = lengths.get(key)
        if length is None:
            guarded_render(value, conversion)  # so that the text measured here is itself bounded
            length = lengths[key] = len(_TEXT[conversion](value))
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


# ---------------------------------------------------------------------------------------------------
# Sizes
# ---------------------------------------------------------------------------------------------------
def _limit_of(sequence: Any) -> int:
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
    ascii_only = conversion == "a"
    if isinstance(value, str):
        return len(value) if conversion == "s" else quoted_length(value, ascii_only)
    return _rendered(value, limit, ascii_only, {}, set(), 0)


def _rendered(value: Any, limit: int, ascii_only: bool, memo: dict[int, int], active: set[int], depth: int) -> int:
    if isinstance(value, str):
        return quoted_length(value, ascii_only) + 1  # inside a container: quoted, and a separator
    if not isinstance(value, Collection) or isinstance(value, range):
        return weight(value, limit)
    key = id(value)
    if key in memo:
        return memo[key]
    if key in active or depth > MAX_NESTING:
        return limit + 1
    active.add(key)
    children: Iterable[Any] = itertools.chain(value.keys(), value.values()) if isinstance(value, Mapping) else value
    total = 2
    for child in children:
        total += 1 + _rendered(child, limit, ascii_only, memo, active, depth + 1)
        if total > limit:
            break
    active.discard(key)
    memo[key] = total
    return total


# Text length of scalars (an upper bound of their str()/repr()/JSON, roughly).
_FIXED_WEIGHTS: Final[dict[type, int]] = {
    float: 25, bool: 6, type(None): 5, date: 11, datetime: 33, timedelta: 27, day_time: 16,
}  # fmt: skip


def weight(value: Any, limit: int, memo: dict[int, int] | None = None, active: set[int] | None = None, depth: int = 0) -> int:
    """Items plus characters of ``value`` written out; stops counting past ``limit``."""
    kind = type(value)
    if kind is str:
        return len(value) + 1
    if kind is int:
        return 2 + value.bit_length() // 3
    fixed = _FIXED_WEIGHTS.get(kind)
    if fixed is not None:
        return fixed
    if isinstance(value, str):
        return len(value) + 1
    if isinstance(value, int):
        return 2 + value.bit_length() // 3
    if isinstance(value, Decimal):
        return 12 + len(value.as_tuple().digits)
    if isinstance(value, range) or not isinstance(value, Collection):
        return 1
    memo = {} if memo is None else memo
    active = set() if active is None else active
    key = id(value)
    if key in memo:
        return memo[key]
    if key in active or depth > MAX_NESTING:
        return limit + 1
    active.add(key)
    children: Iterable[Any] = itertools.chain(value.keys(), value.values()) if isinstance(value, Mapping) else value
    total = 1
    for child in children:
        child_kind = type(child)
        if child_kind is str:
            total += len(child) + 1
        elif child_kind is int:
            total += 2 + child.bit_length() // 3
        else:
            fixed = _FIXED_WEIGHTS.get(child_kind)
            total += fixed if fixed is not None else weight(child, limit, memo, active, depth + 1)
        if total > limit:
            break
    active.discard(key)
    memo[key] = total
    return total
