"""Results the restricted evaluator bounds *before* computing them (issue 20, item 3).

Each bomb below passed the static check and the old guards, which looked at the operands and not at
the result: ``%`` repeating one argument per ``%(a)s``, unpacking, f-strings with many parts, long
``strftime`` templates, and chains of operations that together ran for seconds past the budget. Each
is now refused with ``UnsafeExpression`` whose Chinese-first message names the limit, before the
memory is taken; ordinary formatting is unchanged (checked against CPython's own results).
"""

from __future__ import annotations

import time
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.errors import UnsafeExpression
from engine.expressions import (
    MAX_SECONDS,
    MAX_SIZE,
    MAX_STRFTIME_CHARS,
    RestrictedEnvironment,
    check_expression,
)
from engine.expressions.guards import printf_directives, printf_size
from engine.models import ProcessInstance, Task, db
from tests.conftest import user
from tests.support.bundles import MINI_BPMN, PARTY, add_script_task, original, with_file
from tests.support.expressions import give_data, unsafe_cause, workflow_from_template

BIG = "x" * 990_000


def run(source: str, data: dict[str, Any] | None = None) -> Any:
    env = RestrictedEnvironment()
    data = dict(data or {})
    try:
        compile(source, "<t>", "eval")
    except SyntaxError:
        env.execute(source, data)
        return data
    return env.evaluate(source, data)


# (source, data, a fragment of the message naming the limit)
BOMBS = [
    pytest.param("('%(a)s' * 200000) % {'a': 'x' * 990000}", {}, "%-formatting result would exceed 1,000,000",
                 id="printf-one-arg-repeated"),
    pytest.param("fmt % {'a': big}", {"fmt": "%(a)s" * 200_000, "big": BIG}, "%-formatting result would exceed", id="printf-from-data"),
    pytest.param("fmt % tuple(args)", {"fmt": "%s" * 2000, "args": [BIG[:1000]] * 2000}, "%-formatting result", id="printf-many-args"),
    pytest.param("('%999s' * 2000) % tuple(range(2000))", {}, "%-formatting result", id="printf-widths-add-up"),
    pytest.param("fmt % {'(a)': 1}", {"fmt": "%((a))999999999s"}, "%-format widths above 999", id="printf-nested-key-width"),
    pytest.param("fmt % 1", {"fmt": "%.999999999f"}, "%-format widths above 999", id="printf-precision"),
    pytest.param("[*a, *a, *a]", {"a": list(range(40_000))}, "unpacking would build more than 100,000 items", id="list-unpacking"),
    pytest.param("(*a, *a, *a)", {"a": list(range(40_000))}, "unpacking would build", id="tuple-unpacking"),
    pytest.param("{*a, *b, *c}", {"a": list(range(40_000)), "b": list(range(40_000, 80_000)),
                                  "c": list(range(80_000, 120_000))}, "unpacking would build", id="set-unpacking"),
    pytest.param("{**a, **b}", {"a": {str(i): i for i in range(60_000)}, "b": {str(-i): i for i in range(60_000)}},
                 "unpacking would build", id="dict-unpacking"),
    pytest.param("max(*a, *a, *a)", {"a": list(range(40_000))}, "unpacking would build", id="call-unpacking"),
    pytest.param("[0] * n", {"n": 100_001}, "sequence repetition would exceed 100,000 items", id="list-repetition"),
    pytest.param("a + a", {"a": list(range(60_000))}, "result would exceed 100,000 items", id="list-concatenation"),
    pytest.param("[*s, *s]", {"s": BIG}, "unpacking would build", id="string-unpacking"),
    pytest.param("f'" + "{s}" * 600 + "'", {"s": "y" * 2_000}, "f-string result would exceed 1,000,000", id="fstring-600-copies"),
    pytest.param("f'{s!r}{s!r}'", {"s": "\U000e0001" * 60_000}, "f-string result would exceed", id="fstring-repr-grows"),
    pytest.param("when.strftime(fmt)", {"when": date(2026, 3, 2), "fmt": "%c" * 100_000}, "date format strings are limited",
                 id="strftime-huge-template"),
    pytest.param("f'{when:" + "%Y" * 600 + "}'", {"when": date(2026, 3, 2)}, "date format strings are limited", id="date-format-spec"),
    pytest.param("parse_datetime(t).strftime(fmt)", {"t": "2026-03-02T10:00:00", "fmt": "%A" * 1_000}, "date format strings",
                 id="datetime-strftime"),
    pytest.param("str([n] * 100000)", {"n": 2**9_000}, "value rendered as text exceeds", id="render-big-ints"),
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("source", "data", "limit"), BOMBS)
def test_result_bombs_are_refused_before_they_are_built(source: str, data: dict[str, Any], limit: str) -> None:
    check_expression(source)  # each one passes the static check: only the run-time sizes make it huge
    started = time.thread_time()
    with pytest.raises(UnsafeExpression) as caught:
        run(source, data)
    assert limit in caught.value.message
    assert caught.value.message[0] > "\u2e80", "the message is Chinese first"
    assert caught.value.details["reason"] == "limit"
    assert time.thread_time() - started < 1.0, "refused up front, not after building the result"


def test_a_width_in_other_decimal_digits_is_refused_at_deploy_time() -> None:
    # The format-spec parser reads any Unicode decimal digit: '٩٩٩٩٩٩٩٩٩' is a width of 999,999,999.
    assert format(1, "\u0665") == "    1"
    with pytest.raises(UnsafeExpression, match="format widths and precisions above 999"):
        check_expression("f'{1:\u0669\u0669\u0669\u0669\u0669\u0669\u0669\u0669\u0669}'")


def test_a_width_hidden_behind_a_nested_key_is_refused_at_deploy_time() -> None:
    # The old pattern stopped the key at the first ')', so the width after '((a))' was never read.
    with pytest.raises(UnsafeExpression, match="%-format widths above 999"):
        check_expression("'%((a))999999999s' % {'(a)': 1}")


@pytest.mark.timeout(60)
def test_chained_formatting_stops_at_the_cpu_budget() -> None:
    """Every guarded operation reads the CPU clock: a chain of 1 MB formats stops at MAX_SECONDS,
    not after the 10+ s the loop would take (it was 6 s for a few chained ``%``)."""
    script = "x = ''\nfor i in range(10000):\n    x = fmt % {'a': part}"
    started = time.thread_time()
    with pytest.raises(UnsafeExpression, match="longer than 2.0 seconds of CPU time") as caught:
        run(script, {"fmt": "%(a)s" * 1000, "part": "z" * 999})
    spent = time.thread_time() - started
    assert MAX_SECONDS * 0.9 < spent < MAX_SECONDS + 1.0
    assert caught.value.message.startswith("执行时间超过上限")


@pytest.mark.timeout(60)
def test_the_budget_holds_for_one_long_expression_too() -> None:
    chained = "sum([" + ", ".join(["len(fmt % d)"] * 200) + "])"  # 200 formats of 200,000 directives each
    started = time.thread_time()
    with pytest.raises(UnsafeExpression, match="seconds of CPU time"):
        run(chained, {"fmt": "%(a)s" * 200_000, "d": {"a": "z" * 5}})
    assert time.thread_time() - started < MAX_SECONDS + 1.0


KEPT = "one evaluation may keep at most 128 MB of values it built"


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("source", "data"), [
    pytest.param("\n".join(f"x{i} = l * 1" for i in range(100)), {"l": list(range(99_999))}, id="many-copies-in-names"),
    pytest.param("[" + ", ".join(["l[:]"] * 100) + "]", {"l": list(range(99_999))}, id="display-of-slices"),
    pytest.param("(" + ", ".join(["s + 'x'"] * 200) + ")", {"s": "y" * 999_999}, id="tuple-of-new-strings"),
    pytest.param("xs = []\nfor i in range(4000):\n    xs.append(s[:40000] + str(i))", {"s": "z" * 50_000}, id="appended-in-a-loop"),
    pytest.param("[*[*l], " + ", ".join(["*[*l]"] * 60) + "]", {"l": list(range(99_999))}, id="nested-unpacking"),
    pytest.param("[list(s) for i in range(30)]", {"s": "\U000e0001" * 99_999}, id="lists-of-fresh-characters"),
])
def test_what_an_evaluation_keeps_of_what_it_built_is_bounded_together(source: str, data: dict[str, Any]) -> None:
    """Each value is within MAX_SIZE; together they would be gigabytes. Refused once the values still
    referenced pass MAX_ALLOCATED, long before that."""
    with pytest.raises(UnsafeExpression) as caught:
        run(source, data)
    assert KEPT in caught.value.message and caught.value.message.startswith("同时保留的数据总量超过上限")


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("source", "data"), [
    pytest.param("for i in range(300):\n    x = s + str(i)\ndel x", {"s": "y" * 999_000}, id="temporaries-dropped"),
    pytest.param("n = 0\nfor i in range(300):\n    n += len(l[:] + [i])", {"l": list(range(90_000))}, id="temporary-lists"),
    pytest.param("for i in range(300):\n    x = [l[:]] + list(range(100))\ndel x", {"l": list(range(90_000))},
                 id="temporaries-inside-temporaries"),
    pytest.param("xs = [s * 1 for i in range(100)]\nys = [f'{s}' for i in range(100)]\nzs = [s[:] for i in range(100)]\ndel xs, ys, zs",
                 {"s": "y" * 999_999}, id="the-same-value-again"),
    pytest.param("xs = []\nfor i in range(2000):\n    xs.append(s[:40000] + str(i))\nn = len(xs)\ndel xs", {"s": "z" * 50_000},
                 id="kept-within-the-limit"),
    pytest.param("sum([" + ", ".join(f"len(f'{{v{i}}}') + len(v{i} * 1) + len(v{i} + '')" for i in range(35)) + "])",
                 {f"v{i}": chr(0x1F600 + i) * 999_000 for i in range(35)}, id="data-passed-through"),  # 35 x 4 MB
])
def test_temporaries_and_values_that_already_existed_do_not_count(source: str, data: dict[str, Any]) -> None:
    run(source, data)


@pytest.mark.parametrize(("template", "args"), [
    ("第%s号", 7), ("%s", {"a": 1}), ("%(a)s-%(b)r", {"a": "甲", "b": "乙"}), ("%-+ #05.3ld|%x|%X|%o", (7, 255, 255, 8)),
    ("%.2f元 %e %g %%", (1234.5, 1e300, 0.5)), ("%5.s|%.1s|%c|%c", ("abc", "abc", 65, "z")), ("%d", Decimal("12.7")),
    ("%.999f", 1e308), ("%999d", -(2**200)), ("%s %s", ([1, [2]], (3,))), ("%a", "中"), ("%%%%", ()), ("%(x)s%%", {"x": 1}),
])
def test_ordinary_formatting_is_unchanged_and_within_its_bound(template: str, args: Any) -> None:
    env = RestrictedEnvironment()
    expected = template % args
    assert env.evaluate("template % args", {"template": template, "args": args}) == expected
    assert printf_size(template, args) >= len(expected)


@pytest.mark.parametrize(("template", "args"), [
    ("%", 1), ("%(a", {"a": 1}), ("%5", 1), ("%l", 1), ("%y", 1), ("%s %s", (1,)), ("%(a)s", [1]), ("%(b)s", {"a": 1}),
    ("%5%", ()), ("%s", ()), ("%d", "x"),
])
def test_malformed_formats_fail_as_in_python(template: str, args: Any) -> None:
    with pytest.raises((ValueError, TypeError, KeyError)) as expected:
        template % args  # noqa: B018 - what CPython says
    with pytest.raises(type(expected.value)):
        RestrictedEnvironment().evaluate("template % args", {"template": template, "args": args})


def test_the_directive_reader_follows_cpython() -> None:
    found = [(key, width, precision, conversion) for _s, _e, key, width, precision, conversion
             in printf_directives("a%%b%((x))-07.3ld%*.*s%.f%(k)5%")]
    assert found == [(None, None, None, "%%"), ("(x)", 7, 3, "d"), (None, "*", "*", "s"), (None, None, 0, "f"), ("k", 5, None, "%")]


@pytest.mark.parametrize(("source", "data", "expected"), [
    ("[*a, 0, *b]", {"a": [1], "b": (2, 3)}, [1, 0, 2, 3]),
    ("(*a, *range(2))", {"a": "xy"}, ("x", "y", 0, 1)),
    ("sorted({*a, *a})", {"a": [2, 1]}, [1, 2]),
    ("{**a, 'k': 2, **b}", {"a": {"j": 1}, "b": {"k": 3}}, {"j": 1, "k": 3}),
    ("max(*a, *[y for y in a])", {"a": [3, 9]}, 9),
    ("[*(y * 2 for y in a)]", {"a": [1, 2]}, [2, 4]),
    ("f'{a}-{b!r:>5}-{f\"{a}{a}\"}'", {"a": 1, "b": "x"}, "1-  'x'-11"),
    ("when.strftime('%Y年%m月%d日')", {"when": date(2026, 3, 2)}, "2026年03月02日"),
    ("f'{when:%Y-%m-%d %H:%M}'", {"when": datetime(2026, 3, 2, 9, 5)}, "2026-03-02 09:05"),
])
def test_ordinary_unpacking_fstrings_and_dates_still_work(source: str, data: dict[str, Any], expected: Any) -> None:
    assert RestrictedEnvironment().evaluate(source, data) == expected


def test_unpacking_a_non_iterable_or_a_non_mapping_is_an_ordinary_type_error() -> None:
    env = RestrictedEnvironment()
    with pytest.raises(TypeError):
        env.evaluate("[*n]", {"n": 5})
    with pytest.raises(TypeError, match="not a mapping"):
        env.evaluate("{**n}", {"n": [1]})


def test_strftime_at_the_limit_is_allowed() -> None:
    text = RestrictedEnvironment().evaluate("when.strftime(fmt)", {"when": date(2026, 3, 2), "fmt": "%d" * (MAX_STRFTIME_CHARS // 2)})
    assert text == "02" * (MAX_STRFTIME_CHARS // 2)


def test_formatting_exactly_at_the_limit_is_allowed() -> None:
    result = RestrictedEnvironment().evaluate("fmt % {'a': part}", {"fmt": "%(a)s" * 1000, "part": "z" * (MAX_SIZE // 1000)})
    assert len(result) == MAX_SIZE


@pytest.mark.timeout(60)
def test_in_a_script_task_the_bomb_names_the_task_and_changes_nothing() -> None:
    workflow = workflow_from_template("script_template", "before = 1\nx = fmt % {'a': big}")
    give_data(workflow, {"fmt": "%(a)s" * 200_000, "big": BIG})
    with pytest.raises(WorkflowTaskException) as caught:
        workflow.do_engine_steps()
    cause = unsafe_cause(caught.value)
    assert cause is not None and "%-formatting result would exceed" in cause.message
    assert "执行脚本" in cause.message and "run_script" in cause.message  # the task, by name and id
    assert cause.details["task"] == "run_script"
    script_task = workflow.get_next_task(spec_name="run_script")
    assert script_task is not None and script_task.state == TaskState.ERROR and "x" not in script_task.data


@pytest.mark.timeout(120)
def test_through_the_api_a_bomb_is_a_422_and_nothing_is_applied(app, people, frozen, api) -> None:
    """A script after 登记 formats the submitted facts 200,000 times: the completion is refused with a
    422 naming the limit and the task, and the case stays exactly where it was."""
    from engine.definitions import deploy_bundle
    from engine.runtime import start_case

    script = "notice = ('%(a)s' * 200000) % {'a': facts * 99000}"
    with app.app_context():
        deploy_bundle(with_file(MINI_BPMN, add_script_task(original(MINI_BPMN), script, after="register", before="assess",
                                                           flow="f2")), "test")
        case = start_case(user("a_handler1"), "mini", PARTY, {"proposed_fine": 100})
        task_id = db.session.scalar(select(Task.id).where(Task.case_id == case.id, Task.status == "open"))
        instance = db.session.scalars(select(ProcessInstance).where(ProcessInstance.case_id == case.id)).one()
        before = (instance.version, instance.state)
        db.session.remove()
    handler = api("a_handler1")
    status, body = handler.post(f"/tasks/{task_id}/complete", {"data": {"facts": "经营场所未公示", "proposed_fine": 100}})
    assert status == 422, body
    assert body["error"] == "unsafe_expression"
    assert "格式化结果过长" in body["message"] and "1,000,000" in body["message"] and "calc" in body["message"]
    with app.app_context():
        instance = db.session.scalars(select(ProcessInstance).where(ProcessInstance.case_id == case.id)).one()
        assert (instance.version, instance.state) == before
        assert db.session.get(Task, task_id).status == "open"
