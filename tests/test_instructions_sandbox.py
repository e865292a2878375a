"""Task instructions (``instructionsForEndUser``) are bounded Jinja (issue 20, item 4).

Before: ``{{ 1/0 }}`` made the task page a 500, ``{{ 9**(9**8) }}`` ran for more than 30 s,
``'%999999999s'|format`` took a gigabyte, nested ``range`` loops would have run for hours, and none
of it was looked at when the procedure was deployed. Now the template is compiled at deploy time with
the same sandbox it is rendered in (refused with file, line and element), and rendering is bounded in
CPU, loop steps and size: a failure shows the officer a notice instead of the instructions, and is
logged.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from flask import Flask
from jinja2 import TemplateAssertionError, UndefinedError
from sqlalchemy import select

from engine.definitions import deploy_bundle
from engine.errors import UnsafeExpression
from engine.expressions.instructions_check import check_instructions
from engine.expressions.templates import (
    MAX_OUTPUT_CHARS,
    MAX_RENDER_RANGE,
    MAX_RENDER_SECONDS,
    render_instructions_text,
)
from engine.models import Task, db
from engine.runtime import start_case
from tests.conftest import user
from tests.support.bundles import MINI_BPMN, PARTY, line_of, mutated, problem_at, rejected, xml_text
from tests.support.web import logged_in
from webui.instructions import RENDER_FAILED, render_instructions

ORIGINAL = "请登记 {{ party_name }} 的违法事实。"
DATA: dict[str, Any] = {"party_name": "张三", "items": ["甲", "乙"], "n": 7, "d": {"k": 1}, "big": list(range(5000)),
                        "s": "s" * 200_000}

# Templates that broke a page or a worker before; each now fails fast, inside the budget.
HOSTILE = [
    pytest.param("{{ 1/0 }}", ZeroDivisionError, "", id="zero-division"),
    pytest.param("{{ 9**(9**8) }}", UnsafeExpression, "power result would exceed", id="power-bomb"),
    pytest.param("{{ n ** (n ** 12) }}", UnsafeExpression, "power result would exceed", id="power-from-data"),
    pytest.param("{{ '%999999999s'|format(1) }}", UnsafeExpression, "%-format widths above 999", id="format-filter-width"),
    pytest.param("{{ '%999999999s' % 1 }}", UnsafeExpression, "%-format widths above 999", id="percent-width"),
    pytest.param("{{ ('%(a)s' * 2000) % {'a': 'x' * 999} }}", UnsafeExpression, "%-formatting result would exceed",
                 id="percent-repeats-an-argument"),
    pytest.param("{{ 'x' * 999999999 }}", UnsafeExpression, "sequence repetition would exceed", id="string-repeat"),
    pytest.param("{{ [0] * 999999999 }}", UnsafeExpression, "sequence repetition would exceed", id="list-repeat"),
    pytest.param("{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}{% endfor %}{% endfor %}"
                 "{% endfor %}", UnsafeExpression, "more than 10,000 loop steps", id="nested-range-loops"),
    pytest.param("{% for a in big %}{% for b in big %}{% endfor %}{% endfor %}", UnsafeExpression, "more than 10,000 loop steps",
                 id="nested-data-loops"),
    pytest.param("{{ range(10**9)|list }}", UnsafeExpression, "range() is limited to 1,000", id="huge-range"),
    pytest.param("{% macro f(n) %}{% if n > 0 %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(40) }}", UnsafeExpression,
                 "seconds of CPU time", id="exponential-macro"),
    pytest.param("{% set s = 'xxxxxxxxxx' %}" + "{% set s = s ~ s %}" * 40 + "{{ s|length }}", UnsafeExpression,
                 "rendering produced more than 1,000,000", id="concat-doubling"),
    pytest.param("{% set s = 'xxxxxxxxxx' %}" + "{% set s = s + s %}" * 40 + "{{ s|length }}", UnsafeExpression,
                 "rendering produced more than 1,000,000", id="plus-doubling"),
    pytest.param("{{ s ~ s ~ s ~ s ~ s ~ s }}", UnsafeExpression, "result would exceed 1,000,000", id="one-concat-too-long"),
    pytest.param("{% set s %}{% for i in range(1000) %}" + "y" * 2000 + "{% endfor %}{% endset %}{{ s|length }}", UnsafeExpression,
                 "rendering produced more than 1,000,000", id="captured-block"),
    pytest.param("{% for i in range(1000) %}" + "z" * 200 + "{% endfor %}", UnsafeExpression,
                 "rendered instructions longer than 100,000", id="output-too-long"),
    pytest.param("{{ 'a'.replace('', 'x' * 1000000) }}", UnsafeExpression, "result would exceed 1,000,000", id="replace-grows"),
    pytest.param("{{ big|join('x' * 1000) }}", UnsafeExpression, "result would exceed 1,000,000", id="join-grows"),
    pytest.param("{{ 5|round(-999999999) }}", UnsafeExpression, "round digits are limited", id="round-digits"),
    pytest.param("{{ 'x'.center(999999999) }}", UndefinedError, "has no attribute 'center'", id="center-method"),
    pytest.param("{{ '{:>999999999}'.format(1) }}", UndefinedError, "has no attribute 'format'", id="str-format"),
    pytest.param("{{ (2).to_bytes(999999999, 'big') }}", UndefinedError, "has no attribute 'to_bytes'", id="int-method"),
    pytest.param("{{ lipsum(999999) }}", UndefinedError, "'lipsum' is undefined", id="lipsum"),
    pytest.param("{{ party_name|center(999999999) }}", TemplateAssertionError, "No filter named 'center'", id="center-filter"),
    pytest.param("{% include 'x' %}", TypeError, "no loader", id="include"),
    pytest.param("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", RecursionError, "", id="infinite-recursion"),
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("template", "error", "reason"), HOSTILE)
def test_a_hostile_template_fails_fast_inside_the_budget(template: str, error: type[BaseException], reason: str) -> None:
    started = time.thread_time()
    with pytest.raises(error) as caught:
        render_instructions_text(template, DATA)
    assert time.thread_time() - started < MAX_RENDER_SECONDS + 0.5
    assert reason in str(caught.value)
    if isinstance(caught.value, UnsafeExpression):
        assert caught.value.message[0] > "\u2e80" and "(" in caught.value.message, "中文说明 (English)"


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("template", "error", "reason"), HOSTILE)
def test_the_page_shows_a_notice_instead_of_failing(template: str, error: type[BaseException], reason: str,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="webui.instructions"):
        html = render_instructions(template, DATA)
    assert "办理说明无法显示" in html and 'role="alert"' in html
    assert any("instructions failed to render" in r.getMessage() for r in caplog.records)


def test_the_time_budget_is_cpu_time_and_holds() -> None:
    template = "{% macro f(n) %}{% if n > 0 %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(40) }}"
    started = time.thread_time()
    with pytest.raises(UnsafeExpression, match="seconds of CPU time"):
        render_instructions_text(template, {})
    assert MAX_RENDER_SECONDS * 0.9 < time.thread_time() - started < MAX_RENDER_SECONDS + 0.5


@pytest.mark.parametrize(("template", "expected"), [
    ("请登记 {{ party_name }} 的违法事实", "请登记 张三 的违法事实"),
    ("{{ items|join('、') }}；{{ '%s号' % n }}；{{ party_name.upper() }}；{{ d.k }}；{{ d['k'] }}", "甲、乙；7号；张三；1；1"),
    ("{% for k, v in d.items() %}{{ k }}={{ v }}{% endfor %}|{{ range(3)|list }}|{{ range(5)|sum }}|{{ 3.14159|round(2) }}",
     "k=1|[0, 1, 2]|10|3.14"),
    ("{% for x in items %}{{ loop.index }}.{{ x }}{% if not loop.last %}，{% endif %}{% endfor %}", "1.甲，2.乙"),
    ("{{ missing }}|{{ missing.deeper.still }}|{{ d.__class__ }}|{{ items.append }}", "|||"),
    ("{{ '%-4s|' % party_name }}{{ '%.2f'|format(1234.5) }}{{ party_name ~ n }}", "张三  |1234.50张三7"),
    ("{% set total = big|sum %}{{ total }} {{ big|length }} {{ (big|max) * 2 }}", "12497500 5000 9998"),
])
def test_ordinary_instructions_render(template: str, expected: str) -> None:
    assert render_instructions_text(template, DATA) == expected
    assert check_instructions(template) == []


def test_output_and_range_limits_are_the_named_constants() -> None:
    assert len(render_instructions_text("{% for i in range(n) %}x{% endfor %}", {"n": MAX_RENDER_RANGE})) == MAX_RENDER_RANGE
    with pytest.raises(UnsafeExpression, match=f"range\\(\\) is limited to {MAX_RENDER_RANGE:,}"):
        render_instructions_text("{% for i in range(n) %}x{% endfor %}", {"n": MAX_RENDER_RANGE + 1})
    with pytest.raises(UnsafeExpression, match=f"longer than {MAX_OUTPUT_CHARS:,} characters"):
        render_instructions_text("{{ s }}{{ s }}", {"s": "y" * (MAX_OUTPUT_CHARS // 2 + 1)})


# ---------------------------------------------------------------------------------------------------
# At deploy time: every instructions template is compiled with the same sandbox
# ---------------------------------------------------------------------------------------------------
REFUSED_AT_DEPLOY = [
    pytest.param("{{ party_name ", "syntax", id="syntax-error"),
    pytest.param("{% for x in items %}", "syntax", id="unclosed-block"),
    pytest.param("{{ party_name|center(99) }}", "No filter named 'center'", id="unknown-filter"),
    pytest.param("{{ party_name is evil }}", "No test named 'evil'", id="unknown-test"),
    pytest.param("{% include 'other.html' %}", "include/import/extends", id="include"),
    pytest.param("{% extends 'base.html' %}", "include/import/extends", id="extends"),
    pytest.param("{% import 'm.html' as m %}", "include/import/extends", id="import"),
    pytest.param("{{ 9**(9**8) }}", "power result would exceed", id="power-bomb"),
    pytest.param("{{ 'x' * 10**9 }}", "sequence repetition", id="repeat-bomb"),
    pytest.param("{{ '%999999999s'|format(1) }}", "%-format widths above 999", id="format-width"),
    pytest.param("{{ '%999999999s' % 1 }}", "%-format widths above 999", id="percent-width"),
    pytest.param("{{ range(10**6)|list }}", "range() is limited", id="huge-range"),
    pytest.param("{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}", "nested loops would run",
                 id="nested-loops"),
    pytest.param("{{ 1/0 }}", "division by zero", id="zero-division"),
    pytest.param("{{ party_name.center(999999999) }}", ".center()", id="center-method"),
    pytest.param("{{ '{:>9}'.format(1) }}", ".format()", id="str-format"),
    pytest.param("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "calls itself", id="recursive-macro"),
    pytest.param("{{ x|_zf_out }}", "is not allowed", id="internal-filter"),
]


@pytest.mark.parametrize(("template", "reason"), REFUSED_AT_DEPLOY)
def test_a_bad_instructions_template_is_refused_at_deploy_naming_file_and_element(ctx, mini, template: str, reason: str) -> None:
    details = rejected(mutated(MINI_BPMN, (ORIGINAL, xml_text(template))))
    problem = problem_at(details, MINI_BPMN, element="register", kind="expression")
    assert problem["line"] == line_of(mutated_text(template), 'id="register"')
    assert "办理说明模板不被允许 (instructions rejected)" in problem["message"]
    assert reason in problem["message"]


def mutated_text(template: str) -> str:
    from tests.support.bundles import edited

    return edited(MINI_BPMN, (ORIGINAL, xml_text(template)))


def test_a_template_with_data_dependent_work_deploys(ctx, mini) -> None:
    template = "{% for i in range(proposed_fine|int) %}{{ i }}{% endfor %} {{ party_name|upper }} {{ '%s' % case_number }}"
    assert check_instructions(template) == []
    assert deploy_bundle(mutated(MINI_BPMN, (ORIGINAL, xml_text(template))), "test").id != mini


# ---------------------------------------------------------------------------------------------------
# The task page
# ---------------------------------------------------------------------------------------------------
@pytest.mark.timeout(120)
@pytest.mark.parametrize("template", [
    pytest.param("{{ 100 / (proposed_fine - proposed_fine) }}", id="zero-division-from-data"),
    pytest.param("{% for i in range(proposed_fine|int) %}{% for j in range(proposed_fine|int) %}{% endfor %}{% endfor %}",
                 id="loops-from-data"),
    pytest.param("{{ proposed_fine ** (proposed_fine ** 5) }}", id="power-from-data"),
])
def test_the_task_page_shows_the_notice_not_a_500(app: Flask, people, frozen, template: str,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    with app.app_context():
        deploy_bundle(mutated(MINI_BPMN, (ORIGINAL, xml_text(template))), "test")
        case = start_case(user("a_handler1"), "mini", PARTY, {"proposed_fine": 1000})
        task_id = db.session.scalar(select(Task.id).where(Task.case_id == case.id, Task.status == "open"))
        db.session.remove()
    client = logged_in(app, "a_handler1")
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="webui.instructions"):
        page = client.get(f"/tasks/{task_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "办理说明无法显示" in html
    assert time.monotonic() - started < 20
    assert any("instructions failed to render" in r.getMessage() for r in caplog.records)


def test_the_notice_is_chinese_first() -> None:
    assert RENDER_FAILED.startswith("办理说明无法显示") and "(The instructions cannot be shown" in RENDER_FAILED
