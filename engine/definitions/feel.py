"""FEEL and JUEL written where zhifa expects Python: recognised, and the Python form to write instead.

Camunda 7 writes conditions in JUEL (``${amount > 5}``, ``#{ok}``), Zeebe in FEEL behind an ``=``
(``=amount > 5``), and DMN editors fill decision tables with FEEL unary tests (``[5..8]``,
``"a","b"``, ``not("a")``, ``true``, ``null``). zhifa evaluates every one of these places as Python
(engine/expressions). Some FEEL is a Python syntax error (``[5..8]``, ``x = 5``) and would get only a
bare "syntax error"; some is valid Python that means something else and would deploy and then
match wrongly:

- ``true`` / ``false`` / ``null`` are undefined names in Python (a NameError when the case reaches them);
- a DMN cell ``"a","b"`` is a tuple, and SpiffWorkflow's ``(input) == ("a", "b")`` is never true;
- a DMN cell ``not("a")`` is ``(input) == (not "a")``, i.e. ``input == False``.

This module only reads text. :func:`expression_hint` takes a condition, timer, loop expression or
DMN output cell; :func:`cell_hint` a DMN input cell (a unary test: ``?`` stands for the column's input
value, a bare value is compared for equality, ``< 5`` is appended to the input). Each answers None
when the text is not FEEL/JUEL (valid Python, or a Python error with no FEEL in it, which the
ordinary expression check reports), or a :class:`Hint` with the dialect and, when the translation is
simple, the Python to write. A translation is offered only if it passes the restricted evaluator's
check; nothing is converted silently: the designer sees the equivalent and writes it.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from engine.definitions.runnable import ENGINE_FUNCTIONS
from engine.errors import UnsafeExpression
from engine.expressions import check_expression
from engine.expressions.functions import SAFE_FUNCTIONS

PLACEHOLDER = "dmninputexpr"  # what SpiffWorkflow's DMNEngine puts for "?"
FEEL_LITERALS = {"true": "True", "false": "False", "null": "None"}
_STRING = r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\''
_JUEL = re.compile(r"^\s*[$#]\{(?P<inner>.*)\}\s*$", re.DOTALL)
_RANGE = re.compile(r"^(?P<open>[\[(\]])\s*(?P<low>.+?)\s*\.\.\s*(?P<high>.+?)\s*(?P<close>[\])\[])$", re.DOTALL)
# Unmistakable FEEL/JUEL; a lone "=" (FEEL's equality) counts only when reading it as "==" gives valid Python,
# so that a plain typo such as "a == = b" keeps its ordinary syntax error.
_FEEL_SIGNS = re.compile(r"\.\.|\bbetween\b|\bdate and time\(|\bduration\(|&&|\|\||\btrue\b|\bfalse\b|\bnull\b")
_JUEL_WORDS = {"eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=", "ge": ">=", "and": "and", "or": "or", "not": "not"}


@dataclass(frozen=True)
class Hint:
    dialect: str  # "FEEL" or "JUEL"
    python: str | None  # the Python to write, when the translation is simple


def expression_hint(source: str) -> Hint | None:
    """A condition, timer, loop or DMN output expression written in FEEL or JUEL, or None."""
    text = source.strip()
    if not text:
        return None
    juel = _JUEL.match(text)
    if juel:
        return Hint("JUEL", _checked(_translate(juel.group("inner"), juel=True)))
    if text.startswith("=") and not text.startswith("=="):
        return Hint("FEEL", _checked(_translate(text[1:])))
    if _parses(text):
        if _feel_names(text) or _dated(text):
            return Hint("FEEL", _checked(_translate(text)))
        return None
    dialect = "JUEL" if re.search(r"&&|\|\|", text) else "FEEL"
    python = _checked(_translate(text, juel=dialect == "JUEL"))
    if python is not None or _FEEL_SIGNS.search(_without_strings(text)):
        return Hint(dialect, python)
    return None


def cell_hint(source: str, input_expression: str = "") -> Hint | None:
    """A DMN input cell written as a FEEL (or JUEL) unary test, or None."""
    text = source.strip()
    if text in ("", "-"):
        return None
    juel = _JUEL.match(text)
    if juel:
        inner = _translate(juel.group("inner"), juel=True)
        name = input_expression.strip()
        if name.isidentifier():  # Camunda's JUEL cells name the input variable: ${amount > 5}
            inner = re.sub(rf"\b{re.escape(name)}\b", "?", inner)
        return Hint("JUEL", _checked_cell(inner))
    parts = _split(text)
    if len(parts) > 1:
        return Hint("FEEL", _list_test(parts))
    negated = re.fullmatch(r"not\s*\((?P<inner>.*)\)", text, re.DOTALL)
    if negated and "?" not in text:
        inner = _split(negated.group("inner"))
        tests = [_unary(p) for p in inner]
        literals = [_literal(p) for p in inner]
        if all(lit is not None for lit in literals):
            shown = literals[0] if len(literals) == 1 else f"({', '.join(literals)})"  # type: ignore[arg-type]
            return Hint("FEEL", f"? != {shown}" if len(literals) == 1 else f"? not in {shown}")
        if all(tests):
            return Hint("FEEL", _checked_cell("not (" + " or ".join(tests) + ")"))  # type: ignore[arg-type]
        return Hint("FEEL", None)
    if re.match(r"^=(?!=)", text):
        return Hint("FEEL", _checked_cell(f"? == {_translate(text[1:])}"))
    if _cell_parses(text):
        if _feel_names(text.replace("?", PLACEHOLDER)):
            return Hint("FEEL", _checked_cell(_translate(text)))
        if _dated(text):
            return Hint("FEEL", _checked_cell(_translate(text)))
        return None
    python = _checked_cell(_unary(text) or "")
    if python is not None or _FEEL_SIGNS.search(_without_strings(text)):
        return Hint("FEEL", python)
    return None


# ---------------------------------------------------------------------------------------------- cells
def _list_test(parts: list[str]) -> str | None:
    """``"a","b"`` → ``? in ("a", "b")``; ``< 5, > 10`` → ``? < 5 or ? > 10``."""
    literals = [_literal(p) for p in parts]
    if all(lit is not None for lit in literals):
        return _checked_cell(f"? in ({', '.join(literals)})")  # type: ignore[arg-type]
    tests = [_unary(p) for p in parts]
    if all(tests):
        return _checked_cell(" or ".join(tests))  # type: ignore[arg-type]
    return None


def _unary(part: str) -> str | None:
    """One FEEL unary test as a Python test of ``?``."""
    text = part.strip()
    range_test = _range(text)
    if range_test is not None:
        return range_test
    operator = re.match(r"^(<=|>=|!=|<|>|=)\s*(.+)$", text, re.DOTALL)
    if operator:
        sign = "==" if operator.group(1) == "=" else operator.group(1)
        return f"? {sign} {_translate(operator.group(2))}"
    if "?" in text:
        return _translate(text)
    value = _translate(text)
    if _parses(value) and isinstance(ast.parse(value, mode="eval").body, ast.Compare | ast.BoolOp):
        return None  # a test of other data, not of the input: no simple equivalent
    return f"? is {value}" if value in ("True", "False", "None") else f"? == {value}"


def _range(text: str) -> str | None:
    """``[5..8]`` → ``5 <= ? <= 8``; ``(5..8]`` and ``]5..8]`` exclude 5, ``[5..8)`` and ``[5..8[`` exclude 8."""
    match = _RANGE.match(text.strip())
    if match is None:
        return None
    low = "<=" if match.group("open") == "[" else "<"
    high = "<=" if match.group("close") == "]" else "<"
    return f"{_translate(match.group('low'))} {low} ? {high} {_translate(match.group('high'))}"


def _literal(part: str) -> str | None:
    """A FEEL literal (string, number, true/false/null) as Python source, or None."""
    text = _translate(part.strip())
    try:
        ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return text


def _split(text: str) -> list[str]:
    """Top-level comma-separated parts (commas inside strings, brackets or calls do not split)."""
    parts, depth, current, quote = [], 0, [], ""
    for index, char in enumerate(text):
        if quote:
            current.append(char)
            if char == quote and text[index - 1] != "\\":
                quote = ""
            continue
        if char in "\"'":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth <= 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


# ---------------------------------------------------------------------------------------------- translation
def _translate(text: str, juel: bool = False) -> str:
    """Token-level FEEL/JUEL → Python: literals, ``=`` → ``==``, JUEL operators, dates, ``between``."""
    pieces = re.split(f"({_STRING})", text.strip())
    out = []
    for index, piece in enumerate(pieces):
        if index % 2:  # a string literal: FEEL strings are double-quoted, as Python's may be
            out.append(piece)
            continue
        piece = re.sub(r"\bdate and time\s*\(", "parse_datetime(", piece)
        if re.search(r"\bduration\s*\(\s*$", piece) and _next_is_string(pieces, index):
            python = _timedelta(pieces[index + 1])
            if python is not None:
                piece, pieces[index + 1] = re.sub(r"\bduration\s*\(\s*$", "", piece), python
                pieces[index + 2] = re.sub(r"^\s*\)", "", pieces[index + 2]) if index + 2 < len(pieces) else ""
        piece = re.sub(r"\bdate\s*\(\s*$", "parse_date(", piece) if _next_is_string(pieces, index) else piece
        for feel, python in FEEL_LITERALS.items():
            piece = re.sub(rf"\b{feel}\b", python, piece)
        if juel:
            piece = piece.replace("&&", " and ").replace("||", " or ")
            piece = re.sub(r"!(?!=)", " not ", piece)
            piece = re.sub(r"\b(eq|ne|lt|gt|le|ge)\b", lambda m: _JUEL_WORDS[m.group(1)], piece)
            piece = re.sub(r"\bempty\s+", "not ", piece)
        piece = re.sub(r"(?<![<>!=])=(?!=)", "==", piece)
        out.append(piece)
    python = "".join(out)
    between = re.fullmatch(r"\s*(?P<x>[\w.]+)\s+between\s+(?P<a>\S+)\s+and\s+(?P<b>\S+)\s*", python)
    if between:
        python = f"{between.group('a')} <= {between.group('x')} <= {between.group('b')}"
    python = re.sub(r"\s*==\s*None\b", " is None", python)
    python = re.sub(r"\s*!=\s*None\b", " is not None", python)
    return re.sub(r"\s+", " ", python).strip()


_DURATION = re.compile(r'^"P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?'
                       r'(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?"$')


def _timedelta(literal: str) -> str | None:
    """``"P3D"`` → ``timedelta(days=3)``; None for years or months, which have no fixed length."""
    match = _DURATION.match(literal)
    if match is None or not any(match.groupdict().values()):
        return None
    return "timedelta(" + ", ".join(f"{unit}={int(n)}" for unit, n in match.groupdict().items() if n) + ")"


def _next_is_string(pieces: list[str], index: int) -> bool:
    return index + 1 < len(pieces) and pieces[index + 1].startswith('"')


def _checked(python: str) -> str | None:
    """``python`` if the restricted evaluator accepts it and it calls only functions zhifa offers."""
    try:
        tree = check_expression(python, "eval")
    except (UnsafeExpression, SyntaxError, ValueError, RecursionError):
        return None
    called = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    return python if called <= set(SAFE_FUNCTIONS) | ENGINE_FUNCTIONS else None


def _checked_cell(python: str) -> str | None:
    """``python`` if it is a cell zhifa accepts: a test of ``?``, a value, or an operator-led comparison."""
    if not python:
        return None
    probe = python.replace("?", PLACEHOLDER)
    if "?" not in python and not _parses(probe):
        probe = f"{PLACEHOLDER} {probe}"
    return python if _checked(probe) is not None else None


def _parses(text: str) -> bool:
    try:
        ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _cell_parses(text: str) -> bool:
    """The cell is valid Python in one of the three forms SpiffWorkflow's DMNEngine makes of it."""
    if "?" in text:
        return _parses(text.replace("?", PLACEHOLDER))
    return _parses(text) or _parses(f"{PLACEHOLDER} {text}")


def _feel_names(text: str) -> bool:
    """``true``/``false``/``null`` read as names: FEEL literals that Python does not define."""
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return any(isinstance(node, ast.Name) and node.id in FEEL_LITERALS for node in ast.walk(tree))


def _dated(text: str) -> bool:
    """FEEL's temporal functions, which are valid Python but not zhifa's: ``date("2020-01-01")`` (zhifa's
    ``date`` is Python's, of year, month, day), ``date and time("…")`` (Python reads ``date and time(…)``)
    and ``duration("P1D")``."""
    return re.search(r"\bdate\s*\(\s*\"|\bdate and time\s*\(|\bduration\s*\(\s*\"", text) is not None


def _without_strings(text: str) -> str:
    return re.sub(_STRING, '""', text)


HINT_MARK = " 写法；zhifa "  # in every message hint_message writes (foreign.py finds them by it)
_PLACES = {  # where the text was found: (Chinese, English)
    "condition": ("条件", "condition"),
    "timer": ("定时器表达式", "timer expression"),
    "loop": ("多实例表达式", "multi-instance expression"),
    "script": ("脚本", "script"),
    "output": ("决策表输出单元格", "DMN output cell"),
    "input": ("决策表输入表达式", "DMN input expression"),
}


def hint_message(hint: Hint, source: str, place: str) -> str:
    """What the designer reads: where, which dialect, and the Python to write (or how to write it)."""
    shown = _short(source)
    if place == "cell":
        head = (f"决策表输入单元格 `{shown}` 是 {hint.dialect} 写法；zhifa 的输入单元格是 Python 测试"
                f"（? 代表本列的输入值，单独写一个值表示等于它，也可以写 >= 10000 这样以运算符开头的比较）")
        english = f"DMN input cell `{shown}` is {hint.dialect}; zhifa input cells are Python tests of ? (the column's input value)"
        example = '5 <= ? <= 8、? in ("a", "b")、? != "a"、True、None'
    else:
        chinese_place, english_place = _PLACES.get(place, _PLACES["condition"])
        head = f"{chinese_place} `{shown}` 是 {hint.dialect} 写法；zhifa 按 Python 表达式计算{chinese_place}"
        english = f"{english_place} `{shown}` is {hint.dialect}; zhifa evaluates Python"
        example = 'amount > 5、kind == "a" and not approved、x is None、parse_date("2020-01-01")'
    if hint.python is not None:
        return f"{head}：请写成 `{hint.python}` ({english}: write `{hint.python}`)"
    return f"{head}：请改写为 Python，例如 {example} ({english}: rewrite it in Python)"


def _short(source: str) -> str:
    text = " ".join(source.split())
    return text if len(text) <= 120 else text[:117] + "..."
