"""Posted HTML forms become typed task data; the engine's validation decides what is accepted."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from engine.errors import InvalidInput
from engine.forms.schema import validate_form_data
from webui.formrender import display_value, fields_of, parse_form
from webui.instructions import render_instructions

SCHEMA = {
    "type": "object",
    "required": ["fine", "items"],
    "properties": {
        "fine": {"title": "罚款", "type": "number", "minimum": 0, "multipleOf": 0.01, "x-widget": "money"},
        "count": {"title": "件数", "type": "integer", "x-widget": "integer"},
        "at": {"title": "时间", "type": "string", "format": "date-time", "x-widget": "datetime"},
        "agreed": {"title": "同意", "type": "boolean", "x-widget": "checkbox"},
        "kinds": {"title": "材料", "type": "array", "items": {"type": "string", "enum": ["a", "b"]}, "x-widget": "checkbox",
                  "x-enum-labels": {"a": "甲", "b": "乙"}},
        "items": {"title": "证据", "type": "array", "minItems": 1, "x-widget": "rows", "items": {
            "type": "object", "required": ["name"], "properties": {"name": {"title": "名称", "type": "string"}}}},
    },
}


@pytest.mark.parametrize("cents", ["150.07", "0.29", "1234567.89", "3000"])
def test_money_with_cents_passes_the_engine_check(cents):
    data = parse_form(SCHEMA, MultiDict({"fine": cents, "items-0-name": "照片"}))
    assert validate_form_data(SCHEMA, data)["fine"] == pytest.approx(float(cents))


def test_more_than_two_decimals_is_refused_against_its_field():
    with pytest.raises(InvalidInput) as err:
        validate_form_data(SCHEMA, parse_form(SCHEMA, MultiDict({"fine": "1.001", "items-0-name": "x"})))
    assert err.value.details[0]["field"] == "fine"


def test_typed_values_are_converted_and_blank_rows_dropped():
    form = MultiDict([("count", "3"), ("at", "2026-03-02T10:30"), ("agreed", "on"), ("kinds", "a"), ("kinds", "b"),
                      ("items-0-name", "照片"), ("items-3-name", ""), ("fine", "12a")])
    data = parse_form(SCHEMA, form)
    assert data["count"] == 3 and data["agreed"] is True and data["kinds"] == ["a", "b"]
    assert data["at"] == "2026-03-02T10:30:00+08:00"  # officers type Beijing time
    assert data["items"] == [{"name": "照片"}]
    assert data["fine"] == "12a"  # kept as typed, so the engine reports it and the page shows it again
    assert display_value("datetime", data["at"]) == "2026-03-02T10:30"
    assert display_value("money", 5000) == "5000.00"


def test_unchecked_checkbox_is_false_and_fields_carry_labels():
    assert parse_form(SCHEMA, MultiDict({}))["agreed"] is False
    fields = {f.name: f for f in fields_of(SCHEMA)}
    assert fields["kinds"].multiple and fields["kinds"].options == [("a", "甲"), ("b", "乙")]
    assert [c.name for c in fields["items"].columns] == ["name"] and fields["fine"].attrs["step"] == "0.01"


def test_instructions_fill_placeholders_escaped_and_render_a_safe_markdown_subset():
    html = render_instructions("**审核**（{{ case_number }}）\n\n- 当事人：{{ party_name }}\n- {{ x.__class__.__mro__ }}",
                               {"case_number": "X1", "party_name": "<img src=x onerror=alert(1)>"})
    assert "<strong>审核</strong>（X1）" in html and "<ul><li>" in html
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script" not in render_instructions("<script>alert(1)</script>", {})
