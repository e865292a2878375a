"""Generated Python-ish source against the restricted evaluator (engine/expressions.py).

Sources are built from a grammar of the constructs an attacker reaches for: attribute chains with
dunder names, lambdas, comprehensions, f-strings with format specs, huge exponents, repetition and
shifts, calls of dangerous builtins, walrus, statements in scripts. Property, for each source:

- it is refused at check time (``UnsafeExpression``), or
- it evaluates (or fails with an ordinary Python error) within a wall-clock bound, and
- nothing escaped: no audited interpreter event (import, open, os/subprocess, ``object.__getattr__``
  on frames and code, ...), no module/frame/code/class object in the result, no guard or builtins
  left in the task data, and the result is bounded in size.

The same sources go through SpiffWorkflow the way deployed files use them: as a DMN input cell
and as a timer expression.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine

from engine.errors import UnsafeExpression
from engine.expressions import (
    ALLOWED_ATTRIBUTES,
    MAX_SECONDS,
    SAFE_FUNCTIONS,
    RestrictedEnvironment,
    compile_restricted,
)
from tests.fuzz import fuzz
from tests.support.sandbox import assert_contained, dmn_workflow, run_workflow, timer_workflow, watching

pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")  # e.g. "1[2]": refused or a TypeError, as it should be
BOUND = MAX_SECONDS + 3.0  # the evaluator's own budget plus one bounded operation and a loaded CI core

# ------------------------------------------------------------------------------------------ grammar
NAMES = ["x", "s", "items", "d", "when", "amount", "y"]
HOSTILE_NAMES = ["__builtins__", "__import__", "__class__", "__loader__", "__spec__", "_zf_getattr", "_zf_call", "_",
                 "os", "sys", "open", "eval", "exec", "getattr", "setattr", "type", "object", "globals", "vars", "compile",
                 "breakpoint", "input", "super", "print", "iter", "next", "map", "zip", "memoryview", "bytearray"]
HOSTILE_ATTRIBUTES = ["__class__", "__subclasses__", "__globals__", "__dict__", "__mro__", "__bases__", "__base__",
                      "__builtins__", "__code__", "__self__", "__func__", "__init__", "__getattribute__", "__reduce_ex__",
                      "__closure__", "mro", "gi_frame", "gi_code", "f_back", "f_globals", "f_locals", "tb_frame", "format",
                      "format_map", "func", "args", "keywords", "real", "fromkeys", "today", "now", "fromtimestamp", "encode",
                      "center", "ljust", "zfill", "expandtabs", "translate", "co_consts", "cr_frame", "ag_frame"]
FUNCTIONS = sorted(SAFE_FUNCTIONS) + ["getattr", "eval", "__import__", "type", "vars", "iter", "next", "map", "filter",
                                       "zip", "enumerate", "reversed", "repr", "format", "chr", "pow", "divmod",
                                       "isinstance", "frozenset", "bytes", "deadline"]
LITERALS = ["0", "1", "-1", "7", "2", "10", "100000", "10 ** 9", "9 ** 9 ** 9", "2 ** 10000", "2 ** 100000", "10 ** 4000",
            "1e308", "-0.0", "None", "True", "False", "''", "'abc'", "'x' * 999999", "'%999999999d'", "'%*d'", "'%(a)s'",
            "'{0.__class__}'", "'{}'", "'2026-03-02'", "'P5D'", "'%Y-%m-%d'", "()", "[]", "{}", "[0] * 1000",
            "range(10000)", "range(10 ** 12)", "\"Decimal('1e999999999')\"", "Decimal('1e999999999')", "Decimal('NaN')",
            "int('f' * 1000000, 16)", "'ab'.join(['x'] * 1000)", "s.replace('', 'x' * 1000)", "date(2026, 3, 2)",
            "timedelta(days=10 ** 8)", "now()", "today()"]

SAFE_OPERATORS = ["+", "-", "*", "/", "//", "%", "**", "&", "|", "^", "and", "or", "<", "==", "in", "not in", "is"]
HOSTILE_OPERATORS = ["<<", ">>", "@"]


def _grammar(atoms: st.SearchStrategy[str], functions: list[str], attributes: list[str], operators: list[str],
             hostile: bool) -> st.SearchStrategy[str]:
    def compound(child: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        args = st.lists(child, max_size=3).map(", ".join)
        ops = st.sampled_from(operators)
        forms = [
            st.tuples(child, ops, child).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(st.sampled_from(["-", "not ", "~", "+"]), child).map(lambda t: f"({t[0]}{t[1]})"),
            st.tuples(child, st.sampled_from(attributes)).map(lambda t: f"({t[0]}).{t[1]}"),
            st.tuples(st.sampled_from(functions), args).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(child, st.sampled_from(attributes), args).map(lambda t: f"({t[0]}).{t[1]}({t[2]})"),
            st.tuples(child, child).map(lambda t: f"({t[0]})[{t[1]}]"),
            st.tuples(child, child).map(lambda t: f"({t[0]})[{t[1]}:]"),
            st.tuples(child, child).map(lambda t: f"[{t[0]} for y in {t[1]}]"),
            st.tuples(child, child, child).map(lambda t: f"{{y: {t[0]} for y in {t[1]} if {t[2]}}}"),
            st.tuples(child, child).map(lambda t: f"sum({t[0]} for y in {t[1]} for z in {t[1]})"),
            st.tuples(child, child).map(lambda t: f"[y * {t[0]} for y in {t[1]} for z in {t[1]} for w in {t[1]}]"),
            args.map(lambda a: f"[{a}]"),
            args.map(lambda a: f"({a},)"),
            st.tuples(child, child).map(lambda t: f"{{{t[0]}: {t[1]}}}"),
            st.tuples(child, child, child).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
            child.map(lambda c: f"f'{{{c}}}'"),
            st.tuples(child, st.sampled_from([">10", ">999", ".999f", "!r", "x", ",", "%"]))
            .map(lambda t: f"f'{{{t[0]}:{t[1]}}}'" if not t[1].startswith("!") else f"f'{{{t[0]}{t[1]}}}'"),
            child.map(lambda c: f"max(*{c})"),
            st.tuples(child, child).map(lambda t: f"('%s' % {t[0]}) * {t[1]}"),
            st.tuples(child, child).map(lambda t: f"str({t[0]}) * {t[1]}"),
        ]
        if hostile:
            forms += [
                child.map(lambda c: f"(lambda y: {c})(1)"),
                child.map(lambda c: f"(lambda: {c})"),
                st.tuples(child, child).map(lambda t: f"({t[0]} for y in {t[1]})"),
                st.tuples(child, st.sampled_from([">1000000000", "{1000000000}"])).map(lambda t: f"f'{{{t[0]}:{t[1]}}}'"),
                child.map(lambda c: f"(y := {c})"),
                st.tuples(st.sampled_from(functions), child).map(lambda t: f"{t[0]}(**{t[1]})"),
            ]
        return st.one_of(*forms)

    return st.recursive(atoms, compound, max_leaves=8)


safe_atoms = st.sampled_from(NAMES + LITERALS) | st.integers(-(10**6), 10**6).map(str) | st.text(max_size=10).map(repr)
hostile_atoms = safe_atoms | st.sampled_from(HOSTILE_NAMES)
# Only allowed constructs: these get past the checker and exercise the run-time guards.
allowed_expressions = _grammar(safe_atoms, sorted(SAFE_FUNCTIONS), sorted(ALLOWED_ATTRIBUTES), SAFE_OPERATORS, hostile=False)
# Everything an attacker would try; most are refused at check time, which is the point.
hostile_expressions = _grammar(hostile_atoms, FUNCTIONS, sorted(ALLOWED_ATTRIBUTES) + HOSTILE_ATTRIBUTES,
                               SAFE_OPERATORS + HOSTILE_OPERATORS, hostile=True)
expressions = allowed_expressions | hostile_expressions

_statement = st.one_of(
    expressions.map(lambda e: f"x = {e}"),
    expressions.map(lambda e: f"x += {e}"),
    expressions.map(lambda e: f"items *= {e}"),
    st.tuples(expressions, expressions).map(lambda t: f"for y in {t[0]}:\n    x = {t[1]}"),
    st.tuples(expressions, expressions).map(lambda t: f"for y in {t[0]}:\n    for z in {t[0]}:\n        x = {t[1]}"),
    expressions.map(lambda e: f"if {e}:\n    pass\nelse:\n    x = 1"),
    expressions.map(lambda e: f"d[{e}] = 1"),
    st.sampled_from(["del x", "del d['a']", "while True:\n    pass", "import os", "from os import system", "def f():\n    return 1",
                     "class A:\n    pass", "x.a = 1", "global x", "try:\n    pass\nexcept Exception:\n    pass",
                     "with open('/etc/passwd') as f:\n    pass", "raise SystemExit(1)", "assert False",
                     "y = x\nfor i in range(9999):\n    y = y + y",
                     "items = [items]\nfor i in range(9999):\n    items = [items, items]", "s = s * 999999\ns = s + s",
                     "__builtins__ = {}", "_zf_iter = list", "len = 5", "async def f():\n    pass", "x: int = 1"]),
)
scripts = st.lists(_statement, min_size=1, max_size=4).map("\n".join)


def context() -> dict[str, Any]:
    return {"x": 7, "s": "abc", "items": [1, 2, 3], "d": {"a": 1}, "when": "2026-03-02", "amount": Decimal("5000.50")}


# ------------------------------------------------------------------------------------------ properties
@fuzz(600, deadline_ms=15_000)
@given(source=expressions)
def test_generated_expressions_are_refused_or_evaluate_bounded_without_escaping(source: str) -> None:
    outcome = run_bounded(lambda: evaluate(source, "eval"))
    event("refused" if outcome is REFUSED else "failed" if isinstance(outcome, Exception) else "evaluated")
    if outcome is not REFUSED:
        assert_contained(outcome)


@fuzz(300, deadline_ms=15_000)
@given(source=scripts)
def test_generated_scripts_are_refused_or_run_bounded_without_escaping(source: str) -> None:
    outcome = run_bounded(lambda: evaluate(source, "exec"))
    event("refused" if outcome is REFUSED else "ran")
    if outcome is not REFUSED:
        assert_contained(outcome)
        assert not [key for key in outcome if key.startswith("_")], "guards or builtins left in the task data"


@fuzz(60, deadline_ms=15_000)
@given(cell=expressions | st.sampled_from(["-", "", ">= 100000", "? in ('a', 'b')", "10000 <= ? < 100000", "? .__class__",
                                           "__import__('os')", "not ?", "? * 10 ** 9"]))
def test_generated_dmn_input_cells_are_refused_or_decide_bounded(cell: str) -> None:
    run_bounded(lambda: run_workflow(dmn_workflow(cell), {"amount": 5000, "party_type": "organization"}))


@fuzz(60, deadline_ms=15_000)
@given(expression=expressions)
def test_generated_timer_expressions_are_refused_or_arm_bounded(expression: str) -> None:
    run_bounded(lambda: run_workflow(timer_workflow(expression), {"served_at": "2026-03-02T10:00:00", "limit_days": 15}))


def test_the_harness_notices_an_escape_and_a_hang() -> None:
    """The escape and time checks would catch the unrestricted engine (guards the harness itself)."""
    unrestricted = PythonScriptEngine()  # SpiffWorkflow's default: plain eval with full builtins
    with pytest.raises(AssertionError, match="audited event"), watching():
        unrestricted.environment.evaluate("open('/dev/null').close()", {})
    with pytest.raises(AssertionError, match="module"):
        assert_contained({"leak": sys})
    with pytest.raises(AssertionError, match="took"):
        run_bounded(lambda: time.sleep(1.0), bound=0.2)


# ------------------------------------------------------------------------------------------ harness
REFUSED = object()


def evaluate(source: str, mode: str) -> Any:
    try:
        compile_restricted(source, mode)  # type: ignore[arg-type]
    except UnsafeExpression:
        return REFUSED
    environment = RestrictedEnvironment()
    data = context()
    with watching():
        try:
            if mode == "eval":
                return environment.evaluate(source, data)
            environment.execute(source, data)
        except UnsafeExpression:
            pass
        except (ArithmeticError, LookupError, TypeError, ValueError, NameError, AttributeError, RecursionError,
                MemoryError) as error:
            if mode == "eval":
                return error
    return data  # a script's task data, whether it ran to the end or stopped on an error or a limit


def run_bounded(work: Callable[[], Any], bound: float = BOUND) -> Any:
    """Run ``work`` on a daemon thread; fail if it takes longer than ``bound`` (a hang cannot stall the suite)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = work()
        except BaseException as error:  # noqa: BLE001 - re-raised on the test's thread
            box["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(bound)
    elapsed = time.monotonic() - started
    assert not thread.is_alive() and elapsed <= bound, f"evaluation took more than {bound:.1f} s"
    if "error" in box:
        raise box["error"]
    return box["value"]
