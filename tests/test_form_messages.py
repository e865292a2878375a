"""Validation messages in Chinese (issue 17): every keyword that can refuse a value says, in Chinese,
which field (by its title) and what is wrong; jsonschema's English text never reaches the page."""

from __future__ import annotations

import re

import pytest

from engine.errors import InvalidInput
from engine.forms.schema import validate_form_data
from webui.i18n import strip_english

CJK = re.compile(r"[\u4e00-\u9fff]")


def refusal(schema: dict, data: dict) -> InvalidInput:
    with pytest.raises(InvalidInput) as err:
        validate_form_data(schema, data)
    return err.value


def form(prop: dict, **extra) -> dict:
    return {"type": "object", "properties": {"x": {"title": "罚款金额", **prop}}, **extra}


CASES = [
    ("type", form({"type": "number"}), {"x": "abc"}, "应填写数字"),
    ("enum", form({"enum": ["a", "b"]}), {"x": "c"}, "选项中选择"),
    ("const-true", form({"const": True}), {"x": False}, "须勾选"),
    ("const-label", form({"const": "ok", "x-enum-labels": {"ok": "符合"}}), {"x": "no"}, "只能是“符合”"),
    ("minimum", form({"minimum": 0}), {"x": -1}, "不能小于 0"),
    ("maximum", form({"maximum": 10}), {"x": 11}, "不能大于 10"),
    ("exclusiveMinimum", form({"exclusiveMinimum": 0}), {"x": 0}, "必须大于 0"),
    ("exclusiveMaximum", form({"exclusiveMaximum": 5}), {"x": 5}, "必须小于 5"),
    ("multipleOf", form({"multipleOf": 0.01}), {"x": 1.001}, "两位小数"),
    ("multipleOf-5", form({"multipleOf": 5}), {"x": 7}, "5 的整数倍"),
    ("minLength", form({"type": "string", "minLength": 3}), {"x": "ab"}, "至少 3 个字"),
    ("maxLength", form({"type": "string", "maxLength": 2}), {"x": "abc"}, "不能超过 2 个字"),
    ("pattern", form({"type": "string", "pattern": "^[0-9]+$"}), {"x": "a"}, "格式不符合要求"),
    ("format", form({"type": "string", "format": "date"}), {"x": "2026-13-45"}, "应为日期"),
    ("minItems", form({"type": "array", "minItems": 2}), {"x": ["a"]}, "至少需要 2 项"),
    ("maxItems", form({"type": "array", "maxItems": 1}), {"x": ["a", "b"]}, "最多 1 项"),
    ("uniqueItems", form({"type": "array", "uniqueItems": True}), {"x": ["a", "a"]}, "重复"),
    ("contains", form({"type": "array", "contains": {"const": "a"}}), {"x": ["b"]}, "缺少符合要求的项"),
    ("minProperties", form({"type": "object", "minProperties": 1}), {"x": {}}, "至少需要 1 项内容"),
    ("additionalProperties", form({"type": "object", "additionalProperties": False}), {"x": {"y": 1}}, "未定义的内容"),
    ("not", form({"not": {"const": 1}}), {"x": 1}, "不符合要求"),
    ("anyOf", form({"anyOf": [{"type": "string"}, {"type": "integer"}]}), {"x": 1.5}, "不符合任何一种"),
    ("oneOf", form({"oneOf": [{"type": "number"}, {"type": "integer"}]}), {"x": 1}, "只符合一种"),
    ("false", {"type": "object", "properties": {"x": False}}, {"x": 1}, "不能填写"),
    ("dependentRequired", {"type": "object", "dependentRequired": {"x": ["y"]},
                           "properties": {"x": {"title": "罚款金额"}, "y": {"title": "罚款依据"}}}, {"x": 1}, "请填写“罚款依据”"),
]


@pytest.mark.parametrize(("keyword", "schema", "data", "expected"), CASES, ids=[c[0] for c in CASES])
def test_every_keyword_is_refused_in_chinese_naming_the_field(keyword, schema, data, expected):
    detail = refusal(schema, data).details[0]
    message = detail["message"]
    assert expected in message, message
    if keyword not in ("false", "dependentRequired"):
        assert "“罚款金额”" in message, "the message names the field by its title"
    assert detail["field"] in ("x", "y")
    chinese_part = strip_english(message)
    assert CJK.search(chinese_part) and not re.search(r"[A-Za-z]{3,}", chinese_part), chinese_part


def test_required_fields_of_a_then_branch_are_each_named_once():
    schema = {"type": "object", "properties": {"kind": {"title": "决定", "enum": ["file", "no"]},
                                               "a": {"title": "案由"}, "b": {"title": "立案日期"}},
              "allOf": [{"if": {"properties": {"kind": {"const": "file"}}, "required": ["kind"]},
                         "then": {"required": ["a", "b"]}}]}
    err = refusal(schema, {"kind": "file"})
    assert [d["field"] for d in err.details] == ["a", "b"]
    assert [d["label"] for d in err.details] == ["案由", "立案日期"]
    assert err.message.startswith("表单填写有误：请填写“案由”") and "请填写“立案日期”" in err.message


def test_rows_and_references_are_named_by_their_own_titles():
    schema = {"type": "object", "$defs": {"money": {"type": "number", "title": "金额", "minimum": 0}},
              "properties": {"fee": {"$ref": "#/$defs/money"},
                             "items": {"type": "array", "title": "证据", "items": {
                                 "type": "object", "required": ["name"], "properties": {"name": {"title": "名称"}}}}}}
    err = refusal(schema, {"fee": -5, "items": [{}]})
    by_field = {d["field"]: d for d in err.details}
    assert "“金额”不能小于 0" in by_field["fee"]["message"]
    assert by_field["items.0.name"]["message"].startswith("请填写“名称”")


def test_a_fields_own_message_still_wins():
    schema = form({"const": True, "x-message": "须经负责人批准（法第五十七条），请勾选"})
    assert refusal(schema, {"x": False}).details[0]["message"] == "须经负责人批准（法第五十七条），请勾选"


def test_the_chinese_ui_drops_only_parenthesised_english():
    assert strip_english("必填 (required)") == "必填"
    assert strip_english("“x”格式不符合要求 (does not match the pattern '^(a|b)$')") == "“x”格式不符合要求"
    assert strip_english("行号只能是 0 到 1000 的阿拉伯数字 (0-9)") == "行号只能是 0 到 1000 的阿拉伯数字 (0-9)"
    assert strip_english("导出（PDF 格式）") == "导出（PDF 格式）"
    assert strip_english("说明 (含中文 text)") == "说明 (含中文 text)"
