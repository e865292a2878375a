"""The one restricted evaluator for every BPMN condition, timer expression, DMN cell and script task.

Why this exists: designers upload BPMN/DMN files, and SpiffWorkflow runs every expression in them with
plain ``eval``/``exec`` and full builtins. An expression must never reach the OS, the interpreter's
internals or unbounded memory/CPU, so zhifa gives SpiffWorkflow this evaluator instead:

1. **Allow-list of syntax** (:func:`check_expression`). The source is parsed and every AST node must be
   of an allowed type: literals, names, arithmetic/comparison/boolean operators, if-expressions,
   subscripts, displays, comprehensions, f-strings, calls to plain names or to a short list of
   harmless methods; scripts may also assign, ``if``, ``for``, ``pass``/``break``/``continue`` and
   ``del``. Everything else (import, def, class, lambda, while, try, with, walrus, global, ...) is
   rejected with a reason in Chinese and English. Names and attributes starting with ``_`` never
   pass, so no dunder reaches ``__class__``/``__globals__``/``__subclasses__``; attributes must be
   on :data:`ALLOWED_ATTRIBUTES`; ``str.format``/``format_map`` are refused because their field syntax
   (``'{0.__class__}'``) performs attribute lookups the AST cannot see. Dangerous builtin names
   (:data:`FORBIDDEN_NAMES`) are rejected even though they could not resolve anyway: the designer
   gets a clear deploy-time error instead of a runtime ``NameError``. A consequence worth knowing:
   task-data fields cannot be called ``type``, ``input``, ``object``, ... in expressions.
2. **No builtins at run time**. Code runs with ``__builtins__`` set to an empty dict; the only callables
   are :data:`SAFE_FUNCTIONS` plus the extra functions given to :func:`make_script_engine`.
3. **Run-time guards for what the AST cannot decide**. The checked tree is rewritten before it is
   compiled: attribute reads go through a per-type allow-list; ``*``, ``**``, ``+`` and ``%`` go through
   functions that refuse results above :data:`MAX_SIZE` items/characters or :data:`MAX_INT_BITS`
   bits (``'a' * n`` with ``n`` from task data, ``x = x * x`` in a loop, ``'%999999999d' % 1``);
   every ``for`` loop and comprehension draws from one per-evaluation budget of
   :data:`MAX_ITERATIONS` steps and :data:`MAX_SECONDS` seconds (nested loops cannot multiply into
   hours); ``range`` is capped at :data:`MAX_RANGE`; rendering (``str()``, f-strings, ``%``) refuses
   values whose text would exceed :data:`MAX_SIZE`. Without these a single uploaded expression could
   exhaust the server's memory or pin a worker forever, which is a denial of service for every case.
   Constant bombs (``9**9**9**9``, ``'a' * 10**10``) are already caught at deploy time.

Compiled code objects are cached by ``(source, mode)`` (:func:`compile_restricted`), so the checks run
once per distinct expression; the hot path is a dict lookup plus ``eval``.

Allow-list violations raise :class:`~engine.errors.UnsafeExpression`; so do the size and time limits.
Ordinary runtime errors inside an allowed expression (``NameError``, ``TypeError``,
``ZeroDivisionError``...) propagate unchanged, and SpiffWorkflow wraps them in
``WorkflowTaskException`` as usual.
"""

from __future__ import annotations

import ast
import functools
import itertools
import re
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from datetime import date, datetime, timedelta
from datetime import time as day_time
from decimal import Decimal
from types import CodeType, MappingProxyType
from typing import Any, Final, Literal

from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment

from engine import clock
from engine.errors import UnsafeExpression

Mode = Literal["eval", "exec"]

# ---------------------------------------------------------------------------------------------------
# Limits. Generous for procedure logic (fines, dates, a few lists), far below what hurts a server.
# ---------------------------------------------------------------------------------------------------
MAX_SOURCE_CHARS: Final = 10_000
MAX_NODES: Final = 2_000
MAX_DEPTH: Final = 100  # also keeps the checker's and CPython compiler's recursion far from their limits
MAX_RANGE: Final = 10_000
MAX_ITERATIONS: Final = 100_000  # per evaluation, all loops and comprehensions together
MAX_SECONDS: Final = 2.0  # per evaluation, checked while looping
MAX_SIZE: Final = 1_000_000  # items or characters built by one operation or rendered to text
MAX_DATA_SIZE: Final = 5_000_000  # task data after a script / a returned value, items + characters
MAX_INT_BITS: Final = 10_000  # ~3,000 decimal digits; below CPython's 4,300-digit str() limit
MAX_FORMAT_WIDTH: Final = 999  # widths/precisions in format specs and %-formats
MAX_ROUND_DIGITS: Final = 1_000
MAX_DECIMAL_EXPONENT: Final = 4_000  # int(Decimal('1e999999999')) would build a 400 MB integer

FORBIDDEN_NAMES: Final = frozenset(
    {
        "__import__", "breakpoint", "bytearray", "bytes", "callable", "classmethod", "compile",
        "copyright", "credits", "delattr", "dir", "eval", "exec", "exit", "getattr", "globals",
        "hasattr", "help", "id", "input", "license", "locals", "memoryview", "object", "open",
        "property", "quit", "setattr", "staticmethod", "super", "type", "vars",
    }
)  # fmt: skip

# Attribute names per receiver type, enforced at run time (the static check uses their union).
_STR_ATTRIBUTES = frozenset(
    {"strip", "lstrip", "rstrip", "lower", "upper", "startswith", "endswith", "split", "join",
     "replace", "isdigit", "count", "find"}
)  # fmt: skip
_DICT_ATTRIBUTES = frozenset({"get", "keys", "values", "items", "pop"})
_LIST_ATTRIBUTES = frozenset({"append", "count", "index", "pop"})
_TUPLE_ATTRIBUTES = frozenset({"count", "index"})
_DATE_ATTRIBUTES = frozenset({"isoformat", "year", "month", "day", "weekday", "isoweekday", "strftime", "replace"})
_DATETIME_ATTRIBUTES = _DATE_ATTRIBUTES | {"date", "hour", "minute", "second"}
_TIMEDELTA_ATTRIBUTES = frozenset({"days", "seconds", "total_seconds"})
_DECIMAL_ATTRIBUTES = frozenset({"quantize"})

_ATTRIBUTES_BY_TYPE: Final[tuple[tuple[type, frozenset[str]], ...]] = (
    (str, _STR_ATTRIBUTES),
    (dict, _DICT_ATTRIBUTES),
    (list, _LIST_ATTRIBUTES),
    (tuple, _TUPLE_ATTRIBUTES),
    (datetime, _DATETIME_ATTRIBUTES),  # before date: datetime is a date subclass
    (date, _DATE_ATTRIBUTES),
    (timedelta, _TIMEDELTA_ATTRIBUTES),
    (Decimal, _DECIMAL_ATTRIBUTES),
)

ALLOWED_ATTRIBUTES: Final = frozenset().union(*(names for _, names in _ATTRIBUTES_BY_TYPE))


# ---------------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------------
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


@functools.lru_cache(maxsize=2048)
def compile_restricted(source: str, mode: Mode = "eval") -> CodeType:
    """Check, add the run-time guards, compile; cached so the hot path never re-parses.

    The cache is bounded (LRU) because DMN builds ``(input) == (cell)`` strings and designers deploy
    new versions; a few thousand distinct expressions cover every deployed procedure.
    """
    tree = check_expression(source, mode)
    guarded = ast.fix_missing_locations(_Guard().visit(tree))
    try:
        # "<string>" is the file name SpiffWorkflow looks for to report the failing script line.
        return compile(guarded, "<string>", mode)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as err:  # e.g. 'return' outside def
        raise UnsafeExpression(f"无法编译表达式: {err} (cannot compile expression: {err})", details={"reason": "compile"}) from err


def parse_date(value: str | date) -> date:
    """A ``date`` from an ISO string, a date or a datetime; datetimes are read in Asia/Shanghai.

    Form data arrives as JSON strings; the legal day of an instant is the day in China.
    """
    if isinstance(value, datetime):
        return _in_shanghai(value).date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise TypeError(f"parse_date() needs an ISO date string, not {type(value).__name__}")
    text = value.strip()
    if len(text) > 10:  # a datetime: its day in Shanghai, not the day of its UTC rendering
        return parse_datetime(text).astimezone(clock.SHANGHAI).date()
    return date.fromisoformat(text)


def parse_datetime(value: str | date) -> datetime:
    """An aware ``datetime`` from an ISO string, date or datetime; naive values are Asia/Shanghai time.

    SpiffWorkflow reads naive timer values in the server's zone; zhifa's times must never depend on it.
    """
    if isinstance(value, datetime):
        return _in_shanghai(value)
    if isinstance(value, date):
        return datetime.combine(value, day_time(), tzinfo=clock.SHANGHAI)
    if not isinstance(value, str):
        raise TypeError(f"parse_datetime() needs an ISO datetime string, not {type(value).__name__}")
    return _in_shanghai(datetime.fromisoformat(value.strip()))


def now() -> datetime:
    """The current instant in Asia/Shanghai, from zhifa's clock (so tests and ``--now`` drills agree)."""
    return clock.now().astimezone(clock.SHANGHAI)


def today() -> date:
    """Today's date in Asia/Shanghai, from zhifa's clock."""
    return clock.today_shanghai()


class RestrictedEnvironment(TaskDataEnvironment):
    """SpiffWorkflow's task-data environment, running only checked code without builtins.

    Keeps ``TaskDataEnvironment`` semantics: expressions see functions, then the external context,
    then task data (task data wins); scripts assign straight into task data and the functions are
    removed afterwards. ``functions`` (e.g. the calendar's ``deadline``) are merged over
    :data:`SAFE_FUNCTIONS`.
    """

    def __init__(self, functions: Mapping[str, Callable[..., Any]] | None = None) -> None:
        extra = dict(functions or {})
        for name, function in extra.items():
            if not name.isidentifier() or name.startswith("_") or name in FORBIDDEN_NAMES:
                raise ValueError(f"cannot expose a function as {name!r} to expressions")
            if not callable(function):
                raise TypeError(f"expression function {name!r} is not callable")
        super().__init__({**SAFE_FUNCTIONS, **extra})
        self._function_names = frozenset(self.globals)

    @property
    def function_names(self) -> frozenset[str]:
        return self._function_names

    def evaluate(self, expression: str, context: dict[str, Any], external_context: Mapping[str, Any] | None = None) -> Any:
        code = compile_restricted(expression, "eval")
        self._prepare_context(context)
        scope = {**self.globals, **(external_context or {}), **context, **_guards()}
        result = eval(code, scope)  # noqa: S307 - checked, guarded code; builtins emptied by _guards()
        _check_weight(result, MAX_DATA_SIZE, "表达式结果", "expression result")
        return result

    def execute(self, script: str, context: dict[str, Any], external_context: Mapping[str, Any] | None = None) -> bool:
        code = compile_restricted(script, "exec")  # reject before touching the task data
        self.check_for_overwrite(context, external_context or {})
        self._prepare_context(context)
        context.update(self.globals)
        context.update(external_context or {})
        context.update(_guards())
        try:
            exec(code, context)  # noqa: S102 - checked, guarded code; builtins emptied by _guards()
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
        _check_weight(context, MAX_DATA_SIZE, "脚本产生的任务数据", "task data after the script")
        return True


class RestrictedScriptEngine(PythonScriptEngine):
    """The script engine every zhifa workflow gets (set it again after each deserialize)."""

    environment: RestrictedEnvironment

    def __init__(self, environment: RestrictedEnvironment | None = None) -> None:
        environment = environment if environment is not None else RestrictedEnvironment()
        if not isinstance(environment, RestrictedEnvironment):
            raise TypeError("RestrictedScriptEngine needs a RestrictedEnvironment")
        super().__init__(environment)

    def validate(self, expression: str) -> None:
        """Syntax errors stay ``SyntaxError``: DMNEngine.needs_eq relies on that to decide
        whether a cell like ``>= 100000`` needs ``==``. Anything that parses must pass the allow-list.

        DMNEngine validates every cell on every evaluation, so successful checks are cached."""
        _validate(expression, self.environment.function_names)

    def check(self, source: str, mode: Mode = "eval") -> ast.Module | ast.Expression:
        """Deploy-time lint: the allow-list plus "calls only functions this engine provides"."""
        return check_expression(source, mode, functions=self.environment.function_names)


@functools.lru_cache(maxsize=2048)
def _validate(expression: str, functions: frozenset[str]) -> None:
    try:
        ast.parse(expression, mode="eval")
        mode: Mode = "eval"
    except SyntaxError:
        ast.parse(expression, mode="exec")  # not even a script: the SyntaxError DMN expects
        mode = "exec"
    check_expression(expression, mode, functions=functions)


def make_script_engine(functions: Mapping[str, Callable[..., Any]] | None = None) -> RestrictedScriptEngine:
    """A restricted engine with :data:`SAFE_FUNCTIONS` plus ``functions`` (e.g. deadline helpers)."""
    return RestrictedScriptEngine(RestrictedEnvironment(functions))


# ---------------------------------------------------------------------------------------------------
# The static check
# ---------------------------------------------------------------------------------------------------
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

_PRINTF_DIRECTIVE: Final = re.compile(r"%(?:%|(?:\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?)")
_DIGIT_RUN: Final = re.compile(r"\d+")


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
            if _power_too_large(left, right):
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
            if count * max(length, 1) > MAX_SIZE:
                raise _Rejected(node, "序列重复过大", f"sequence repetition would exceed {MAX_SIZE:,} items", 3)

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
    for digits in _DIGIT_RUN.findall(spec):
        if len(digits) > 3 or int(digits) > MAX_FORMAT_WIDTH:
            raise _Rejected(node, "格式宽度过大", f"format widths and precisions above {MAX_FORMAT_WIDTH} are not allowed")


def _check_printf(template: str, node: ast.AST | None = None) -> None:
    """``'%999999999d' % 1`` allocates a gigabyte; ``'%*d'`` takes the width from data."""
    for match in _PRINTF_DIRECTIVE.finditer(template):
        for number in match.groups():
            if number == "*" or (number and (len(number) > 3 or int(number) > MAX_FORMAT_WIDTH)):
                english = f"%-format widths above {MAX_FORMAT_WIDTH} and '*' are not allowed"
                if node is not None:
                    raise _Rejected(node, "格式宽度过大", english)
                raise _limit("格式宽度过大", english)


def _is_sequence_literal(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mult):
        return _is_sequence_literal(node.left) or _is_sequence_literal(node.right)
    return isinstance(node, ast.List | ast.Tuple | ast.JoinedStr | ast.ListComp)


def _power_too_large(base: int, exponent: int) -> bool:
    return exponent > 0 and abs(base) > 1 and exponent * base.bit_length() > MAX_INT_BITS


# ---------------------------------------------------------------------------------------------------
# The run-time guards the checked tree is rewritten to call
# ---------------------------------------------------------------------------------------------------
class _Guard(ast.NodeTransformer):
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
            assert isinstance(target, ast.Subscript)  # enforced by _Checker._check_AugAssign
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
        node.args = [node.func, *node.args]
        node.func = ast.Name(id="_zf_call", ctx=ast.Load())
        return node

    def visit_comprehension(self, node: ast.comprehension) -> ast.AST:
        self.generic_visit(node)
        node.iter = ast.copy_location(_call("_zf_iter", node.iter), node.iter)
        return node

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


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=list(args), keywords=[])


def _guards() -> dict[str, Any]:
    """Names injected into every evaluation; a fresh loop budget each time."""
    budget = _Budget()
    return {**_STATIC_GUARDS, "_zf_iter": budget.iterate, "_zf_call": budget.call, "__builtins__": {}}


class _Budget:
    """One evaluation's allowance of loop steps and wall time, shared by all its loops and calls.

    Time is checked at every loop step and before every call: those are the only ways checked code
    repeats work, and any single operation is bounded by MAX_SIZE, so an evaluation stops within
    about MAX_SECONDS plus one operation.
    """

    __slots__ = ("left", "deadline")

    def __init__(self) -> None:
        self.left = MAX_ITERATIONS
        self.deadline = time.monotonic() + MAX_SECONDS

    def iterate(self, iterable: Iterable[Any]) -> Iterator[Any]:
        for item in iterable:
            self.left -= 1
            if self.left < 0:
                raise _limit("循环次数超过上限", f"more than {MAX_ITERATIONS:,} loop steps in one evaluation")
            self.check_time()
            yield item

    def call(self, function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        self.check_time()
        return function(*args, **kwargs)

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise _limit("执行时间超过上限", f"evaluation ran longer than {MAX_SECONDS} seconds")


def _guarded_getattr(obj: Any, name: str) -> Any:
    for kind, names in _ATTRIBUTES_BY_TYPE:
        if isinstance(obj, kind):
            if name in names:
                if kind is str and name in _STR_GROWING:
                    return functools.partial(_STR_GROWING[name], obj)
                if name == "strftime":
                    return functools.partial(_guarded_strftime, obj)
                return getattr(obj, name)
            break
    if name.startswith("_") or name not in ALLOWED_ATTRIBUTES:  # unreachable after the static check
        raise UnsafeExpression(f"不允许的属性 '{name}' (attribute '{name}' is not allowed)")
    raise AttributeError(f"'{type(obj).__name__}' object has no attribute '{name}' available in expressions")


_SEQUENCES: Final = (str, list, tuple)


def _guarded_mul(left: Any, right: Any) -> Any:
    if isinstance(left, _SEQUENCES) and isinstance(right, int):
        _check_repeat(len(left), right)
    elif isinstance(right, _SEQUENCES) and isinstance(left, int):
        _check_repeat(len(right), left)
    elif isinstance(left, int) and isinstance(right, int):
        if left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise _limit("乘积过大", f"product would exceed {MAX_INT_BITS:,} bits")
    return left * right


def _guarded_imul(left: Any, right: Any) -> Any:
    if isinstance(left, list) and isinstance(right, int):
        _check_repeat(len(left), right)
        left *= right  # in place, like the original statement
        return left
    return _guarded_mul(left, right)


def _guarded_pow(base: Any, exponent: Any) -> Any:
    if isinstance(base, int) and isinstance(exponent, int) and _power_too_large(base, exponent):
        raise _limit("乘方结果过大", f"power result would exceed {MAX_INT_BITS:,} bits")
    return base**exponent


def _guarded_add(left: Any, right: Any) -> Any:
    if isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
        _check_length(len(left) + len(right))
    return left + right


def _guarded_iadd(left: Any, right: Any) -> Any:
    if isinstance(left, list):
        if isinstance(right, Collection):
            _check_length(len(left) + len(right))
        left += right  # in place: other names bound to the list see the change, as in plain Python
        return left
    return _guarded_add(left, right)


def _guarded_mod(left: Any, right: Any) -> Any:
    if isinstance(left, str):
        _check_printf(left)
        _guarded_render(right)
        # '%d' converts a Decimal argument to int: Decimal('1e999999999') would become a 400 MB int.
        arguments = right.values() if isinstance(right, Mapping) else right if isinstance(right, tuple) else ()
        for argument in arguments:
            _check_decimal_exponent(argument)
    return left % right


def _guarded_render(value: Any) -> Any:
    """Before a value becomes text: its text must stay below MAX_SIZE (shared references in a list
    render once per reference, so ``[[0] * 10_000] * 10_000`` is small in memory but not as text)."""
    _check_decimal_exponent(value)
    _check_weight(value, MAX_SIZE, "要转换为文本的值", "value rendered as text")
    return value


def _guarded_format(value: Any, spec: str, conversion: int) -> str:
    if conversion != -1:
        value = {ord("r"): repr, ord("s"): str, ord("a"): ascii}[conversion](_guarded_render(value))
    return format(_guarded_render(value), spec)


def _guarded_strftime(moment: date, template: str) -> str:
    # Called from this module's frame so CPython's internal ``import time`` finds real builtins.
    return moment.strftime(template)


def _guarded_replace(text: str, old: str, new: str, count: int = -1) -> str:
    if isinstance(old, str) and isinstance(new, str) and len(new) > len(old):
        hits = text.count(old) if old else len(text) + 1
        if count >= 0:
            hits = min(hits, count)
        _check_length(len(text) + hits * (len(new) - len(old)))
    return text.replace(old, new, count)


def _guarded_join(separator: str, items: Iterable[Any]) -> str:
    items = list(items)
    text_length = sum(len(item) for item in items if isinstance(item, str))
    _check_length(text_length + len(separator) * max(len(items) - 1, 0))
    return separator.join(items)


_STR_GROWING: Final[dict[str, Callable[..., str]]] = {"replace": _guarded_replace, "join": _guarded_join}

_STATIC_GUARDS: Final[Mapping[str, Callable[..., Any]]] = MappingProxyType(
    {
        "_zf_getattr": _guarded_getattr,
        "_zf_mul": _guarded_mul,
        "_zf_imul": _guarded_imul,
        "_zf_pow": _guarded_pow,
        "_zf_add": _guarded_add,
        "_zf_iadd": _guarded_iadd,
        "_zf_mod": _guarded_mod,
        "_zf_render": _guarded_render,
        "_zf_format": _guarded_format,
    }
)


def _check_repeat(length: int, times: int) -> None:
    if times > 0 and length * times > MAX_SIZE:
        raise _limit("序列重复过大", f"sequence repetition would exceed {MAX_SIZE:,} items")


def _check_length(length: int) -> None:
    if length > MAX_SIZE:
        raise _limit("结果过长", f"result would exceed {MAX_SIZE:,} items or characters")


def _check_decimal_exponent(value: Any) -> None:
    if isinstance(value, Decimal) and value.is_finite() and abs(value.adjusted()) > MAX_DECIMAL_EXPONENT:
        raise _limit("数值指数过大", f"decimal exponent beyond ±{MAX_DECIMAL_EXPONENT:,}")


def _check_weight(value: Any, limit: int, chinese: str, english: str) -> None:
    """Refuse ``value`` if, written out as a tree (what JSON or ``repr`` produce), it has more than
    ``limit`` items plus characters.

    Shared sub-structures are measured once (memo by ``id``), so ``[[0] * 10_000] * 1_000`` costs
    10,000 steps to find it weighs 10 million; cycles and absurd nesting count as over the limit.
    """
    if _weight(value, limit, {}, set(), 0) > limit:
        raise _limit(chinese + "超过上限", f"{english} exceeds {limit:,} items and characters")


_SCALARS: Final = frozenset({int, float, bool, type(None), Decimal, date, datetime, timedelta})
MAX_NESTING: Final = 200


def _weight(value: Any, limit: int, memo: dict[int, int], active: set[int], depth: int) -> int:
    if isinstance(value, str):
        return len(value) + 1
    if isinstance(value, range) or not isinstance(value, Collection):
        return 1
    key = id(value)
    if key in memo:
        return memo[key]
    if key in active or depth > MAX_NESTING:
        return limit + 1
    active.add(key)
    children: Iterable[Any] = itertools.chain(value.keys(), value.values()) if isinstance(value, Mapping) else value
    total = 1
    for child in children:
        total += 1 if type(child) in _SCALARS else _weight(child, limit, memo, active, depth + 1)
        if total > limit:
            break
    active.discard(key)
    memo[key] = total
    return total


def _limit(chinese: str, english: str) -> UnsafeExpression:
    return UnsafeExpression(f"{chinese} ({english})", details={"reason": "limit", "limit": english})


# ---------------------------------------------------------------------------------------------------
# SAFE_FUNCTIONS: wrappers where the builtin could be made to allocate or loop without bound
# ---------------------------------------------------------------------------------------------------
def _bounded_range(*args: int) -> range:
    """``range`` with at most MAX_RANGE items: ``sum(range(10**12))`` would pin a worker."""
    steps = range(*args)
    try:
        size = len(steps)
    except OverflowError:
        size = MAX_RANGE + 1
    if size > MAX_RANGE:
        raise _limit("range 过大", f"range() is limited to {MAX_RANGE:,} items")
    return steps


def _safe_sum(items: Iterable[Any], /, start: Any = 0) -> Any:
    """Numbers only: ``sum(lists, [])`` is quadratic and is what ``+`` guards exist to prevent."""
    if not isinstance(start, int | float | Decimal):
        raise TypeError("sum() 只能对数字求和 (sum() adds numbers only)")
    return sum(items, start)


def _safe_str(*args: Any) -> str:
    """``str`` after checking the text will be reasonably small."""
    if args:
        _guarded_render(args[0])
    return str(*args)


def _safe_int(value: Any = 0, *args: Any) -> int:
    """``int`` refusing decimals like ``1e999999999`` whose integer would fill memory, and results
    above MAX_INT_BITS: ``int('f' * 10**6, 16)`` parses in linear time (no digit limit for bases that
    are powers of two), but ``Decimal()`` of that 4-million-bit number then runs for ~20 s in C."""
    _check_decimal_exponent(value)
    result = int(value, *args)
    if result.bit_length() > MAX_INT_BITS:
        raise _limit("整数过大", f"integer would exceed {MAX_INT_BITS:,} bits")
    return result


def _safe_round(number: Any, ndigits: int | None = None) -> Any:
    """``round`` refusing ``round(5, -10**9)`` (computes 10**10**9) and huge decimals."""
    if ndigits is None:
        _check_decimal_exponent(number)
        return round(number)
    if not isinstance(ndigits, int) or abs(ndigits) > MAX_ROUND_DIGITS:
        raise _limit("round 位数过大", f"round() digits are limited to ±{MAX_ROUND_DIGITS}")
    return round(number, ndigits)


def _in_shanghai(moment: datetime) -> datetime:
    return moment.replace(tzinfo=clock.SHANGHAI) if moment.tzinfo is None else moment


SAFE_FUNCTIONS: Final[Mapping[str, Callable[..., Any]]] = MappingProxyType(
    {
        "len": len,
        "min": min,
        "max": max,
        "abs": abs,
        "round": _safe_round,
        "sum": _safe_sum,
        "str": _safe_str,
        "int": _safe_int,
        "float": float,
        "bool": bool,
        "Decimal": Decimal,
        "sorted": sorted,
        "any": any,
        "all": all,
        "list": list,
        "dict": dict,
        "tuple": tuple,
        "set": set,
        "range": _bounded_range,
        "date": date,
        "timedelta": timedelta,
        "parse_date": parse_date,
        "parse_datetime": parse_datetime,
        "now": now,
        "today": today,
    }
)
"""The functions every expression may call. ``date``/``timedelta`` are classes, but expressions can
only call them: attribute reads on classes are refused at run time (``date.today`` would bypass the
clock; ``now()``/``today()`` go through it). ``isinstance``/``type`` are left out on purpose: both
hand out class objects. Note: task data cannot use these names (SpiffWorkflow refuses scripts
whose task data would shadow a function)."""
