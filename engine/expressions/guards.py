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

The budget and the tree rewrite live here; the guard functions in engine/expressions/operators.py,
the size measures in engine/expressions/sizes.py, %-formatting in engine/expressions/printf.py.
"""

from __future__ import annotations

import ast
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any, Final

from engine.expressions.bounds import ITEM_BYTES, MAX_ALLOCATED, MAX_ITERATIONS, MAX_SECONDS, MAX_SIZE, limit_error
from engine.expressions.operators import (
    STATIC_GUARDS,
    builds,
    guarded_add,
    guarded_format,
    guarded_getattr,
    guarded_iadd,
    guarded_imul,
    guarded_merge,
    guarded_mod,
    guarded_mul,
    guarded_pow,
    guarded_replace,
    guarded_unpack,
)
from engine.expressions.printf import check_printf_widths, printf_directives, printf_size
from engine.expressions.sizes import (
    check_decimal_exponent,
    check_length,
    check_repeat,
    check_weight,
    guarded_render,
    power_too_large,
    rendered_weight,
    weight,
)

# Re-exported: the checker, functions, templates and tests import the guards from here.
__all__ = [
    "STATIC_GUARDS", "Budget", "Guard", "check_decimal_exponent", "check_length", "check_printf_widths", "check_repeat",
    "check_weight", "guarded_add", "guarded_getattr", "guarded_mod", "guarded_mul", "guarded_pow", "guarded_render",
    "guarded_replace", "guards", "power_too_large", "printf_directives", "printf_size", "rendered_weight", "weight",
]


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
        if builds(function):
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
