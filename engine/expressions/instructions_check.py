"""Deploy-time checks of task instructions (engine/expressions/templates.py renders them): syntax,
unknown filters and tests, references to other templates, and constructs that are obviously
unbounded, each with its line in the template, so a designer learns of them before any case does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from jinja2 import TemplateError, nodes

from engine.errors import UnsafeExpression
from engine.expressions.bounds import MAX_INT_BITS, MAX_ITEMS, MAX_SIZE, limit_error
from engine.expressions.guards import check_printf_widths, check_repeat, guarded_mul, power_too_large
from engine.expressions.templates import ENVIRONMENT, MAX_RENDER_LOOP_STEPS, MAX_RENDER_RANGE, MAX_TEMPLATE_CHARS


def check_instructions(source: str) -> list[tuple[int | None, str]]:
    """``(line, message)`` for everything wrong with an instructions template: too long, a syntax
    error, an unknown filter or test, a reference to another template, or a construct that is
    obviously unbounded (constant bombs, ``range`` beyond the cap, nested constant loops beyond the
    loop budget, a macro calling itself). An empty list means it may be deployed."""
    if len(source) > MAX_TEMPLATE_CHARS:
        return [(None, f"办理说明过长 (instructions longer than {MAX_TEMPLATE_CHARS:,} characters)")]
    try:
        tree = ENVIRONMENT.parse_unbounded(source)
    except TemplateError as exc:
        return [(getattr(exc, "lineno", None), f"模板语法错误 (template syntax error): {exc}")]
    except RecursionError:
        return [(None, "模板嵌套过深 (template nested too deeply)")]
    problems = list(_static_problems(tree))
    if not problems:
        try:
            ENVIRONMENT.compile(source)  # unknown filters and tests are found here
        except TemplateError as exc:
            problems.append((getattr(exc, "lineno", None), f"模板无法编译 (template does not compile): {exc}"))
        except RecursionError:
            problems.append((None, "模板嵌套过深 (template nested too deeply)"))
    return problems


_REFERENCES: Final = (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)
# Methods no value in instructions offers (only str/dict/list/date... attributes the expression
# evaluator allows are readable); a call of one of these is a designer's mistake or a size bomb.
_NEVER_CALLED: Final = frozenset({
    "format", "format_map", "center", "ljust", "rjust", "zfill", "expandtabs", "to_bytes", "encode",
    "translate", "maketrans", "splitlines", "partition", "rpartition", "casefold", "swapcase",
})  # fmt: skip


def _static_problems(tree: nodes.Template) -> Iterator[tuple[int | None, str]]:
    for node in tree.find_all(_REFERENCES):
        yield node.lineno, "不允许引用其他模板 (include/import/extends are not allowed in instructions)"
    for node in tree.find_all((nodes.Filter, nodes.Test)):
        if node.name.startswith("_"):
            yield node.lineno, f"不允许的过滤器 '{node.name}' (filter or test '{node.name}' is not allowed)"
    for node in tree.find_all(nodes.BinExpr):
        try:
            _fold(node)
        except UnsafeExpression as exc:
            yield node.lineno, exc.message
    for node in tree.find_all(nodes.Call):
        if isinstance(node.node, nodes.Name) and node.node.name == "range":
            size = _range_size(node)
            if size is not None and size > MAX_RENDER_RANGE:
                yield node.lineno, f"循环范围过大 (range() is limited to {MAX_RENDER_RANGE:,} items)"
        elif isinstance(node.node, nodes.Getattr) and node.node.attr in _NEVER_CALLED:
            yield node.lineno, (f"不允许调用 .{node.node.attr}(...) (the method .{node.node.attr}() is not available "
                                "in instructions; use a filter)")
    for node in tree.find_all(nodes.Filter):
        if node.name == "format" and isinstance(node.node, nodes.Const) and isinstance(node.node.value, str):
            try:
                check_printf_widths(node.node.value)
            except UnsafeExpression as exc:
                yield node.lineno, exc.message
    yield from _nested_loops(tree)
    for macro in tree.find_all(nodes.Macro):
        for call in macro.find_all(nodes.Call):
            if isinstance(call.node, nodes.Name) and call.node.name == macro.name:
                yield call.lineno, f"宏 '{macro.name}' 不能调用自身 (macro '{macro.name}' calls itself)"


def _fold(node: nodes.Node) -> Any:
    """Integer constants folded with the run-time guards (which refuse before computing); sequence
    repetition checked by size only. None when not a constant."""
    if isinstance(node, nodes.Const):
        return node.value if isinstance(node.value, int | str) and not isinstance(node.value, bool) else None
    if isinstance(node, nodes.Neg | nodes.Pos):
        value = _fold(node.node)
        return None if not isinstance(value, int) else (-value if isinstance(node, nodes.Neg) else value)
    if not isinstance(node, nodes.BinExpr):
        return None
    left, right = _fold(node.left), _fold(node.right)
    if isinstance(node, nodes.Mul):
        for sequence, times in ((node.left, right), (node.right, left)):
            length = _sequence_length(sequence)
            if length is not None and isinstance(times, int):
                check_repeat(max(length, 1), times, MAX_ITEMS if isinstance(sequence, nodes.List | nodes.Tuple) else MAX_SIZE)
    if isinstance(node, nodes.Mod) and isinstance(left, str):
        check_printf_widths(left)
    if not (isinstance(left, int) and isinstance(right, int)):
        return None
    if isinstance(node, nodes.Div | nodes.FloorDiv | nodes.Mod) and right == 0:
        raise UnsafeExpression("除数为零 (division by zero)", details={"reason": "zero_division"})
    if isinstance(node, nodes.Pow):
        if right < 0:
            return None
        if power_too_large(left, right):
            raise limit_error("乘方结果过大", f"power result would exceed {MAX_INT_BITS:,} bits")
        return left**right
    if isinstance(node, nodes.Mul):
        return guarded_mul(left, right)
    if isinstance(node, nodes.Add):
        return left + right
    if isinstance(node, nodes.Sub):
        return left - right
    return None


def _sequence_length(node: nodes.Node) -> int | None:
    if isinstance(node, nodes.Const) and isinstance(node.value, str):
        return len(node.value)
    if isinstance(node, nodes.List | nodes.Tuple):
        return len(node.items)
    if isinstance(node, nodes.Mul | nodes.Add | nodes.Concat):
        return 1  # a product of sequences: its own size is checked where it is built
    return None


def _range_size(call: nodes.Call) -> int | None:
    values = [_fold(arg) for arg in call.args]
    if call.kwargs or call.dyn_args or call.dyn_kwargs or not values or not all(isinstance(v, int) for v in values):
        return None
    try:
        return len(range(*values))
    except (ValueError, OverflowError):
        return MAX_RENDER_RANGE + 1


def _loop_size(loop: nodes.For) -> int | None:
    iterable = loop.iter
    if isinstance(iterable, nodes.Call) and isinstance(iterable.node, nodes.Name) and iterable.node.name == "range":
        return _range_size(iterable)
    if isinstance(iterable, nodes.List | nodes.Tuple):
        return len(iterable.items)
    return None


def _nested_loops(tree: nodes.Node, outer: int = 1) -> Iterator[tuple[int | None, str]]:
    for child in tree.iter_child_nodes():
        if isinstance(child, nodes.For):
            size = _loop_size(child)
            steps = outer * (size if size is not None else 1)
            if size is not None and steps > MAX_RENDER_LOOP_STEPS:
                yield child.lineno, (f"循环次数超过上限 (nested loops would run {steps:,} steps; the limit is "
                                     f"{MAX_RENDER_LOOP_STEPS:,})")
                continue
            yield from _nested_loops(child, steps)
        else:
            yield from _nested_loops(child, outer)
