"""Result sizes, generated: expressions and task instructions composed of the operations that grow a
value (``*``, ``%``, f-strings, unpacking, ``strftime``, ``~``, joins, loops) over data of random sizes.

Property, for each generated source: the evaluation (or rendering) either succeeds with a result within
the limits, or raises the typed refusal (``UnsafeExpression``), or an ordinary Python/Jinja error of a
source that does not make sense — and it never takes more than the CPU budget (plus one bounded
operation) nor allocates more than :data:`MEMORY_BOUND`. The last test runs the worst cases in a child
process whose address space is capped at about 300 MB above its baseline: each must be a clean
refusal, not a ``MemoryError`` or a killed process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
import tracemalloc
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from jinja2 import TemplateError

from engine.errors import UnsafeExpression
from engine.expressions import MAX_DATA_SIZE, MAX_ITEMS, MAX_SECONDS, MAX_SIZE, RestrictedEnvironment, compile_restricted
from engine.expressions.instructions_check import check_instructions
from engine.expressions.templates import (
    MAX_OUTPUT_CHARS,
    MAX_RENDER_SECONDS,
    render_instructions_text,
)
from tests.conftest import ROOT
from tests.fuzz import fuzz
from webui.instructions import render_instructions

pytestmark = [pytest.mark.filterwarnings("ignore::SyntaxWarning"), pytest.mark.timeout(600)]

MEMORY_BOUND = 200 * 2**20  # bytes traced during one evaluation: the limits keep it far below this
CPU_SLACK = 1.0  # one bounded operation past the budget, on a loaded CI core
ORDINARY = (ArithmeticError, LookupError, TypeError, ValueError, NameError, AttributeError, RecursionError)

SIZES = st.sampled_from([0, 1, 3, 100, 999, 10_000, 99_999, 333_333, 999_999, 1_000_000, 1_000_001, 2_500_000])
COUNTS = st.sampled_from([0, 1, 2, 3, 10, 100, 600, 1_000, 200_000, 10**9])
SMALL_COUNTS = st.sampled_from([1, 2, 3, 10, 50, 300])


@st.composite
def sized_data(draw: st.DrawFn) -> dict[str, Any]:
    """Strings, lists, a shared-reference list and a big integer of random sizes."""
    size, length, shared = draw(SIZES), draw(SIZES), draw(st.sampled_from([0, 10, 1_000, 100_000]))
    char = draw(st.sampled_from(["x", "中", "\U000e0001"]))  # repr of the last one is 10 characters
    s = char * min(size, 1_500_000)
    l = list(range(min(length, 1_500_000)))  # noqa: E741 - the grammar's short name
    return {
        "s": s, "l": l, "t": tuple(l[:100_000]), "d": {"a": s, "b": l[:10]}, "n": 2 ** draw(st.sampled_from([1, 100, 9_000])),
        "u": [s[:1_000]] * shared, "w": date(2026, 3, 2), "fmt": draw(st.sampled_from(["%c", "%Y年", "%A", "%%"])) * draw(SIZES),
        "tmpl": draw(st.sampled_from(["%(a)s", "%s", "%r", "%999d", "%.3f|"])) * min(draw(SIZES), 400_000),
    }


def _grow(texts: st.SearchStrategy[str], lists: st.SearchStrategy[str]) -> tuple[st.SearchStrategy[str], st.SearchStrategy[str]]:
    """One level of growth: every form builds a string or a list from smaller ones (typed, so that most
    sources run into the size guards rather than a TypeError)."""
    text = st.one_of(
        st.tuples(texts, COUNTS).map(lambda t: f"({t[0]} * {t[1]})"),
        st.tuples(texts, texts).map(lambda t: f"({t[0]} + {t[1]})"),
        lists.map(lambda c: f"(tmpl % tuple({c}))"),
        st.just("(tmpl % d)"),
        st.tuples(st.sampled_from(["'%(a)s'", "'%s'", "'%r'", "'%999s'", "'%(b)s%(a)r'"]), COUNTS, texts)
        .map(lambda t: f"(({t[0]} * {t[1]}) % {{'a': {t[2]}, 'b': l}})"),
        st.tuples(texts, SMALL_COUNTS, st.sampled_from(["", "!r", "!a", ":>999", ":"]))
        .map(lambda t: "f'" + ("{" + t[0] + t[2] + "}") * t[1] + "'"),
        st.tuples(texts, texts).map(lambda t: f"{t[0]}.replace('', {t[1]})"),
        st.tuples(texts, texts, SMALL_COUNTS).map(lambda t: f"{t[0]}.join([{t[1]}] * {t[2]})"),
        lists.map(lambda c: f"str({c})"),
        st.sampled_from(["w.strftime(fmt)", "f'{w:%c%c%c}'", "f'{w:" + "%A" * 400 + "}'",
                         "parse_datetime('2026-03-02').strftime(fmt)", "str(n)", "d['a']", "s.upper()"]),
    )
    listing = st.one_of(
        st.tuples(lists, COUNTS).map(lambda t: f"({t[0]} * {t[1]})"),
        st.tuples(lists, lists).map(lambda t: f"({t[0]} + {t[1]})"),
        st.tuples(lists, SMALL_COUNTS).map(lambda t: "[" + ", ".join([f"*{t[0]}"] * t[1]) + "]"),
        st.tuples(lists, SMALL_COUNTS).map(lambda t: "[*(" + ", ".join([f"*{t[0]}"] * t[1]) + ",)]"),
        st.tuples(texts, SMALL_COUNTS).map(lambda t: "[*" + ", *".join([t[0]] * t[1]) + "]"),
        st.tuples(texts, COUNTS).map(lambda t: f"[{t[0]}] * {t[1]}"),
        st.tuples(lists, SMALL_COUNTS).map(lambda t: "[max(" + ", ".join([f"*{t[0]}"] * t[1]) + ", 0)]"),
        st.tuples(lists, SMALL_COUNTS).map(lambda t: "list({" + ", ".join(["**d"] * t[1]) + f", 'k': {t[0]}" + "})"),
        lists.map(lambda c: f"[y for y in {c}]"),
        texts.map(lambda c: f"{c}.split()"),
    )
    return text, listing


TEXT_ATOMS = st.sampled_from(["s", "d['a']", "str(n)", "fmt"])
LIST_ATOMS = st.sampled_from(["l", "u", "list(t)"])
_TEXTS_1, _LISTS_1 = _grow(TEXT_ATOMS, LIST_ATOMS)
_TEXTS_2, _LISTS_2 = _grow(_TEXTS_1, _LISTS_1)
sized_expressions = _TEXTS_1 | _LISTS_1 | _TEXTS_2 | _LISTS_2  # one or two levels of growth


def _measure(work: Callable[[], Any]) -> tuple[Any, float, int]:
    """(outcome, CPU seconds of this thread, peak bytes allocated). Run twice: the CPU time without
    tracemalloc (which slows allocation-heavy code tenfold), the peak with it."""
    started = time.thread_time()
    try:
        outcome: Any = work()
    except BaseException as error:  # noqa: BLE001 - classified by the caller
        outcome = error
    spent = time.thread_time() - started
    outcome = None  # free it before measuring the allocations of a second run
    tracemalloc.start()
    try:
        outcome = work()
    except BaseException as error:  # noqa: BLE001 - the same outcome, this time traced
        outcome = error
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return outcome, spent, peak


@fuzz(60, deadline_ms=30_000)
@given(source=sized_expressions, data=sized_data())
def test_generated_result_sizes_are_bounded_or_refused(source: str, data: dict[str, Any]) -> None:
    try:
        compile_restricted(source, "eval")
    except UnsafeExpression:
        event("refused at check time")
        return
    outcome, spent, peak = _measure(lambda: RestrictedEnvironment().evaluate(source, dict(data)))
    if isinstance(outcome, UnsafeExpression):
        event("refused: " + outcome.details.get("limit", "?")[:40] if isinstance(outcome.details, dict) else "refused")
        assert outcome.message[0] > "\u2e80", "中文说明 (English)"
    elif isinstance(outcome, ORDINARY):
        event(f"ordinary {type(outcome).__name__}")
    elif isinstance(outcome, BaseException):
        raise AssertionError(f"{source!r} raised {outcome!r}") from outcome
    else:
        event("evaluated")
        sizes = {key: len(value) for key, value in data.items() if isinstance(value, str | list | tuple)}
        try:
            _assert_bounded(outcome, max(sizes.values()))
        except AssertionError as error:
            raise AssertionError(f"{source!r} with input sizes {sizes}: {error}") from None
    assert spent < MAX_SECONDS + CPU_SLACK, f"{source!r} used {spent:.2f} s of CPU"
    assert peak < MEMORY_BOUND, f"{source!r} allocated {peak / 2**20:.0f} MB"


def _assert_bounded(value: Any, largest_input: int) -> None:
    """What an operation builds stays within MAX_SIZE; a value passed through (``d['a']``) may be as
    large as the data it came from."""
    if isinstance(value, str | list | tuple | set | dict):
        limit = MAX_SIZE if isinstance(value, str) else MAX_ITEMS
        assert len(value) <= max(limit, largest_input), f"a result of {len(value):,} items or characters"
    from engine.expressions.guards import weight

    assert weight(value, MAX_DATA_SIZE) <= MAX_DATA_SIZE


# ------------------------------------------------------------------------------------------ templates
def _jinja(child: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    expression = st.sampled_from(["s", "l", "n", "d.a", "items", "'ab'", "7", "range(3)"])
    return st.one_of(
        st.tuples(child, child).map(lambda t: t[0] + t[1]),
        st.tuples(expression, COUNTS).map(lambda t: f"{{{{ {t[0]} * {t[1]} }}}}"),
        st.tuples(expression, expression).map(lambda t: f"{{{{ {t[0]} ~ {t[1]} }}}}"),
        st.tuples(expression, st.sampled_from(["9", "99", "9 ** 8", "n"])).map(lambda t: f"{{{{ {t[0]} ** {t[1]} }}}}"),
        st.tuples(st.sampled_from(["'%s'", "'%(a)s'", "'%999s'", "'%999999999s'"]), COUNTS, expression)
        .map(lambda t: f"{{{{ ({t[0]} * {t[1]}) % {t[2]} }}}}"),
        st.tuples(st.sampled_from(["'%s|'", "'%999999999s'", "'%.2f'"]), expression).map(lambda t: f"{{{{ {t[0]}|format({t[1]}) }}}}"),
        st.tuples(expression, expression).map(lambda t: f"{{{{ {t[0]}|join({t[1]}) }}}}"),
        st.tuples(expression, expression).map(lambda t: f"{{{{ {t[0]}|replace('', {t[1]}) }}}}"),
        st.tuples(st.sampled_from(["range(1000)", "range(n)", "items", "l", "range(10 ** 9)"]), child)
        .map(lambda t: f"{{% for i in {t[0]} %}}{t[1]}{{% endfor %}}"),
        st.tuples(child, COUNTS).map(lambda t: f"{{% set x %}}{t[0]}{{% endset %}}{{{{ x * {t[1]} }}}}"),
        st.tuples(expression, SMALL_COUNTS).map(lambda t: f"{{% set x = {t[0]} %}}" + "{% set x = x ~ x %}" * t[1] + "{{ x|length }}"),
        st.tuples(child, SMALL_COUNTS).map(lambda t: f"{{% macro m(k) %}}{t[0]}{{% endmacro %}}" + "{{ m(1) }}" * t[1]),
        st.sampled_from(["{{ 1/0 }}", "{{ missing.x.y }}", "{{ s.__class__ }}", "{{ 'x'.center(999999999) }}", "{{ lipsum(10**6) }}",
                         "{% include 'x' %}", "{{ s", "{{ s|center(9) }}", "{{ 5|round(-999999999) }}", "{{ (2).to_bytes(10**9) }}"]),
    )


templates = st.recursive(st.sampled_from(["", "办理说明：", "{{ s|length }}", "{{ n }}"]), _jinja, max_leaves=5)


@fuzz(60, deadline_ms=30_000)
@given(template=templates, data=sized_data())
def test_generated_instructions_render_bounded_or_fail_cleanly(template: str, data: dict[str, Any]) -> None:
    context = {**data, "items": data["l"][:5_000], "n": 1_000}
    check_instructions(template)  # never raises: a list of located problems
    outcome, spent, peak = _measure(lambda: render_instructions_text(template, context))
    if isinstance(outcome, str):
        event("rendered")
        assert len(outcome) <= MAX_OUTPUT_CHARS
    elif isinstance(outcome, UnsafeExpression):
        event("refused")
    elif isinstance(outcome, (TemplateError, *ORDINARY)):
        event(f"failed {type(outcome).__name__}")
    else:
        raise AssertionError(f"{template!r} raised {outcome!r}") from outcome
    assert spent < MAX_RENDER_SECONDS + CPU_SLACK, f"{template!r} used {spent:.2f} s of CPU"
    assert peak < MEMORY_BOUND, f"{template!r} allocated {peak / 2**20:.0f} MB"
    assert "<script" not in render_instructions(template, context)  # the page never fails


# ------------------------------------------------------------------------------------------ worst cases
# Each of these, before its guard, asked for gigabytes (or ran for minutes).
WORST_EXPRESSIONS = {
    "printf repeating one argument": ("('%(a)s' * 200000) % {'a': 'x' * 990000}", {}),
    "printf widths from data": ("tmpl % tuple(l)", {"tmpl": "%999s" * 200_000, "l": list(range(200_000))}),
    "list unpacking": ("[" + ", ".join(["*l"] * 300) + "]", {"l": list(range(90_000))}),
    "call unpacking": ("max(" + ", ".join(["*l"] * 300) + ")", {"l": list(range(90_000))}),
    "dict unpacking": ("{" + ", ".join(["**d"] * 300) + "}", {"d": {i: i for i in range(90_000)}}),
    "f-string of 600 copies": ("f'" + "{s}" * 600 + "'", {"s": "x" * 900_000}),
    "f-string of reprs": ("f'" + "{s!r}" * 300 + "'", {"s": "\U000e0001" * 900_000}),
    "strftime of a huge template": ("w.strftime(fmt)", {"w": date(2026, 3, 2), "fmt": "%c" * 400_000}),
    "datetime format spec": ("f'{w:" + "%c" * 3000 + "}'", {"w": datetime(2026, 3, 2)}),
    "text of shared big integers": ("str([n] * 100000)", {"n": 2**9_000}),
    "replace": ("s.replace('', s)", {"s": "x" * 900_000}),
    "a display of 300 copies": ("[" + ", ".join(["l[:]"] * 300) + "]", {"l": list(range(99_999))}),
    "lists of fresh characters": ("[list(s) for i in range(200)]", {"s": "\U000e0001" * 99_999}),
    "chained formats (CPU)": ("sum([" + ", ".join(["len(tmpl % d)"] * 200) + "])", {"tmpl": "%(a)s" * 200_000, "d": {"a": "z" * 5}}),
}
WORST_TEMPLATES = {
    "format filter width": "{{ '%999999999s'|format(1) }}",
    "power": "{{ 9**(9**8) }}",
    "concat doubling": "{% set s = 'xxxxxxxxxx' %}" + "{% set s = s ~ s %}" * 60 + "{{ s|length }}",
    "captured block": "{% set s %}{% for i in range(1000) %}" + "y" * 10_000 + "{% endfor %}{% endset %}{{ s|length }}",
    "repeat": "{{ 'x' * 999999999 }}",
    "nested loops (CPU)": ("{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}"
                           "{% endfor %}{% endfor %}{% endfor %}"),
    "exponential macro (CPU)": "{% macro f(n) %}{% if n > 0 %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(60) }}",
}

_CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    from datetime import date, datetime
    from engine.errors import UnsafeExpression
    from engine.expressions import RestrictedEnvironment
    from engine.expressions.templates import render_instructions_text

    cases = json.loads(sys.stdin.read())

    def vm_bytes():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * resource.getpagesize()

    def build(data):
        data = dict(data)
        for key, value in list(data.items()):
            if isinstance(value, list) and value[:1] == ["__eval__"]:
                data[key] = eval(value[1])
        return data

    prepared = [(kind, name, source, build(data)) for kind, name, source, data in cases]
    cap = vm_bytes() + 300 * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    results = []
    for kind, name, source, data in prepared:
        started = time.thread_time()
        try:
            if kind == "expression":
                RestrictedEnvironment().evaluate(source, data)
            else:
                render_instructions_text(source, data)
            outcome = "completed"
        except UnsafeExpression as error:
            outcome = "refused: " + error.message[:80]
        except MemoryError:
            outcome = "MemoryError"
        except Exception as error:
            outcome = f"{type(error).__name__}: {error}"[:120]
        results.append({"name": name, "outcome": outcome, "cpu": time.thread_time() - started})
    print(json.dumps(results))
    """
)


def _transportable(data: dict[str, Any]) -> dict[str, Any]:
    """Big data is rebuilt in the child (before the cap), from the expression that makes it."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, list) and len(value) > 1000:
            out[key] = ["__eval__", f"list(range({len(value)}))"]
        elif isinstance(value, dict) and len(value) > 1000:
            out[key] = ["__eval__", f"{{i: i for i in range({len(value)})}}"]
        elif isinstance(value, datetime):
            out[key] = ["__eval__", f"datetime.fromisoformat({value.isoformat()!r})"]
        elif isinstance(value, date):
            out[key] = ["__eval__", f"date.fromisoformat({value.isoformat()!r})"]
        elif isinstance(value, int) and value.bit_length() > 60:
            out[key] = ["__eval__", f"2 ** {value.bit_length() - 1}"]
        else:
            out[key] = value
    return out


def test_worst_cases_are_clean_refusals_under_a_capped_address_space() -> None:
    cases = [("expression", name, source, _transportable(data)) for name, (source, data) in WORST_EXPRESSIONS.items()]
    cases += [("template", name, source, {}) for name, source in WORST_TEMPLATES.items()]
    done = subprocess.run([sys.executable, "-c", _CHILD], input=json.dumps(cases), cwd=ROOT, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, f"the child was killed or failed ({done.returncode}): {done.stderr[-2000:]}"
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert [r["name"] for r in results] == list(WORST_EXPRESSIONS) + list(WORST_TEMPLATES)
    for result in results:
        assert result["outcome"].startswith("refused: "), result  # never a MemoryError, never a kill
        budget = MAX_RENDER_SECONDS if result["name"] in WORST_TEMPLATES else MAX_SECONDS
        if "(CPU)" in result["name"]:
            assert "CPU time" in result["outcome"] or "loop steps" in result["outcome"], result
            assert result["cpu"] < budget + 0.5, result  # stopped by the budget itself
        else:
            assert result["cpu"] < min(budget, 2.0), result  # refused before the work: well inside 2 s
