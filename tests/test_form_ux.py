"""Forms that keep the officer's work and follow their choices (issue 17): schema shapes the page used
to trip over, fields required or shown only for some choice, choices printed by their labels."""

from __future__ import annotations

import json
import re

import pytest
from flask import Flask, render_template_string
from werkzeug.datastructures import MultiDict

from engine.expressions.templates import render_instructions_text
from engine.models import Task, db
from tests.conftest import ROOT, deploy_dir
from tests.support.web import LEAD, login
from tests.support.web import page_csrf as csrf
from webui.form_labels import enum_labels, labelled_data
from webui.formrender import fields_of, parse_form, required_when

FORMS = ROOT / "forms"


def load(name: str) -> dict:
    return json.loads((FORMS / f"{name}.json").read_text(encoding="utf-8"))


def test_a_boolean_property_schema_draws_a_plain_field_and_false_draws_nothing():
    schema = {"type": "object", "properties": {"note": True, "never": False, "fine": {"type": "number", "title": "罚款"}}}
    fields = {f.name: f for f in fields_of(schema)}
    assert set(fields) == {"note", "fine"}
    assert fields["note"].widget == "text" and fields["note"].label == "note"
    assert parse_form(schema, MultiDict({"note": "备注", "never": "x", "fine": "12.5"})) == {"note": "备注", "fine": 12.5}


def test_a_ref_field_draws_the_widget_of_its_definition():
    schema = {"type": "object", "$defs": {
        "money": {"type": "number", "title": "金额", "minimum": 0, "multipleOf": 0.01},
        "day": {"type": "string", "format": "date"},
        "outcome": {"type": "string", "enum": ["a", "b"], "x-enum-labels": {"a": "同意", "b": "不同意"}},
        "row": {"type": "object", "properties": {"paid": {"$ref": "#/$defs/money"}}},
    }, "properties": {
        "fine": {"$ref": "#/$defs/money", "title": "罚款"},
        "on": {"$ref": "#/$defs/day", "title": "日期"},
        "outcome": {"$ref": "#/$defs/outcome", "title": "意见"},
        "loop": {"$ref": "#/properties/loop"},
        "payments": {"type": "array", "title": "缴款", "x-widget": "rows", "items": {"$ref": "#/$defs/row"}},
    }}
    fields = {f.name: f for f in fields_of(schema)}
    assert fields["fine"].widget == "money" and fields["fine"].label == "罚款" and fields["fine"].attrs["step"] == "0.01"
    assert fields["on"].widget == "date"
    assert fields["outcome"].widget == "select" and fields["outcome"].options == [("a", "同意"), ("b", "不同意")]
    assert fields["loop"].widget == "text"  # a reference that loops is drawn, not followed forever
    assert [c.widget for c in fields["payments"].columns] == ["money"]
    data = parse_form(schema, MultiDict({"fine": "100.50", "payments-0-paid": "20"}))
    assert data == {"fine": 100.5, "payments": [{"paid": 20}]}


def test_one_of_const_titles_are_options():
    schema = {"type": "object", "properties": {"who": {"type": "string", "title": "主持人",
                                                       "oneOf": [{"const": "u1", "title": "张三"}, {"const": "u2", "title": "李四"}]}}}
    (f,) = fields_of(schema)
    assert f.options == [("u1", "张三"), ("u2", "李四")]


def test_required_when_reads_the_if_then_rules_of_the_shipped_forms():
    lead = required_when(load("lead_registration"))
    assert lead["not_file_reason"] == [[{"field": "filing_recommendation", "values": ["not_file"]}]]
    assert lead["verification_extension_reason"] == [[{"field": "verification_extension_approved", "values": ["True"]}]]
    hearing = required_when(load("hearing_conduct"))
    assert hearing["absence_note"] == [[{"field": "attendance",
                                         "values": ["justified_absence", "postponement_requested", "unjustified_absence"]}]]
    fields = {f.name: f for f in fields_of(load("case_filing"))}
    assert fields["case_cause"].conditional and fields["case_cause"].required_when
    assert not fields["filing_decision"].conditional and fields["filing_decision"].required


def test_conditions_the_page_cannot_evaluate_are_left_to_the_server():
    schema = {"type": "object", "properties": {"a": {}, "b": {}},
              "allOf": [{"if": {"properties": {"a": {"minimum": 3}}, "required": ["a"]}, "then": {"required": ["b"]}},
                        {"if": {"properties": {"a": {"const": 1}}}, "then": {"required": ["b"]}}]}  # no "required": absent matches
    assert required_when(schema) == {}


def test_the_page_marks_conditional_fields_for_the_script(app: Flask):
    schema = load("lead_registration")
    with app.test_request_context("/"):
        html = render_template_string(
            '{% from "_macros.html" import field %}{% for f in fields %}{{ field(f, {}, {}, {}, dv) }}{% endfor %}',
            fields=fields_of(schema), dv=lambda widget, value: value or "")
    box = re.search(r'<div class="mb-3 zf-field" data-field-name="not_file_reason"[^>]*>', html).group(0)
    assert 'data-conditional="1"' in box and "data-required-when=" in box
    assert json.loads(re.search(r'data-required-when="([^"]*)"', box).group(1).replace("&#34;", '"').replace("&quot;", '"')) == \
        [[{"field": "filing_recommendation", "values": ["not_file"]}]]
    assert 'class="text-danger zf-when-star" aria-hidden="true" hidden>*' in html


def test_instructions_show_choices_by_their_labels_and_still_compare_codes():
    labels = enum_labels([load("investigation_report")])
    data = labelled_data({"discretion_tier": "mitigated", "complex_case": True, "major_public_interest": False,
                          "proposed_fine": 5000}, labels)
    text = render_instructions_text(
        "档次：{{ discretion_tier }}{% if discretion_tier == 'mitigated' %}（须低于下限）{% endif %}；"
        "复杂：{{ complex_case }}{% if complex_case %}!{% endif %}；重大：{{ major_public_interest }}；罚款：{{ proposed_fine }}", data)
    assert text == "档次：减轻处罚（须低于下限）；复杂：是!；重大：否；罚款：5000"


# --------------------------------------------------------------------------------------------- pages
@pytest.fixture
def officer(app, people, frozen):
    with app.app_context():
        deploy_dir(ROOT)
        db.session.remove()

    def client_for(username: str):
        client = app.test_client()
        login(client, username)
        return client

    return client_for


def start_ordinary(client) -> int:
    token = csrf(client.get("/cases/new").get_data(as_text=True))
    r = client.post("/cases/new", data={
        "csrf_token": token, "party_type": "organization", "party_name": "某某超市有限公司", "party_credit_code": "91310000MA1FL1234Q",
        "party_address": "X市Y区幸福路1号", "party_legal_rep": "李四", "violation": "未明码标价",
        "penalty_kind": "fine", "proposed_fine": "5000", "procedure": "ordinary", "action": "start"})
    assert r.status_code == 302, r.get_data(as_text=True)
    return int(r.headers["Location"].rsplit("/", 1)[1])


def open_task(app, case_id: int, bpmn_id: str) -> Task:
    with app.app_context():
        task = db.session.query(Task).filter_by(case_id=case_id, bpmn_id=bpmn_id, status="open").one()
        db.session.expunge(task)
        return task


def test_a_refused_form_comes_back_as_typed_with_chinese_messages_only(app, officer):
    client = officer("a_handler1")
    case_id = start_ordinary(client)
    task = open_task(app, case_id, "register_lead")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    typed = {**LEAD, "lead_summary": "", "verification_findings": "我写的核查情况", "filing_recommendation": "not_file",
             "csrf_token": csrf(page), "version": re.search(r'name="version" value="(\d+)"', page).group(1)}
    r = client.post(f"/tasks/{task.id}", data=typed)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "我写的核查情况" in html
    alert = re.search(r'id="form-error">([^<]*)<', html).group(1)
    assert "请填写“线索内容”" in alert and "请填写“不予立案理由”" in alert
    assert not re.search(r"[A-Za-z]{3,}", alert), f"no English in the Chinese page: {alert}"
    feedback = re.findall(r'data-field="not_file_reason">([^<]*)<', html)
    assert feedback == ["请填写“不予立案理由”，这是必填项"]


def test_a_form_someone_else_finished_first_keeps_what_was_typed(app, officer):
    first, second = officer("a_handler1"), officer("a_handler2")
    task = open_task(app, start_ordinary(first), "register_lead")
    page_a = first.get(f"/tasks/{task.id}").get_data(as_text=True)
    page_b = second.get(f"/tasks/{task.id}").get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', page_a).group(1)
    assert second.post(f"/tasks/{task.id}", data={**LEAD, "csrf_token": csrf(page_b), "version": version}).status_code == 302
    r = first.post(f"/tasks/{task.id}", data={**LEAD, "lead_summary": "我花了半小时写的线索内容", "csrf_token": csrf(page_a),
                                              "version": version})
    html = r.get_data(as_text=True)
    assert r.status_code == 409 and 'id="conflict"' in html
    card = html.split('id="typed-values"', 1)[1]
    assert "我花了半小时写的线索内容" in card and "投诉" in card, "typed text and choices (by their labels) are kept"
