"""The restricted evaluator (engine/expressions.py): what designers may write, and what never runs.

Allowed forms are exercised the way SpiffWorkflow really uses them (gateway conditions, a DMN table,
script tasks, a timer). Every known sandbox-escape payload is rejected twice: by ``check_expression``
at deploy time, and at run time inside a real workflow, where the test also checks that nothing
happened (no canary file, no ``os.system``/``subprocess`` call, the process did not advance).
"""

from __future__ import annotations

import ast
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine import clock
from engine.errors import UnsafeExpression
from engine.expressions import (
    MAX_ITERATIONS,
    SAFE_FUNCTIONS,
    RestrictedEnvironment,
    RestrictedScriptEngine,
    check_expression,
    compile_restricted,
    make_script_engine,
    parse_date,
    parse_datetime,
)
from tests.support.expressions import give_data, unsafe_cause, workflow_from_template

DATA = Path(__file__).resolve().parent / "data" / "expressions"


# ---------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------
def completed_spec_names(workflow: BpmnWorkflow) -> set[str]:
    return {task.task_spec.name for task in workflow.get_tasks(state=TaskState.COMPLETED)}


def mode_of(source: str) -> str:
    try:
        ast.parse(source, mode="eval")
        return "eval"
    except SyntaxError:
        return "exec"


@pytest.fixture
def env() -> RestrictedEnvironment:
    return RestrictedEnvironment()


@pytest.fixture
def escape_watch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[Path, list[str]]]:
    """A canary path payloads try to create, and a record of any process-spawning call."""
    calls: list[str] = []

    def record(name: str) -> Any:
        def called(*args: Any, **kwargs: Any) -> Any:
            calls.append(f"{name}{args}")
            raise AssertionError(f"sandbox escape: {name} was called")

        return called

    monkeypatch.setattr(os, "system", record("os.system"))
    monkeypatch.setattr(os, "popen", record("os.popen"))
    monkeypatch.setattr(subprocess, "Popen", record("subprocess.Popen"))
    yield tmp_path / "canary", calls


# ---------------------------------------------------------------------------------------------------
# Sandbox-escape payloads: (payload, a fragment the rejection message must contain)
# ``{canary}`` is replaced by a path under tmp_path.
# ---------------------------------------------------------------------------------------------------
ESCAPES = [
    pytest.param("__import__('os').system('touch {canary}')", "starting with '_'", id="dunder-import"),
    pytest.param("().__class__.__bases__[0].__subclasses__()", "starting with '_'", id="subclasses-walk"),
    pytest.param("[c for c in ().__class__.__base__.__subclasses__()]", "starting with '_'", id="subclasses-listcomp"),
    pytest.param("getattr(__builtins__, 'eval')", "starting with '_'", id="getattr-builtins"),
    pytest.param("__builtins__['eval']('1')", "starting with '_'", id="builtins-subscript"),
    pytest.param("[eval][0]('1')", "'eval' is not available", id="call-through-subscript"),
    pytest.param("{'f': len}['f']('x')", "only named functions", id="call-of-subscript"),
    pytest.param("eval('1')", "'eval' is not available", id="eval"),
    pytest.param("exec('x=1')", "'exec' is not available", id="exec"),
    pytest.param("open('/etc/passwd').read()", "'open' is not available", id="open-read"),
    pytest.param("open('{canary}', 'w')", "'open' is not available", id="open-write"),
    pytest.param("type('x', (), {})", "'type' is not available", id="type-new-class"),
    pytest.param("(lambda: 1)()", "lambda is not allowed", id="lambda"),
    pytest.param("globals()", "'globals' is not available", id="globals"),
    pytest.param("vars()", "'vars' is not available", id="vars"),
    pytest.param("locals()['x']", "'locals' is not available", id="locals"),
    pytest.param("compile('1', '', 'eval')", "'compile' is not available", id="compile"),
    pytest.param("import os", "import is not allowed", id="import"),
    pytest.param("from os import system", "import is not allowed", id="import-from"),
    pytest.param("'{0.__class__}'.format(1)", "str.format is not allowed", id="str-format-attribute"),
    pytest.param("'{x.__class__}'.format_map({'x': 1})", "str.format_map is not allowed", id="format-map"),
    pytest.param("f'{().__class__}'", "starting with '_'", id="fstring-dunder"),
    pytest.param("f'{1:>{10**9}}'", "format specs must be constants", id="fstring-dynamic-width"),
    pytest.param("x.__dict__", "starting with '_'", id="dunder-dict"),
    pytest.param("(1).__class__", "starting with '_'", id="int-class"),
    pytest.param("[].__class__.__mro__", "starting with '_'", id="list-mro"),
    pytest.param("str.mro()", "'mro' is not in the allow-list", id="str-mro"),
    pytest.param("dict.__subclasses__()", "starting with '_'", id="dict-subclasses"),
    pytest.param("(x for x in ()).gi_frame.f_globals", "is not in the allow-list", id="generator-frame"),
    pytest.param("parse_date.__globals__['os']", "starting with '_'", id="function-globals"),
    pytest.param("len.__self__", "starting with '_'", id="builtin-self"),
    pytest.param("setattr(x, 'a', 1)", "'setattr' is not available", id="setattr"),
    pytest.param("delattr(x, 'a')", "'delattr' is not available", id="delattr"),
    pytest.param("breakpoint()", "'breakpoint' is not available", id="breakpoint"),
    pytest.param("input()", "'input' is not available", id="input"),
    pytest.param("object()", "'object' is not available", id="object"),
    pytest.param("date.today()", "'today' is not in the allow-list", id="clock-bypass"),
    pytest.param("while True:\n    pass", "while loops are not allowed", id="while-true"),
    pytest.param("9**9**9**9", "power result would exceed", id="power-tower"),
    pytest.param("'a'*10**10", "sequence repetition would exceed", id="string-bomb"),
    pytest.param("[0] * 10**9", "sequence repetition would exceed", id="list-bomb"),
    pytest.param("1 << 10**9", "bit shifts are not allowed", id="shift-bomb"),
    pytest.param("'%1000000000d' % 1", "%-format widths above", id="printf-width-bomb"),
    pytest.param("def f():\n    pass", "defining functions is not allowed", id="def"),
    pytest.param("async def f():\n    pass", "defining functions is not allowed", id="async-def"),
    pytest.param("class A:\n    pass", "defining classes is not allowed", id="class"),
    pytest.param("(x := 1)", "assignment expressions (:=) are not allowed", id="walrus"),
    pytest.param("global x\nx = 1", "global and nonlocal are not allowed", id="global"),
    pytest.param(
        "try:\n    1/0\nexcept Exception as e:\n    t = e.__traceback__",
        "try/except is not allowed",
        id="try",
    ),
    pytest.param("raise SystemExit(1)", "raise is not allowed", id="raise"),
    pytest.param("with open('{canary}', 'w') as f:\n    pass", "with is not allowed", id="with-open"),
    pytest.param("[(yield) for x in y]", "yield is not allowed", id="yield"),
]


@pytest.mark.parametrize(("payload", "reason"), ESCAPES)
def test_escape_payload_is_rejected_at_deploy_time(payload: str, reason: str, tmp_path: Path) -> None:
    source = payload.replace("{canary}", str(tmp_path / "canary"))
    with pytest.raises(UnsafeExpression) as caught:
        check_expression(source, mode_of(source))
    assert reason in caught.value.message
    assert "第 1 行" in caught.value.message or "第 2 行" in caught.value.message
    assert caught.value.details["line"] >= 1


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("payload", "reason"), ESCAPES)
def test_escape_payload_in_script_task_fails_and_does_nothing(payload: str, reason: str, escape_watch: tuple[Path, list[str]]) -> None:
    canary, calls = escape_watch
    workflow = workflow_from_template("script_template", payload.replace("{canary}", str(canary)))
    give_data(workflow, {"x": 1})

    with pytest.raises(WorkflowTaskException) as caught:
        workflow.do_engine_steps()

    assert caught.value.error_type == "UnsafeExpression"
    cause = unsafe_cause(caught.value)
    assert cause is not None and reason in cause.message
    assert not canary.exists()
    assert calls == []
    assert not workflow.is_completed()
    script_task = workflow.get_next_task(spec_name="run_script")
    assert script_task is not None and script_task.state == TaskState.ERROR
    assert "__builtins__" not in script_task.data


EVAL_ESCAPES = [param for param in ESCAPES if mode_of(param.values[0]) == "eval"]


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("payload", "reason"), EVAL_ESCAPES)
def test_escape_payload_in_gateway_condition_fails_and_does_nothing(
    payload: str, reason: str, escape_watch: tuple[Path, list[str]]
) -> None:
    canary, calls = escape_watch
    workflow = workflow_from_template("condition_template", payload.replace("{canary}", str(canary)))

    with pytest.raises(WorkflowTaskException) as caught:
        workflow.do_engine_steps()

    cause = unsafe_cause(caught.value)
    assert cause is not None and reason in cause.message
    assert not canary.exists()
    assert calls == []
    assert not completed_spec_names(workflow) & {"end_condition", "end_default"}


def test_escape_harness_detects_an_escape_with_the_unrestricted_engine(
    escape_watch: tuple[Path, list[str]],
) -> None:
    # Guards the guards: the same harness with SpiffWorkflow's default engine does get escaped,
    # so the "nothing happened" assertions above are capable of failing.
    canary, _ = escape_watch
    workflow = workflow_from_template("script_template", f"open({str(canary)!r}, 'w').write('pwned')", engine=PythonScriptEngine())
    workflow.do_engine_steps()
    assert canary.read_text() == "pwned"


# ---------------------------------------------------------------------------------------------------
# Allowed forms, run by SpiffWorkflow
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "expected_end"),
    [
        ({"amount": 150000, "party_type": "organization", "facts": {"repeat": True}}, "end_condition"),
        ({"amount": 150000, "party_type": "individual", "facts": {"repeat": True}}, "end_default"),
        ({"amount": 150000, "party_type": "organization", "facts": {}}, "end_default"),
    ],
)
def test_gateway_condition_routes_on_task_data(data: dict[str, Any], expected_end: str) -> None:
    condition = (
        "amount >= 100000 and party_type.lower() in ('organization', 'company') "
        "and facts.get('repeat', False) and len([k for k in facts.keys() if k]) >= 1"
    )
    workflow = workflow_from_template("condition_template", condition)
    give_data(workflow, data)
    workflow.do_engine_steps()
    assert workflow.is_completed()
    assert expected_end in completed_spec_names(workflow)


def run_penalty_decision(data: dict[str, Any]) -> dict[str, Any]:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_dmn_file(str(DATA / "penalty_level.dmn"))
    parser.add_bpmn_file(str(DATA / "penalty_level.bpmn"))
    workflow = BpmnWorkflow(parser.get_spec("penalty_level_process"))
    workflow.script_engine = make_script_engine()
    give_data(workflow, data)
    workflow.do_engine_steps()
    assert workflow.is_completed()
    return workflow.data


@pytest.mark.parametrize(
    ("amount", "party_type", "level", "hearing", "fine"),
    [
        (200000, "organization", "major", True, Decimal("100000.0")),  # '>= 100000' and '"organization"'
        (60000, "individual", "medium", True, Decimal("18000.00")),  # '10000 <= ? < 100000', '? in (...)'
        (20000, "organization", "medium", False, Decimal("6000.00")),
        (200000, "individual", "minor", False, Decimal(0)),  # '-' and empty cells match anything
        (500, "organization", "minor", False, Decimal(0)),
    ],
)
def test_dmn_python_cells_decide_penalty_level(amount: int, party_type: str, level: str, hearing: bool, fine: Decimal) -> None:
    data = run_penalty_decision({"amount": amount, "party_type": party_type})
    assert data["level"] == level
    assert data["hearing_required"] is hearing
    assert data["fine_base"] == fine


def test_script_task_assigns_task_data_and_leaves_no_helpers_behind() -> None:
    script = "\n".join(
        [
            "total = Decimal('0')",
            "for item in items:",
            "    if item['kind'] == 'fine':",
            "        total += Decimal(item['amount'])",
            "    else:",
            "        continue",
            "labels = [f\"{i + 1}. {items[i]['name'].strip()}\" for i in range(len(items))]",
            "summary = '；'.join(labels)",
            "counts = {kind: len([i for i in items if i['kind'] == kind]) for kind in sorted(set(kinds))}",
            "flags = []",
            "flags.append(total > 1000)",
            "notice_no = '第%s号' % case_seq",
            "del kinds",
        ]
    )
    workflow = workflow_from_template("script_template", script)
    give_data(
        workflow,
        {
            "items": [
                {"kind": "fine", "amount": "800.50", "name": " 罚款 "},
                {"kind": "confiscation", "amount": "0", "name": "没收"},
                {"kind": "fine", "amount": "300", "name": "罚款二"},
            ],
            "kinds": ["fine", "confiscation", "fine"],
            "case_seq": 12,
        },
    )
    workflow.do_engine_steps()

    assert workflow.is_completed()
    data = workflow.get_next_task(spec_name="run_script").data
    assert data["total"] == Decimal("1100.50")
    assert data["summary"] == "1. 罚款；2. 没收；3. 罚款二"
    assert data["counts"] == {"confiscation": 1, "fine": 2}
    assert data["flags"] == [True]
    assert data["notice_no"] == "第12号"
    assert "kinds" not in data
    leaked = [key for key in data if key.startswith("_") or key in SAFE_FUNCTIONS or callable(data[key])]
    assert leaked == []


def test_timer_expression_returns_iso_deadline_in_shanghai_time() -> None:
    expression = "(parse_datetime(served_at) + timedelta(days=limit_days)).isoformat()"
    workflow = workflow_from_template("timer_template", expression)
    give_data(workflow, {"served_at": "2025-03-03T10:00:00", "limit_days": 15})
    clock.install_spiff_clock()
    with clock.use_clock(clock.FrozenClock(datetime(2025, 3, 3, 2, 0, tzinfo=UTC))):
        workflow.do_engine_steps()

    (event,) = workflow.waiting_events()
    assert event.value == "2025-03-18T10:00:00+08:00"
    assert not workflow.is_completed()


def test_extra_functions_reach_timers_and_conditions() -> None:
    calls: list[tuple[str, str]] = []

    def deadline(key: str, start: str) -> str:
        calls.append((key, start))
        return (parse_date(start).replace(day=28)).isoformat() + "T17:00:00+08:00"

    engine = make_script_engine({"deadline": deadline})
    workflow = workflow_from_template("timer_template", "deadline('statement', served_at)", engine=engine)
    give_data(workflow, {"served_at": "2025-02-10"})
    clock.install_spiff_clock()
    with clock.use_clock(clock.FrozenClock(datetime(2025, 2, 10, 2, 0, tzinfo=UTC))):
        workflow.do_engine_steps()

    (event,) = workflow.waiting_events()
    assert event.value == "2025-02-28T17:00:00+08:00"
    assert calls == [("statement", "2025-02-10")]
    assert engine.environment.evaluate("deadline('x', '2025-01-01')[:10]", {}) == "2025-01-28"


def test_extra_function_names_must_be_plain() -> None:
    with pytest.raises(ValueError, match="_helper"):
        make_script_engine({"_helper": len})
    with pytest.raises(ValueError, match="eval"):
        make_script_engine({"eval": len})
    with pytest.raises(TypeError, match="not callable"):
        make_script_engine({"limit": 5})  # type: ignore[dict-item]


# ---------------------------------------------------------------------------------------------------
# The evaluator directly
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("expression", "data", "expected"),
    [
        ("Decimal(fine) * Decimal('0.5') + Decimal('0.01')", {"fine": "1000.10"}, Decimal("500.0600")),
        ("round(Decimal(fine) / 3, 2)", {"fine": "100"}, Decimal("33.33")),
        ("Decimal(fine).quantize(Decimal('1'))", {"fine": "99.6"}, Decimal("100")),
        ("sum([Decimal(x) for x in amounts])", {"amounts": ["1.10", "2.20"]}, Decimal("3.30")),
        ("max(amounts, key=len)", {"amounts": ["1", "22", "3"]}, "22"),
        ("amount if amount > 0 else -amount", {"amount": -5}, 5),
        ("10000 <= amount < 100000", {"amount": 50000}, True),
        (
            "party['name'][:2] + party.get('id', '')[-4:]",
            {"party": {"name": "张三丰", "id": "1234"}},
            "张三1234",
        ),
        ("parse_date(served_at) + timedelta(days=5)", {"served_at": "2025-01-01"}, date(2025, 1, 6)),
        ("parse_date('2025-03-01T20:00:00+00:00')", {}, date(2025, 3, 2)),  # the Shanghai day
        ("f'{parse_date(d):%Y年%m月%d日}'", {"d": "2025-05-04"}, "2025年05月04日"),
        ("parse_date(d).strftime('%Y年%m月%d日')", {"d": "2025-05-04"}, "2025年05月04日"),
        ("f'{name!r}:{n:>5}|{n!s:<3}|'", {"name": "张三", "n": 7}, "'张三':    7|7  |"),
        ("f'{amount:,.2f}元'", {"amount": 1234567.891}, "1,234,567.89元"),
        ("'%s号' % n", {"n": 7}, "7号"),
        ("{**a, 'k': 2}", {"a": {"j": 1}}, {"j": 1, "k": 2}),
        ("sorted(set(xs))[::-1]", {"xs": [3, 1, 3, 2]}, [3, 2, 1]),
        ("all(x > 0 for x in xs) and any(x == 2 for x in xs)", {"xs": [1, 2]}, True),
        ("list(range(3)) * 2", {}, [0, 1, 2, 0, 1, 2]),
        ("2 ** 100", {}, 2**100),
        ("int('42') + float('0.5')", {}, 42.5),
        ("parse_datetime(at).hour", {"at": "2025-01-01T09:30:00"}, 9),
    ],
)
def test_allowed_expressions_evaluate(env: RestrictedEnvironment, expression: str, data: dict[str, Any], expected: Any) -> None:
    assert env.evaluate(expression, data) == expected


def test_parse_datetime_reads_naive_times_in_shanghai() -> None:
    assert parse_datetime("2025-01-01T09:00:00").isoformat() == "2025-01-01T09:00:00+08:00"
    assert parse_datetime("2025-01-01T01:00:00Z").utcoffset() is not None
    assert parse_datetime(date(2025, 1, 1)).isoformat() == "2025-01-01T00:00:00+08:00"


def test_now_and_today_come_from_the_injected_clock(env: RestrictedEnvironment) -> None:
    frozen = clock.FrozenClock(datetime(2025, 12, 31, 17, 0, tzinfo=UTC))
    with clock.use_clock(frozen):
        assert env.evaluate("today().isoformat()", {}) == "2026-01-01"
        assert env.evaluate("now().isoformat()", {}) == "2026-01-01T01:00:00+08:00"


@pytest.mark.parametrize(
    ("expression", "error"),
    [
        ("1 / 0", ZeroDivisionError),
        ("unknown_field > 3", NameError),
        ("print('x')", NameError),  # not forbidden-listed, but there are no builtins to find
        ("'a' + 1", TypeError),
        ("sum([[1], [2]], [])", TypeError),  # sum adds numbers only
        ("name.year", AttributeError),  # an allowed attribute on the wrong type
        ("Decimal.quantize(Decimal(1), Decimal(1))", AttributeError),  # no attributes of classes
        ("d['missing']", KeyError),
        ("int('abc')", ValueError),
    ],
)
def test_runtime_errors_propagate_as_ordinary_exceptions(env: RestrictedEnvironment, expression: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        env.evaluate(expression, {"name": "张三", "d": {}})


def test_runtime_error_in_a_workflow_is_wrapped_by_spiffworkflow() -> None:
    workflow = workflow_from_template("condition_template", "amount / divisor > 1")
    give_data(workflow, {"amount": 1, "divisor": 0})
    with pytest.raises(WorkflowTaskException) as caught:
        workflow.do_engine_steps()
    assert caught.value.error_type == "ZeroDivisionError"


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("source", "mode", "data", "reason"),
    [
        ("text * n", "eval", {"text": "a", "n": 10**10}, "sequence repetition"),
        ("items * n", "eval", {"items": [0], "n": 10**9}, "sequence repetition"),
        ("text.replace('', text)", "eval", {"text": "a" * 2000}, "result would exceed"),
        (
            "sep.join([text, text])",
            "eval",
            {"sep": "x" * 600_000, "text": "a" * 600_000},
            "result would exceed",
        ),
        ("x = text\nfor i in range(40):\n    x = x + x", "exec", {"text": "ab"}, "result would exceed"),
        ("x = items\nfor i in range(40):\n    x += x", "exec", {"items": [1]}, "result would exceed"),
        ("x = 3\nfor i in range(100):\n    x = x * x", "exec", {}, "would exceed 10,000 bits"),
        ("n ** m", "eval", {"n": 10, "m": 10**8}, "power result"),
        ("range(n)", "eval", {"n": 10**12}, "range() is limited"),
        ("for i in range(10000):\n    for j in range(10000):\n        pass", "exec", {}, "loop steps"),
        ("[1 for a in xs for b in xs]", "eval", {"xs": list(range(1000))}, "loop steps"),
        ("fmt % 1", "eval", {"fmt": "%999999999d"}, "%-format widths"),
        ("str(nested)", "eval", {"nested": [["a" * 1000] * 1000] * 10}, "rendered as text"),
        ("f'{value:f}'", "eval", {"value": Decimal("1e999999999")}, "decimal exponent"),
        ("int(value)", "eval", {"value": Decimal("1e999999999")}, "decimal exponent"),
        ("round(5, -digits)", "eval", {"digits": 10**9}, "round() digits"),
        ("'%d' % (value,)", "eval", {"value": Decimal("1e999999999")}, "decimal exponent"),
        ("[len(set(big)) for i in range(1000)]", "eval", {"big": list(range(500_000))}, "longer than 2.0 seconds"),
        ("big = [[0] * 10000] * 1000", "exec", {}, "task data after the script"),
    ],
)
def test_data_driven_resource_bombs_stop_at_run_time(
    env: RestrictedEnvironment, source: str, mode: str, data: dict[str, Any], reason: str
) -> None:
    check_expression(source, mode)  # passes the static check: only the data makes it huge
    run = env.evaluate if mode == "eval" else env.execute
    with pytest.raises(UnsafeExpression) as caught:
        run(source, data)
    assert reason in caught.value.message


def test_loop_budget_allows_ordinary_scripts(env: RestrictedEnvironment) -> None:
    data: dict[str, Any] = {"rows": list(range(MAX_ITERATIONS // 2))}
    env.execute("n = 0\nfor row in rows:\n    n += 1", data)
    assert data["n"] == MAX_ITERATIONS // 2


def test_execute_refuses_before_touching_task_data(env: RestrictedEnvironment) -> None:
    data = {"amount": 1}
    with pytest.raises(UnsafeExpression):
        env.execute("amount = 2\nimport os", data)
    assert data == {"amount": 1}


def test_task_data_cannot_replace_the_guards(env: RestrictedEnvironment) -> None:
    # Checked source can never name _zf_*; task data posted with such keys is simply overridden.
    data = {"_zf_mul": "not a function", "_zf_getattr": None, "text": "ab"}
    assert env.evaluate("text * 2 + text.upper()", data) == "ababAB"


# ---------------------------------------------------------------------------------------------------
# check_expression and validate
# ---------------------------------------------------------------------------------------------------
def test_syntax_error_is_reported_with_its_line() -> None:
    with pytest.raises(UnsafeExpression) as caught:
        check_expression("x = 1\ny = (", "exec")
    assert "第 2 行语法错误" in caught.value.message
    assert "syntax error on line 2" in caught.value.message
    assert caught.value.details["line"] == 2


def test_source_length_and_complexity_are_bounded() -> None:
    with pytest.raises(UnsafeExpression, match="longer than 10,000 characters"):
        check_expression("'" + "a" * 10_001 + "'")
    with pytest.raises(UnsafeExpression, match="more than 2,000 syntax nodes"):
        check_expression("[" + ", ".join(["1"] * 2001) + "]")
    with pytest.raises(UnsafeExpression, match="nested deeper than"):
        check_expression("-" * 300 + "1")


def test_check_with_known_functions_rejects_unknown_calls() -> None:
    engine = make_script_engine({"deadline": lambda key, start: start})
    engine.check("deadline('statement', served_at)")
    with pytest.raises(UnsafeExpression, match="unknown function 'deadlin'"):
        engine.check("deadlin('statement', served_at)")
    with pytest.raises(UnsafeExpression, match="unknown function 'print'"):
        engine.validate("print(1)")


def test_validate_keeps_syntax_errors_for_dmn_cells() -> None:
    engine = make_script_engine()
    # DMNEngine.needs_eq catches SyntaxError to decide that '>= 100000' needs the input prepended.
    with pytest.raises(SyntaxError):
        engine.validate(">= 100000")
    engine.validate("v >= 100000")
    engine.validate('"organization"')
    engine.validate('dmninputexpr in ("a", "b")')
    engine.validate("total = 1\nif total:\n    total += 1")  # scripts validate too
    with pytest.raises(UnsafeExpression, match="starting with '_'"):
        engine.validate("__import__('os')")


def test_make_script_engine_returns_a_restricted_engine() -> None:
    engine = make_script_engine()
    assert isinstance(engine, RestrictedScriptEngine)
    assert isinstance(engine.environment, RestrictedEnvironment)
    assert engine.environment.function_names >= {"len", "Decimal", "parse_date", "parse_datetime"}
    assert not {"isinstance", "type", "getattr", "eval", "open"} & engine.environment.function_names


def test_compiled_code_is_cached_by_source_and_mode(env: RestrictedEnvironment) -> None:
    compile_restricted.cache_clear()
    source = "amount >= 100000 and party_type == 'organization'"
    for amount in (1, 200000, 300000):
        env.evaluate(source, {"amount": amount, "party_type": "organization"})
    info = compile_restricted.cache_info()
    assert (info.misses, info.hits) == (1, 2)

    env.execute(source, {"amount": 1, "party_type": "x"})  # same text as a script: its own entry
    assert compile_restricted.cache_info().misses == 2
