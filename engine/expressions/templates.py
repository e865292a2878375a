"""Task instructions (``instructionsForEndUser``): a designer's Jinja template, rendered with case data.

The template runs in :class:`InstructionsEnvironment`, Jinja's ``ImmutableSandboxedEnvironment``
narrowed to what instructions need and bounded like the expression evaluator:

- attributes: only those the expression evaluator allows per type (``str.upper``, ``dict.items``,
  ``date.year``...), ``str.replace``/``str.join``/``strftime`` through the same size guards; no
  ``str.format`` (its width fields allocate), nothing on numbers (``(2).to_bytes(10**9)``);
- operators ``+ - * / // % **`` are intercepted (:meth:`~InstructionsEnvironment.call_binop`) and go
  through the expression guards: ``9 ** (9 ** 8)``, ``'x' * n``, ``'%999999999s' % 1`` are refused
  before they are computed (and never constant-folded at compile time); ``~`` is guarded too;
- filters: a short allow-list (:data:`FILTERS`), ``format``/``join``/``replace``/``round``/``int``/
  ``sum``/``string`` guarded; no ``center``/``indent``/``batch``/``wordwrap``/``tojson``...; globals: only a
  ``range`` capped at :data:`MAX_RENDER_RANGE`; no ``include``/``import``/``extends``;
- every loop step, call, attribute read, operator and piece of output (also text captured by
  ``{% set %}``/macros/filter blocks) draws from one per-render :class:`~.guards.Budget`: at most
  :data:`MAX_RENDER_LOOP_STEPS` loop steps, :data:`MAX_RENDER_SECONDS` of CPU and
  :data:`MAX_RENDER_CHARS` characters/items produced; the rendered text is cut off as an error past
  :data:`MAX_OUTPUT_CHARS` (rendered with ``generate()``, so it stops there).

Any failure raises (:class:`~engine.errors.UnsafeExpression` for a limit, Jinja's or Python's own
error otherwise); the web layer shows the officer a notice instead of the instructions.
The deploy-time lint (syntax, unknown filters, template references and obviously unbounded constructs,
each with its line) is engine/expressions/instructions_check.py.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any, Final

from jinja2 import ChainableUndefined, nodes, pass_context
from jinja2.defaults import DEFAULT_FILTERS
from jinja2.runtime import BlockReference, Context, LoopContext, Macro, TemplateReference, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, modifies_known_mutable
from jinja2.utils import _PassArg
from jinja2.visitor import NodeTransformer

from engine.expressions.bounds import MAX_INT_BITS, MAX_ROUND_DIGITS, MAX_SIZE, allowed_attributes, limit_error
from engine.expressions.guards import (
    Budget,
    check_decimal_exponent,
    guarded_add,
    guarded_getattr,
    guarded_mod,
    guarded_mul,
    guarded_pow,
    guarded_render,
    guarded_replace,
)

MAX_TEMPLATE_CHARS: Final = 20_000  # the template's source
MAX_OUTPUT_CHARS: Final = 100_000  # the rendered instructions
MAX_RENDER_CHARS: Final = 1_000_000  # characters and items produced in one render, all steps together
MAX_RENDER_RANGE: Final = 1_000
MAX_RENDER_LOOP_STEPS: Final = 10_000  # per render, all loops together
MAX_RENDER_SECONDS: Final = 1.0  # CPU seconds per render (a page view)

_JINJA_OBJECTS: Final = (LoopContext, Macro, BlockReference, TemplateReference, Undefined)


class _RenderBudget(Budget):
    __slots__ = ("produced",)

    def __init__(self) -> None:
        super().__init__(seconds=MAX_RENDER_SECONDS, iterations=MAX_RENDER_LOOP_STEPS)
        self.produced = 0

    def produce(self, size: int) -> None:
        self.produced += size
        if self.produced > MAX_RENDER_CHARS:
            raise limit_error("办理说明生成的内容过多", f"rendering produced more than {MAX_RENDER_CHARS:,} characters and items")
        self.tick(1 + (size >> 16))


_active: ContextVar[_RenderBudget | None] = ContextVar("zhifa_render_budget", default=None)


def _tick() -> _RenderBudget | None:
    budget = _active.get()
    if budget is not None:
        budget.tick()
    return budget


def _charge(result: Any) -> Any:
    if isinstance(result, str | list | tuple):
        budget = _active.get()
        if budget is not None:
            budget.produce(len(result))
    return result


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if not isinstance(value, Undefined):
        guarded_render(value)
    return str(value)


# ---------------------------------------------------------------------------------------------------
# Filters and globals
# ---------------------------------------------------------------------------------------------------
def _bounded(original: Callable[..., Any], before: Callable[..., None] | None = None) -> Callable[..., Any]:
    """A builtin filter that ticks the budget, may check its arguments first, and is charged for its
    result. Marked ``pass_context``, so the compiler never runs it at compile time (outside a budget)."""
    pass_arg = _PassArg.from_obj(original)

    @pass_context
    @functools.wraps(original)
    def run(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        _tick()
        if before is not None:
            before(value, *args, **kwargs)
        if pass_arg is _PassArg.context:
            result = original(context, value, *args, **kwargs)
        elif pass_arg is _PassArg.eval_context:
            result = original(context.eval_ctx, value, *args, **kwargs)
        elif pass_arg is _PassArg.environment:
            result = original(context.environment, value, *args, **kwargs)
        else:
            result = original(value, *args, **kwargs)
        return _charge(result)

    return run


def _round_digits(value: Any, precision: int = 0, *_args: Any, **_kwargs: Any) -> None:
    if not isinstance(precision, int) or abs(precision) > MAX_ROUND_DIGITS:
        raise limit_error("取整位数过大", f"round digits are limited to ±{MAX_ROUND_DIGITS}")
    check_decimal_exponent(value)


def _sum_start(value: Any, attribute: Any = None, start: Any = 0) -> None:
    if not isinstance(start, int | float):
        raise TypeError("sum 只能对数字求和 (sum adds numbers only)")


@pass_context
def _int(context: Context, value: Any, default: int = 0, base: int = 10) -> int:
    _tick()
    check_decimal_exponent(value)
    result = DEFAULT_FILTERS["int"](value, default, base)
    if isinstance(result, int) and result.bit_length() > MAX_INT_BITS:
        raise limit_error("整数过大", f"integer would exceed {MAX_INT_BITS:,} bits")
    return result


@pass_context
def _format(context: Context, value: Any, *args: Any, **kwargs: Any) -> str:
    _tick()
    if args and kwargs:
        raise TypeError("can't handle positional and keyword arguments at the same time")
    return _charge(guarded_mod(_text(value), kwargs or args, _active.get()))


@pass_context
def _join(context: Context, value: Any, d: str = "", attribute: Any = None) -> str:
    _tick()
    if attribute is not None:
        value = DEFAULT_FILTERS["map"](context, value, attribute=attribute)
    separator = _text(d)
    texts: list[str] = []
    total = 0
    for item in value:
        text = _text(item)
        total += len(text) + len(separator)
        if total > MAX_SIZE:
            raise limit_error("结果过长", f"result would exceed {MAX_SIZE:,} characters")
        texts.append(text)
    return _charge(separator.join(texts))


@pass_context
def _replace(context: Context, s: Any, old: Any, new: Any, count: int | None = None) -> str:
    _tick()
    return _charge(guarded_replace(_text(s), _text(old), _text(new), -1 if count is None else count))


@pass_context
def _string(context: Context, value: Any) -> str:
    _tick()
    return _charge(_text(value))


_PLAIN_FILTERS: Final = (
    "abs", "capitalize", "count", "d", "default", "dictsort", "filesizeformat", "first", "float", "groupby",
    "items", "last", "length", "list", "lower", "map", "max", "min", "reject", "rejectattr", "reverse",
    "select", "selectattr", "sort", "striptags", "title", "trim", "truncate", "unique", "upper", "wordcount",
)  # fmt: skip

FILTERS: Final[Mapping[str, Callable[..., Any]]] = {
    **{name: _bounded(DEFAULT_FILTERS[name]) for name in _PLAIN_FILTERS},
    "round": _bounded(DEFAULT_FILTERS["round"], _round_digits),
    "sum": _bounded(DEFAULT_FILTERS["sum"], _sum_start),
    "int": _int,
    "format": _format,
    "join": _join,
    "replace": _replace,
    "string": _string,
}
"""The filters instructions may use; anything else is an unknown filter (refused at deploy)."""


def _range(*args: int) -> range:
    _tick()
    steps = range(*args)
    try:
        size = len(steps)
    except OverflowError:
        size = MAX_RENDER_RANGE + 1
    if size > MAX_RENDER_RANGE:
        raise limit_error("循环范围过大", f"range() is limited to {MAX_RENDER_RANGE:,} items")
    return steps


# The filters the rewritten tree calls (not for designers: check_instructions refuses names with '_').
@pass_context
def _zf_out(context: Context, value: Any) -> str:
    text = _text(value)
    budget = _active.get()
    if budget is not None:
        budget.produce(len(text))
    return text


@pass_context
def _zf_loop(context: Context, iterable: Any) -> Any:
    budget = _active.get()
    return iterable if budget is None or isinstance(iterable, Undefined) else budget.iterate(iterable)


@pass_context
def _zf_concat(context: Context, values: list[Any]) -> str:
    _tick()
    texts = [_text(value) for value in values]
    if sum(len(text) for text in texts) > MAX_SIZE:
        raise limit_error("结果过长", f"result would exceed {MAX_SIZE:,} characters")
    return _charge("".join(texts))


_INTERNAL_FILTERS: Final = {"_zf_out": _zf_out, "_zf_loop": _zf_loop, "_zf_concat": _zf_concat}


class _Bound(NodeTransformer):
    """Every piece of output, every loop and every ``~`` goes through the budget."""

    def visit_Output(self, node: nodes.Output) -> nodes.Node:
        self.generic_visit(node)
        node.nodes = [_filter(child, "_zf_out") for child in node.nodes]
        return node

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = _filter(node.iter, "_zf_loop")
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _filter(nodes.List(node.nodes, lineno=node.lineno), "_zf_concat")


def _filter(node: nodes.Expr, name: str) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


# ---------------------------------------------------------------------------------------------------
# The environment
# ---------------------------------------------------------------------------------------------------
_BINOPS: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "+": guarded_add,
    "*": guarded_mul,
    "**": guarded_pow,
    "%": guarded_mod,
}


class InstructionsEnvironment(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, narrowed and bounded for task instructions (see the module doc)."""

    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})

    def __init__(self) -> None:
        super().__init__(undefined=ChainableUndefined, autoescape=False)
        self.filters = {**FILTERS, **_INTERNAL_FILTERS}
        self.globals = {"range": _range}

    # -- operators
    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _tick()
        guard = _BINOPS.get(operator)
        result = guard(left, right) if guard is not None else self.binop_table[operator](left, right)
        return _charge(result)

    # -- attributes and items
    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        names = allowed_attributes(obj)
        if names is not None:
            return attr in names and not modifies_known_mutable(obj, attr)
        if isinstance(obj, _JINJA_OBJECTS):
            return super().is_safe_attribute(obj, attr, value)
        return False

    def wrap_str_format(self, value: Any) -> None:
        return None  # str.format is not an allowed attribute at all (its width fields allocate)

    def getattr(self, obj: Any, attribute: str) -> Any:
        _tick()
        names = allowed_attributes(obj)
        if names is not None:
            if attribute in names and not modifies_known_mutable(obj, attribute):
                return guarded_getattr(obj, attribute)
            if isinstance(obj, Mapping):
                try:
                    return obj[attribute]
                except (TypeError, LookupError):
                    pass
            return self.undefined(obj=obj, name=attribute)
        if isinstance(obj, _JINJA_OBJECTS):
            return super().getattr(obj, attribute)
        try:
            return obj[attribute]
        except Exception:  # noqa: BLE001 - no attributes on anything else
            return self.undefined(obj=obj, name=attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _tick()
        try:
            return obj[argument]
        except (TypeError, LookupError):
            if isinstance(argument, str):
                return self.getattr(obj, argument)
        return self.undefined(obj=obj, name=argument)

    # -- calls
    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        _tick()
        return _charge(super().call(context, obj, *args, **kwargs))

    # -- the tree
    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = _Bound().visit(super()._parse(source, name, filename))
        tree.set_environment(self)
        return tree

    def parse_unbounded(self, source: str) -> nodes.Template:
        """The template's tree as written (for the deploy-time checks)."""
        return super()._parse(source, None, None)


ENVIRONMENT: Final = InstructionsEnvironment()


@functools.lru_cache(maxsize=512)
def _compiled(source: str) -> Any:
    return ENVIRONMENT.from_string(source)


def render_instructions_text(source: str, data: Mapping[str, Any]) -> str:
    """The instructions as plain text (the caller escapes it); raises on any error or limit."""
    if len(source) > MAX_TEMPLATE_CHARS:
        raise limit_error("办理说明过长", f"instructions longer than {MAX_TEMPLATE_CHARS:,} characters")
    template = _compiled(source)
    budget = _RenderBudget()
    token = _active.set(budget)
    try:
        parts: list[str] = []
        size = 0
        for chunk in template.generate({k: v for k, v in data.items() if isinstance(k, str)}):
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise limit_error("办理说明过长", f"rendered instructions longer than {MAX_OUTPUT_CHARS:,} characters")
            parts.append(chunk)
            budget.tick()
        return "".join(parts)
    finally:
        _active.reset(token)
