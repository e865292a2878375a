"""The static check: parse an expression or script and apply the allow-list of syntax.

Every AST node must be of an allowed type: literals, names, arithmetic/comparison/boolean operators,
if-expressions, subscripts, displays, comprehensions, f-strings, calls to plain names or to a short
list of harmless methods; scripts may also assign, ``if``, ``for``, ``pass``/``break``/``continue`` and
``del``. Everything else (import, def, class, lambda, while, try, with, walrus, global, ...) is
rejected with a reason in Chinese and English. Constant bombs (``9**9**9**9``, ``'a' * 10**10``,
``'%999999999d'``) are refused here, at deploy time, without computing them.

:func:`assigned_names` lists the names a script binds (assignment, augmented assignment, unpacking,
``del``, ``for`` and ``with`` targets, ``:=``), for the deploy-time check of reserved names.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from typing import Final

from engine.errors import UnsafeExpression
from engine.expressions.bounds import (
    ALLOWED_ATTRIBUTES,
    FORBIDDEN_NAMES,
    MAX_DEPTH,
    MAX_FORMAT_WIDTH,
    MAX_INT_BITS,
    MAX_ITEMS,
    MAX_NODES,
    MAX_SIZE,
    MAX_SOURCE_CHARS,
    Mode,
)
from engine.expressions.functions import SAFE_FUNCTIONS
from engine.expressions.printf import printf_directives
from engine.expressions.sizes import power_too_large


def check_expression(source: str, mode: Mode = "eval", *, functions: Iterable[str] | None = None) -> ast.Module | ast.Expression:
    """Parse ``source`` and apply the allow-list; return the tree or raise :class:`UnsafeExpression`.

    ``mode`` is ``"eval"`` for conditions, timer expressions and DMN cells, ``"exec"`` for scripts.
    With ``functions`` (names of the callables the runtime will provide), calls to any other plain
    name are rejected too, which is what a deploy-time lint wants; without it any non-forbidden name
    may be called, because at run time only real functions are reachable and anything else fails
    with an ordinary ``NameError``/``TypeError``.
    """
    if not isinstance(source, str):
        raise TypeError(f"expression must be a string, not {type(source).__name__}")
    if mode not in ("eval", "exec"):
        raise ValueError(f"mode must be 'eval' or 'exec', not {mode!r}")
    if len(source) > MAX_SOURCE_CHARS:
        raise UnsafeExpression(
            f"表达式过长 (expression longer than {MAX_SOURCE_CHARS:,} characters)",
            details={"reason": "too_long", "length": len(source)},
        )
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as err:
        line = err.lineno or 0
        raise UnsafeExpression(
            f"第 {line} 行语法错误: {err.msg} (syntax error on line {line}: {err.msg})",
            details={"reason": "syntax", "line": line, "column": err.offset, "text": err.text},
        ) from err
    except (ValueError, RecursionError, MemoryError) as err:  # null bytes, absurd nesting
        raise UnsafeExpression(f"无法解析表达式 (cannot parse expression: {err})", details={"reason": "syntax"}) from err
    allowed_calls = None if functions is None else frozenset(functions) | SAFE_FUNCTIONS.keys()
    _Checker(source, mode, allowed_calls).check(tree)
    return tree


_OPERATORS: Final[frozenset[type[ast.AST]]] = frozenset(
    {ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.BitOr, ast.BitAnd,
     ast.BitXor, ast.UAdd, ast.USub, ast.Not, ast.Invert, ast.And, ast.Or, ast.Eq, ast.NotEq, ast.Lt,
     ast.LtE, ast.Gt, ast.GtE, ast.Is, ast.IsNot, ast.In, ast.NotIn, ast.Load, ast.Store, ast.Del}
)  # fmt: skip
_EXPRESSION_NODES: Final[frozenset[type[ast.AST]]] = _OPERATORS | {
    ast.Expression, ast.Constant, ast.Name, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp,
    ast.Call, ast.keyword, ast.Attribute, ast.Subscript, ast.Slice, ast.List, ast.Tuple, ast.Dict,
    ast.Set, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.comprehension,
    ast.JoinedStr, ast.FormattedValue, ast.Starred,
}  # fmt: skip
_STATEMENT_NODES: Final[frozenset[type[ast.AST]]] = frozenset(
    {ast.Module, ast.Expr, ast.Assign, ast.AugAssign, ast.If, ast.For, ast.Pass, ast.Break, ast.Continue,
     ast.Delete}
)  # fmt: skip
_CONSTANT_TYPES: Final = (str, int, float, bool, type(None))
_DIGIT_RUN: Final = re.compile(r"\d+")

_REJECTED: Final[dict[type[ast.AST], tuple[str, str]]] = {
    ast.Import: ("不允许导入模块", "import is not allowed"),
    ast.ImportFrom: ("不允许导入模块", "import is not allowed"),
    ast.While: ("不允许 while 循环", "while loops are not allowed; use for over a bounded sequence"),
    ast.Lambda: ("不允许 lambda", "lambda is not allowed"),
    ast.FunctionDef: ("不允许定义函数", "defining functions is not allowed"),
    ast.AsyncFunctionDef: ("不允许定义函数", "defining functions is not allowed"),
    ast.ClassDef: ("不允许定义类", "defining classes is not allowed"),
    ast.Return: ("不允许 return", "return is not allowed"),
    ast.Yield: ("不允许 yield", "yield is not allowed"),
    ast.YieldFrom: ("不允许 yield", "yield is not allowed"),
    ast.Await: ("不允许 await", "await is not allowed"),
    ast.AsyncFor: ("不允许异步语句", "async statements are not allowed"),
    ast.AsyncWith: ("不允许异步语句", "async statements are not allowed"),
    ast.Global: ("不允许 global/nonlocal", "global and nonlocal are not allowed"),
    ast.Nonlocal: ("不允许 global/nonlocal", "global and nonlocal are not allowed"),
    ast.Try: ("不允许 try", "try/except is not allowed"),
    ast.TryStar: ("不允许 try", "try/except is not allowed"),
    ast.Raise: ("不允许 raise", "raise is not allowed"),
    ast.Assert: ("不允许 assert", "assert is not allowed"),
    ast.With: ("不允许 with", "with is not allowed"),
    ast.NamedExpr: ("不允许海象运算符 :=", "assignment expressions (:=) are not allowed"),
    ast.AnnAssign: ("不允许类型注解赋值", "annotated assignment is not allowed; write x = value"),
    ast.Match: ("不允许 match", "match statements are not allowed"),
    ast.LShift: ("不允许移位运算", "bit shifts are not allowed (they build huge integers)"),
    ast.RShift: ("不允许移位运算", "bit shifts are not allowed"),
    ast.MatMult: ("不允许 @ 运算", "the @ operator is not allowed"),
}



class _Rejected(Exception):
    """Internal: one allow-list violation. ``rank`` orders several found in one expression, so the
    message names the most telling one (forbidden syntax, then ``_`` names, then the rest)."""

    def __init__(self, node: ast.AST, chinese: str, english: str, rank: int = 5) -> None:
        super().__init__(english)
        self.node, self.chinese, self.english, self.rank = node, chinese, english, rank

    @property
    def line(self) -> int:
        return getattr(self.node, "lineno", 1)


class _Checker:
    """Walks the tree iteratively (no recursion limit to hit) and applies the allow-list.

    Every violation is collected (``details["problems"]``) so a designer can fix them in one go.
    """

    def __init__(self, source: str, mode: Mode, allowed_calls: frozenset[str] | None) -> None:
        self.source = source
        self.allowed_nodes = _EXPRESSION_NODES if mode == "eval" else _EXPRESSION_NODES | _STATEMENT_NODES
        self.allowed_calls = allowed_calls
        self.folded: dict[int, int | None] = {}

    def check(self, tree: ast.AST) -> None:
        try:
            self._check_shape(tree)
        except _Rejected as rejected:
            raise self._error([rejected]) from None
        problems = self._fold_constants(tree)
        for node in ast.walk(tree):
            kind = type(node)
            if kind not in self.allowed_nodes:
                chinese, english = _REJECTED.get(kind, (f"不允许的语法 {kind.__name__}", f"{kind.__name__} is not in the allow-list"))
                problems.append(_Rejected(node, chinese, english, rank=0))
                continue
            check = getattr(self, f"_check_{kind.__name__}", None)
            if check is not None:
                try:
                    check(node)
                except _Rejected as rejected:
                    problems.append(rejected)
        if problems:
            raise self._error(sorted(problems, key=lambda problem: problem.rank))

    def _error(self, problems: list[_Rejected]) -> UnsafeExpression:
        first = problems[0]
        return UnsafeExpression(
            f"第 {first.line} 行: {first.chinese} (line {first.line}: {first.english})",
            details={
                "reason": first.english,
                "line": first.line,
                "column": getattr(first.node, "col_offset", 0),
                "node": type(first.node).__name__,
                "source": self.source[:200],
                "problems": [{"line": problem.line, "reason": problem.english} for problem in problems],
            },
        )

    def _check_shape(self, tree: ast.AST) -> None:
        count = 0
        stack: list[tuple[ast.AST, int]] = [(tree, 0)]
        while stack:
            node, depth = stack.pop()
            count += 1
            if count > MAX_NODES:
                raise _Rejected(node, "表达式过于复杂", f"more than {MAX_NODES:,} syntax nodes")
            if depth > MAX_DEPTH:
                raise _Rejected(node, "表达式嵌套过深", f"nested deeper than {MAX_DEPTH} levels")
            stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))

    def _fold_constants(self, tree: ast.AST) -> list[_Rejected]:
        """Integer constant folding, children before parents (reversed breadth-first order), so that
        ``9**9**9**9`` and ``'a' * 10**10`` are refused at deploy time without computing them."""
        problems = []
        for node in reversed(list(ast.walk(tree))):
            try:
                self.folded[id(node)] = self._fold(node)
            except _Rejected as rejected:
                problems.append(rejected)
                self.folded[id(node)] = None
        return problems

    def _fold(self, node: ast.AST) -> int | None:
        if isinstance(node, ast.Constant):
            return node.value if type(node.value) is int else None
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            operand = self.folded.get(id(node.operand))
            return None if operand is None else (-operand if isinstance(node.op, ast.USub) else operand)
        if not isinstance(node, ast.BinOp):
            return None
        left, right = self.folded.get(id(node.left)), self.folded.get(id(node.right))
        if isinstance(node.op, ast.Mult):
            self._check_repetition(node, left, right)
        if left is None or right is None:
            return None
        if isinstance(node.op, ast.Pow):
            if right < 0:
                return None
            if power_too_large(left, right):
                raise _Rejected(node, "乘方结果过大", f"power result would exceed {MAX_INT_BITS:,} bits", 3)
            return left**right
        if isinstance(node.op, ast.Mult):
            if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise _Rejected(node, "乘积过大", f"product would exceed {MAX_INT_BITS:,} bits", 3)
            return left * right
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        return None

    def _check_repetition(self, node: ast.BinOp, left: int | None, right: int | None) -> None:
        for sequence, count in ((node.left, right), (node.right, left)):
            if count is None or not _is_sequence_literal(sequence):
                continue
            length = len(sequence.value) if isinstance(sequence, ast.Constant) else 1
            limit, unit = (MAX_ITEMS, "items") if isinstance(sequence, ast.List | ast.Tuple | ast.ListComp) else (MAX_SIZE, "characters")
            if count * max(length, 1) > limit:
                raise _Rejected(node, "序列重复过大", f"sequence repetition would exceed {limit:,} {unit}", 3)

    def _check_Name(self, node: ast.Name) -> None:
        _check_identifier(node, node.id, "名称", "name")
        if node.id in FORBIDDEN_NAMES:
            raise _Rejected(node, f"不允许的名称 '{node.id}'", f"'{node.id}' is not available in expressions", rank=2)

    def _check_Attribute(self, node: ast.Attribute) -> None:
        _check_identifier(node, node.attr, "属性", "attribute")
        if node.attr in ("format", "format_map"):
            raise _Rejected(
                node,
                f"不允许的属性 '{node.attr}'",
                f"str.{node.attr} is not allowed (format fields can reach attributes); use an f-string",
                rank=3,
            )
        if node.attr not in ALLOWED_ATTRIBUTES:
            raise _Rejected(
                node,
                f"不允许的属性 '{node.attr}'",
                f"attribute '{node.attr}' is not in the allow-list: {', '.join(sorted(ALLOWED_ATTRIBUTES))}",
                rank=4,
            )
        if not isinstance(node.ctx, ast.Load):
            raise _Rejected(node, "不允许给属性赋值", "attributes cannot be assigned or deleted")

    def _check_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Name):
            if self.allowed_calls is not None and node.func.id not in self.allowed_calls:
                raise _Rejected(
                    node,
                    f"未知的函数 '{node.func.id}'",
                    f"unknown function '{node.func.id}'; available: {', '.join(sorted(self.allowed_calls))}",
                )
        elif not isinstance(node.func, ast.Attribute):
            raise _Rejected(node, "只能调用具名函数或允许的方法", "only named functions and allowed methods can be called")

    def _check_keyword(self, node: ast.keyword) -> None:
        if node.arg is not None:
            _check_identifier(node, node.arg, "参数名", "keyword argument")

    def _check_Constant(self, node: ast.Constant) -> None:
        if not isinstance(node.value, _CONSTANT_TYPES):
            raise _Rejected(
                node,
                f"不允许的常量类型 {type(node.value).__name__}",
                "only str, int, float, bool and None constants are allowed",
            )

    def _check_comprehension(self, node: ast.comprehension) -> None:
        if node.is_async:
            raise _Rejected(node, "不允许异步推导式", "async comprehensions are not allowed")

    def _check_FormattedValue(self, node: ast.FormattedValue) -> None:
        spec = node.format_spec
        if spec is None:
            return
        parts = spec.values if isinstance(spec, ast.JoinedStr) else [spec]
        for part in parts:
            if not (isinstance(part, ast.Constant) and isinstance(part.value, str)):
                raise _Rejected(node, "格式说明必须是常量", "f-string format specs must be constants")
            _check_format_numbers(node, part.value)

    def _check_BinOp(self, node: ast.BinOp) -> None:
        if isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant) and isinstance(node.left.value, str):
            _check_printf(node.left.value, node)

    def _check_AugAssign(self, node: ast.AugAssign) -> None:
        if not isinstance(node.target, ast.Name | ast.Subscript):
            raise _Rejected(node, "不允许的赋值目标", "augmented assignment only to names or subscripts")

    def _check_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            if not isinstance(target, ast.Name | ast.Subscript):
                raise _Rejected(node, "不允许的删除目标", "del only removes names or subscripts")


def _check_identifier(node: ast.AST, name: str, chinese_kind: str, english_kind: str) -> None:
    if name.startswith("_"):
        raise _Rejected(
            node,
            f"不允许的{chinese_kind} '{name}'",
            f"{english_kind}s starting with '_' are not allowed",
            rank=1,
        )


def _check_format_numbers(node: ast.AST, spec: str) -> None:
    # \d, not [0-9]: the format-spec parser reads any Unicode decimal digit ('٩٩٩٩٩٩٩٩٩' is a width).
    for digits in _DIGIT_RUN.findall(spec):
        if len(digits) > 3 or int(digits) > MAX_FORMAT_WIDTH:
            raise _Rejected(node, "格式宽度过大", f"format widths and precisions above {MAX_FORMAT_WIDTH} are not allowed")


def _check_printf(template: str, node: ast.AST) -> None:
    """``'%999999999d' % 1`` allocates a gigabyte; ``'%*d'`` takes the width from data."""
    for _start, _end, _key, width, precision, _conversion in printf_directives(template):
        for number in (width, precision):
            if number == "*" or (isinstance(number, int) and number > MAX_FORMAT_WIDTH):
                raise _Rejected(node, "格式宽度过大", f"%-format widths above {MAX_FORMAT_WIDTH} and '*' are not allowed")


def _is_sequence_literal(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mult):
        return _is_sequence_literal(node.left) or _is_sequence_literal(node.right)
    return isinstance(node, ast.List | ast.Tuple | ast.JoinedStr | ast.ListComp)


def assigned_names(tree: ast.AST) -> Iterator[tuple[str, int]]:
    """``(name, line)`` for every name a script binds or unbinds in its own scope: assignment targets
    (with tuple/list/starred unpacking), augmented assignment, ``del``, ``for`` and ``with`` targets and
    ``:=``. Comprehension variables are left out: they live in the comprehension's own scope."""
    for node in ast.walk(tree):
        targets: list[ast.AST] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign | ast.NamedExpr | ast.For | ast.AsyncFor):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = list(node.targets)
        elif isinstance(node, ast.With | ast.AsyncWith):
            targets = [item.optional_vars for item in node.items if item.optional_vars is not None]
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                yield (alias.asname or alias.name).split(".")[0], node.lineno
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield node.name, node.lineno
        for target in targets:
            yield from _bound_by(target)


def _bound_by(target: ast.AST) -> Iterator[tuple[str, int]]:
    if isinstance(target, ast.Name):
        yield target.id, target.lineno
    elif isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from _bound_by(element)
    elif isinstance(target, ast.Starred):
        yield from _bound_by(target.value)
