"""The shipped procedure library (processes/ + forms/) parses, follows the lint conventions and runs.

These tests use bare SpiffWorkflow (no zhifa engine): they check the BPMN/DMN/forms themselves.
Every scenario runs twice, straight through and with a serialize/deserialize round trip after every
step, as SpiffWorkflow's own tests do.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import jsonschema
import pytest
from lxml import etree
from SpiffWorkflow.spiff.specs.defaults import UserTask

from engine.deadlines.holidays import load_seed_time_limits
from engine.definitions.hitpolicy import SUPPORTED as SUPPORTED_HIT_POLICIES
from engine.expressions import make_script_engine
from engine.policy.roles import CREDENTIAL_KINDS, LANE_ROLES, TASK_PROPERTIES
from engine.runtime.case_clock import ClockRecorder
from tests.support.library import FAR_FUTURE, FORMS, LONG_AGO, PROCESSES, Run, case, validate_form
from tests.support.sample_forms import (
    CLOSE,
    FILE_CASE,
    FILING_RECORD,
    INVESTIGATION,
    LEAD_FILE,
    LEAD_NOT_FILE,
    PAID,
    SERVE,
    SIMPLIFIED_CLOSING,
    SIMPLIFIED_DECISION,
    STATEMENT,
    decision,
    notice,
    report,
)

# The library's fixtures (``parser``, ``specs``, ``roundtrip``, ``frozen_timer_clock``) are in tests/conftest.py.

ALLOWED_LANES = set(LANE_ROLES)
ALLOWED_PROPERTIES = set(TASK_PROPERTIES)
CREDENTIALS = set(CREDENTIAL_KINDS)
TIME_LIMIT_KEYS = {item["key"] for item in load_seed_time_limits()}  # the registry the engine seeds
SHIPPED = {"simplified", "legal_review", "ordinary", "hearing", "commitment_notice"}
CJK = re.compile(r"[\u4e00-\u9fff]")

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "dmndi": "https://www.omg.org/spec/DMN/20191111/DMNDI/",
}
FLOW_NODES = (
    "startEvent",
    "endEvent",
    "boundaryEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "exclusiveGateway",
    "parallelGateway",
    "inclusiveGateway",
    "eventBasedGateway",
    "task",
    "userTask",
    "manualTask",
    "scriptTask",
    "serviceTask",
    "businessRuleTask",
    "sendTask",
    "receiveTask",
    "callActivity",
    "subProcess",
)


# --------------------------------------------------------------------------------------------- parsing
def user_task_specs(specs):
    seen = {}
    for spec, subprocess_specs in specs.values():
        for process_spec in [spec, *subprocess_specs.values()]:
            for task_spec in process_spec.task_specs.values():
                if isinstance(task_spec, UserTask):
                    seen[(process_spec.name, task_spec.bpmn_id)] = task_spec
    return seen


def test_library_contains_the_shipped_procedures(parser):
    assert SHIPPED <= set(parser.get_process_ids())
    assert parser.get_subprocess_specs("ordinary").keys() == {"legal_review", "hearing"}
    assert parser.get_subprocess_specs("hearing").keys() == {"legal_review"}  # 法 Art. 58(2): review after a hearing
    assert parser.get_subprocess_specs("commitment_notice").keys() == {"ordinary", "legal_review", "hearing"}


def test_every_user_task_has_role_lane_form_and_time_limit(specs):
    tasks = user_task_specs(specs)
    assert len(tasks) >= 20
    all_bpmn_ids = {tid for spec, _ in specs.values() for tid in (t.bpmn_id for t in spec.task_specs.values())}
    for (pid, bpmn_id), task_spec in tasks.items():
        where = f"{pid}:{bpmn_id}"
        assert task_spec.lane in ALLOWED_LANES, where
        assert task_spec.bpmn_name and CJK.search(task_spec.bpmn_name), where
        assert task_spec.documentation and CJK.search(task_spec.documentation), where
        ext = task_spec.extensions
        assert CJK.search(ext.get("instructionsForEndUser") or ""), where
        props = ext.get("properties", {})
        assert set(props) <= ALLOWED_PROPERTIES, where
        assert props.get("time_limit") in TIME_LIMIT_KEYS, where
        form_path = FORMS / f"{props.get('form')}.json"
        assert form_path.is_file(), where
        if "requires_credential" in props:
            assert props["requires_credential"] in CREDENTIALS, where
        if "separate_from" in props:
            for other in props["separate_from"].split(","):
                if other.startswith("@"):  # an officers field of some form (designated officers of the case)
                    assert any(json.loads(f.read_text(encoding="utf-8"))["properties"].get(other[1:], {}).get("x-widget")
                               == "officers" for f in FORMS.glob("*.json")), f"{where}: separate_from {other}"
                else:
                    assert other in all_bpmn_ids, f"{where}: separate_from {other}"
        if "document" in props:
            assert CJK.search(props["document"]), where


def test_legal_reviewer_is_qualified_and_separate_from_investigators(specs):
    review = user_task_specs(specs)[("legal_review", "review")]
    props = review.extensions["properties"]
    assert review.lane == "legal_reviewer"
    assert props["requires_credential"] == "legal_qualification"
    assert {"investigate", "investigation_report", "submit_review"} <= set(props["separate_from"].split(","))
    assert props["document"] == "法制审核意见书"


@pytest.mark.parametrize("path", sorted(FORMS.glob("*.json")), ids=lambda p: p.stem)
def test_form_is_valid_json_schema(path):
    schema = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object" and CJK.search(schema["title"])
    assert set(schema["required"]) <= set(schema["properties"])
    for name, prop in schema["properties"].items():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name), name
        assert CJK.search(prop["title"]), name
        assert prop.get("x-widget") in {
            "text",
            "textarea",
            "integer",
            "money",
            "date",
            "datetime",
            "select",
            "radio",
            "checkbox",
            "rows",
            "officers",
            "evidence",  # ids of the case's evidence items (issue 16)
        }, name
        if "enum" in prop:
            assert set(prop["x-enum-labels"]) == set(prop["enum"]), name
        if prop.get("x-widget") == "money":
            assert prop["type"] == "number" and prop["minimum"] == 0 and prop["multipleOf"] == 0.01, name


def test_every_form_is_used_by_a_user_task(specs):
    used = {t.extensions["properties"]["form"] for t in user_task_specs(specs).values()}
    assert used == {p.stem for p in FORMS.glob("*.json")}


@pytest.mark.parametrize("path", sorted(PROCESSES.glob("*.bpmn")), ids=lambda p: p.stem)
def test_bpmn_has_lanes_and_complete_diagram(path):
    doc = etree.parse(str(path))
    shapes = {s.get("bpmnElement"): s for s in doc.iterfind(".//bpmndi:BPMNShape", NS)}
    edges = {e.get("bpmnElement"): e for e in doc.iterfind(".//bpmndi:BPMNEdge", NS)}
    for process in doc.iterfind("bpmn:process", NS):
        lanes = process.findall("bpmn:laneSet/bpmn:lane", NS)
        assert lanes and {lane.get("name") for lane in lanes} <= ALLOWED_LANES
        in_lane = {ref.text for lane in lanes for ref in lane.iterfind("bpmn:flowNodeRef", NS)}
        for lane in lanes:
            assert lane.get("id") in shapes
        for tag in FLOW_NODES:
            for node in process.iterfind(f"bpmn:{tag}", NS):
                assert node.get("id") in shapes, node.get("id")
                assert node.get("id") in in_lane, node.get("id")
        for flow in process.iterfind("bpmn:sequenceFlow", NS):
            edge = edges.get(flow.get("id"))
            assert edge is not None and len(edge.findall("di:waypoint", NS)) >= 2, flow.get("id")
    for participant in doc.iterfind(".//bpmn:participant", NS):
        assert participant.get("id") in shapes


@pytest.mark.parametrize("path", sorted(PROCESSES.glob("*.dmn")), ids=lambda p: p.stem)
def test_dmn_has_diagram_and_supported_hit_policy(path):
    doc = etree.parse(str(path))
    decisions = doc.findall("dmn:decision", NS)
    assert len(decisions) == 1
    assert decisions[0].get("id") == path.stem
    shapes = {s.get("dmnElementRef") for s in doc.iterfind(".//dmndi:DMNShape", NS)}
    assert path.stem in shapes
    for table in doc.iterfind(".//dmn:decisionTable", NS):
        assert table.get("hitPolicy", "UNIQUE") in SUPPORTED_HIT_POLICIES  # engine/definitions/hitpolicy.py


# --------------------------------------------------------------------------------------------- running
@pytest.mark.parametrize(
    ("party_type", "penalty_kind", "fine", "eligible"),
    [
        ("citizen", "warning", 0, True),
        ("organization", "warning", 0, True),
        ("citizen", "fine", 200, True),
        ("citizen", "fine", 200.01, False),
        ("organization", "fine", 3000, True),
        ("organization", "fine", 3000.01, False),
        ("citizen", "confiscation", 0, False),
        ("citizen", "licence_revocation", 0, False),
    ],
)
def test_simplified_eligibility_follows_article_51(specs, party_type, penalty_kind, fine, eligible):
    run = Run(specs, "simplified", case(party_type, penalty_kind, fine), roundtrip=False)
    if eligible:
        assert run.ready() == ["onspot_decision"]
        assert run.data["simplified_eligible"] is True
    else:
        assert run.wf.is_completed()
        assert run.data["simplified_refused"] is True
        assert run.data["simplified_eligible"] is False


def test_simplified_warning_is_decided_filed_and_closed(specs, roundtrip):
    run = Run(specs, "simplified", case(penalty_kind="warning"), roundtrip)
    decision = {**SIMPLIFIED_DECISION, "decision_penalty_kind": "warning", "decision_fine": 0}
    validate_form("simplified_decision", decision)
    run.complete("onspot_decision", decision)
    assert run.ready() == ["filing_record"]  # a warning has no payment step
    run.complete("filing_record", FILING_RECORD)
    run.complete("close_case", SIMPLIFIED_CLOSING)
    assert run.wf.is_completed()
    assert "simplified_refused" not in run.data


def test_simplified_on_the_spot_collection_is_handed_over(specs, roundtrip):
    run = Run(specs, "simplified", case(proposed_fine=100), roundtrip)
    run.complete("onspot_decision", {**SIMPLIFIED_DECISION, "decision_penalty_kind": "fine", "decision_fine": 100})
    assert run.ready() == ["collect_payment", "filing_record"]  # filing runs in parallel with payment
    run.complete("filing_record", FILING_RECORD)
    payment = {
        "payment_method": "onspot",
        "onspot_reason": "small_amount",
        "payment_status": "paid",
        "paid_amount": 100,
        "paid_on": "2026-03-02",
        "receipt_number": "NO.001",
    }
    validate_form("simplified_payment", payment)
    run.complete("collect_payment", payment)
    run.complete("fine_handover", {"handed_over_on": "2026-03-03", "handover_amount": 100, "handed_to": "财务科"})
    run.complete("close_case", SIMPLIFIED_CLOSING)
    assert run.wf.is_completed()


def test_simplified_bank_payment_needs_no_handover(specs, roundtrip):
    run = Run(specs, "simplified", case("organization", proposed_fine=2000), roundtrip)
    run.complete("onspot_decision", {**SIMPLIFIED_DECISION, "decision_penalty_kind": "fine", "decision_fine": 2000})
    run.complete("collect_payment", {"payment_method": "bank", "payment_status": "paid", "paid_amount": 2000, "paid_on": "2026-03-10"})
    assert run.ready() == ["filing_record"]
    run.complete("filing_record", FILING_RECORD)
    run.complete("close_case", SIMPLIFIED_CLOSING)
    assert run.wf.is_completed()


def test_simplified_forms_reject_out_of_range_collection():
    with pytest.raises(jsonschema.ValidationError):
        validate_form(
            "simplified_payment",
            {
                "payment_method": "onspot",
                "onspot_reason": "small_amount",
                "payment_status": "paid",
                "paid_amount": 150,
                "paid_on": "2026-03-02",
                "receipt_number": "NO.2",
            },
        )
    with pytest.raises(jsonschema.ValidationError):
        validate_form("simplified_decision", {**SIMPLIFIED_DECISION, "decision_penalty_kind": "warning", "decision_fine": 50})
    with pytest.raises(jsonschema.ValidationError):
        validate_form(
            "simplified_decision",
            {**SIMPLIFIED_DECISION, "decision_penalty_kind": "fine", "decision_fine": 100, "party_signature": "refused"},
        )


# --- ordinary procedure
def file_and_investigate(run):
    run.complete("register_lead", LEAD_FILE)
    run.complete("file_case", FILE_CASE)
    run.complete("investigate", INVESTIGATION)


def test_ordinary_lead_not_filed_ends_without_investigation(specs, roundtrip):
    run = Run(specs, "ordinary", case(proposed_fine=5000), roundtrip)
    assert run.ready() == ["register_lead"]
    run.complete("register_lead", LEAD_NOT_FILE)
    assert run.ready() == ["approve_not_filing"]
    run.complete(
        "approve_not_filing", {"not_filing_decision": "approve", "not_filing_opinion": "同意", "not_filing_decided_on": "2026-03-06"}
    )
    assert run.wf.is_completed()
    assert run.done == ["register_lead", "approve_not_filing"]


def test_ordinary_filing_returned_goes_back_to_verification(specs, roundtrip):
    run = Run(specs, "ordinary", case(proposed_fine=5000), roundtrip)
    run.complete("register_lead", LEAD_FILE)
    run.complete("file_case", {"filing_decision": "return", "filing_opinion": "事实不清，重新核查"})
    assert run.ready() == ["register_lead"]
    run.complete("register_lead", LEAD_NOT_FILE)
    run.complete(
        "approve_not_filing",
        {"not_filing_decision": "file_instead", "not_filing_opinion": "应当立案", "not_filing_decided_on": "2026-03-06"},
    )
    assert run.ready() == ["file_case"]
    run.complete("file_case", FILE_CASE)
    assert run.ready() == ["investigate"]


def test_ordinary_full_path_with_legal_review_returned_once(specs, roundtrip):
    run = Run(specs, "ordinary", case(proposed_fine=20000), roundtrip)
    file_and_investigate(run)
    run.complete("investigation_report", report(fine=20000))
    # 对公民罚款一万元以上 → 法制审核 (call activity)
    assert run.ready() == ["submit_review"]
    run.complete(
        "submit_review",
        {"submitted_materials": ["report", "evidence"], "materials_complete": True, "submitted_at": "2026-03-20T09:00:00+08:00"},
    )
    returned = {
        "check_authority": "ok",
        "check_competence": "ok",
        "check_procedure": "ok",
        "check_facts": "ok",
        "check_evidence": "ok",
        "check_law": "ok",
        "check_discretion": "problem",
        "check_documents": "ok",
        "check_crime_transfer": "no",
        "review_outcome": "return",
        "review_opinion": "裁量过重",
        "problems_found": "应从轻",
        "reviewed_on": "2026-03-24",
    }
    validate_form("legal_review_opinion", returned)
    run.complete("review", returned)
    assert run.ready() == ["supplement_materials"]
    run.complete(
        "supplement_materials",
        {
            "supplement_actions": "调整裁量",
            "proposed_outcome": "penalty",
            "penalty_kind": "fine",
            "proposed_fine": 15000,
            "proposed_penalty": "罚款15000元",
            "resubmitted_at": "2026-03-25T09:00:00+08:00",
        },
    )
    assert run.ready() == ["review"]
    approved = {**returned, "check_discretion": "ok", "review_outcome": "approve", "review_opinion": "同意"}
    del approved["problems_found"]
    validate_form("legal_review_opinion", approved)
    run.complete("review", approved)
    assert run.ready() == ["notify_party"]
    data = run.data
    assert data["legal_review_required"] is True and data["legal_review_passed"] is True
    assert data["legal_review_opinion"] == "同意"
    assert data["proposed_fine"] == 15000  # the revised proposal comes back from the review
    assert "check_discretion" not in data  # the review's working data stays in the review
    run.complete("notify_party", notice(15000))
    assert run.ready() == ["record_hearing_request"]  # 罚款一万元以上：应告知听证权利
    run.complete("record_hearing_request", {"hearing_requested": False})
    assert run.ready() == ["record_statement"]
    run.complete("record_statement", STATEMENT)
    assert run.ready() == ["decide"]
    run.complete("decide", decision(fine=12000))
    run.complete(
        "issue_penalty_decision",
        {
            "decision_issued_on": "2026-04-01",
            "payment_instructions": "银行",
            "reconsideration_body": "某市人民政府",
            "court": "某区人民法院",
        },
    )
    run.complete("serve_decision", SERVE)
    run.complete("record_payment", PAID(12000, "2026-04-10"))
    assert run.ready() == ["close_case"]
    run.complete("close_case", CLOSE)
    assert run.wf.is_completed()
    assert run.done == [
        "register_lead",
        "file_case",
        "investigate",
        "investigation_report",
        "submit_review",
        "review",
        "supplement_materials",
        "review",
        "notify_party",
        "record_hearing_request",
        "record_statement",
        "decide",
        "issue_penalty_decision",
        "serve_decision",
        "record_payment",
        "close_case",
    ]
    assert run.data["statement_waived"] is False


def test_ordinary_small_fine_skips_legal_review(specs, roundtrip):
    run = Run(specs, "ordinary", case(proposed_fine=2000), roundtrip)
    file_and_investigate(run)
    run.complete("investigation_report", report(fine=2000))
    assert run.ready() == ["notify_party"]
    assert run.data["legal_review_required"] is False


@pytest.mark.parametrize(
    ("party_type", "kind", "fine", "flags", "required"),
    [
        ("citizen", "fine", 9999, {}, False),
        ("citizen", "fine", 10000, {}, True),
        ("organization", "fine", 99999, {}, False),
        ("organization", "fine", 100000, {}, True),
        ("organization", "licence_revocation", 0, {}, True),
        ("citizen", "warning", 0, {"complex_case": True}, True),
        ("citizen", "warning", 0, {"major_public_interest": True}, True),
        ("citizen", "fine", 500, {"mitigated_below_minimum": True, "discretion_tier": "mitigated"}, True),
    ],
)
def test_legal_review_required_follows_the_major_decision_list(specs, party_type, kind, fine, flags, required):
    run = Run(specs, "ordinary", case(party_type, kind, fine), roundtrip=False)
    file_and_investigate(run)
    run.complete("investigation_report", report(kind=kind, fine=fine, **flags))
    assert run.ready() == (["submit_review"] if required else ["notify_party"])
    if required:  # the review sees only its declared inputs, including why it was required
        assert run.wf.get_next_task(spec_name="legal_review_call").data["legal_review_required"] is True
        assert CJK.search(run.data["legal_review_reason"]) and "assigned_handlers" not in run.data
    else:
        assert run.data["legal_review_required"] is False


def test_statement_period_expiry_counts_as_waiver(specs, roundtrip, frozen_timer_clock):
    statement_deadline = "2026-03-30T23:59:59+08:00"
    run = Run(specs, "ordinary", case(proposed_fine=2000), roundtrip, deadline=statement_deadline)
    file_and_investigate(run)
    run.complete("investigation_report", report(fine=2000))
    run.complete("notify_party", notice(2000))
    assert run.ready() == ["record_statement"]
    waiting = run.wf.waiting_events()
    assert len(waiting) == 1 and waiting[0].event_type == "TimeDateEventDefinition"
    assert waiting[0].value == statement_deadline
    run.fire_timers()
    assert run.ready() == ["record_statement"]  # still within the period
    frozen_timer_clock.at = dt.datetime(2026, 3, 30, 16, 0, 1, tzinfo=dt.UTC)  # 00:00:01 on the 31st, CST
    run.fire_timers()
    assert run.ready() == ["decide"]
    assert run.data["statement_waived"] is True
    assert "record_statement" not in run.done


def test_statement_period_already_over_when_notice_recorded(specs, frozen_timer_clock):
    run = Run(specs, "ordinary", case(proposed_fine=2000), roundtrip=False, deadline=LONG_AGO)
    file_and_investigate(run)
    run.complete("investigation_report", report(fine=2000))
    run.complete("notify_party", notice(2000, served_on="2000-01-01"))
    assert run.ready() == ["decide"]
    assert run.data["statement_waived"] is True


def test_statement_timer_uses_the_recorded_service_date(specs):
    seen = []

    def deadline(key, start):
        seen.append((key, start))
        return FAR_FUTURE

    run = Run(specs, "ordinary", case(proposed_fine=2000), roundtrip=False)
    run.wf.script_engine = make_script_engine({"deadline": deadline, "case_clock": ClockRecorder()})
    file_and_investigate(run)
    run.complete("investigation_report", report(fine=2000))
    run.complete("notify_party", notice(2000, served_on="2026-03-27"))
    assert ("statement_period", "2026-03-27") in seen
    assert run.wf.waiting_events()[0].value.startswith("2099-01-01")


def test_decision_cannot_exceed_the_notified_fine(specs, roundtrip):
    run = Run(specs, "ordinary", case(proposed_fine=2000), roundtrip)
    file_and_investigate(run)
    run.complete("investigation_report", report(fine=2000))
    run.complete("notify_party", notice(2000))
    run.complete("record_statement", STATEMENT)
    run.complete("decide", decision(fine=3000))  # 法第四十五条: no heavier penalty than notified
    assert run.ready() == ["notify_party"]  # back to the notice, with the decided penalty as the proposal
    data = run.data
    assert "第四十五条" in data["returned_because"] and data["void_documents"] == ["行政处罚决定审批表"]
    assert (data["proposed_fine"], data["proposed_penalty"]) == (3000, "罚款3000元")
    run.complete("notify_party", notice(3000))
    run.complete("record_statement", STATEMENT)
    run.complete("decide", decision(fine=2000))
    assert run.ready() == ["issue_penalty_decision"]


def test_penalty_without_prior_notice_goes_back_to_notice(specs, roundtrip):
    run = Run(specs, "ordinary", case(proposed_fine=0), roundtrip)
    file_and_investigate(run)
    run.complete("investigation_report", report(outcome="no_penalty_minor", fine=0))
    assert run.ready() == ["decide"]  # no penalty proposed: no notice, straight to the decision
    run.complete("decide", decision(fine=1000))  # 法第六十二条: the party must be notified and heard first
    assert run.ready() == ["notify_party"]
    run.complete("notify_party", notice(1000))
    run.complete("record_statement", {"statement_waived": True})
    run.complete("decide", decision(fine=1000))
    assert run.ready() == ["issue_penalty_decision"]


def test_no_penalty_decision_is_served_and_closed_without_payment(specs, roundtrip):
    run = Run(specs, "ordinary", case(proposed_fine=0), roundtrip)
    file_and_investigate(run)
    run.complete("investigation_report", report(outcome="no_penalty_minor", fine=0))
    run.complete("decide", decision("no_penalty_minor"))
    run.complete("issue_no_penalty_decision", {"decision_issued_on": "2026-04-01", "education_given": True})
    run.complete("serve_decision", SERVE)
    assert run.ready() == ["close_case"]
    run.complete("close_case", {**CLOSE, "closing_reason": "no_penalty"})
    assert run.wf.is_completed()


def test_complex_case_goes_to_collective_discussion_and_transfer(specs, roundtrip):
    run = Run(specs, "ordinary", case("organization", proposed_fine=50000), roundtrip)
    file_and_investigate(run)
    run.complete("investigation_report", report(outcome="transfer", fine=50000, complex_case=True))
    run.complete(
        "submit_review", {"submitted_materials": ["report"], "materials_complete": True, "submitted_at": "2026-03-20T09:00:00+08:00"}
    )
    run.complete("review", {"review_outcome": "approve", "review_opinion": "同意移送"})
    assert run.ready() == ["collective_discussion"]
    run.complete(
        "collective_discussion",
        {"discussion_at": "2026-03-30T15:00:00+08:00", "discussion_summary": "一致同意移送", "discussion_conclusion": "transfer"},
    )
    run.complete("decide", decision("transfer"))
    assert run.ready() == ["transfer_case"]
    run.complete("transfer_case", {"receiving_authority": "某市公安局", "transferred_on": "2026-04-02", "transfer_materials": "全部案卷"})
    run.complete("close_case", {**CLOSE, "closing_reason": "transferred"})
    assert run.wf.is_completed()


def test_evidence_preservation_is_approved_then_handled(specs, roundtrip):
    run = Run(specs, "ordinary", case(proposed_fine=2000), roundtrip)
    run.complete("register_lead", LEAD_FILE)
    run.complete("file_case", FILE_CASE)
    run.complete("investigate", {**INVESTIGATION, "evidence_preservation_needed": True, "preservation_reason": "证据可能灭失"})
    assert run.ready() == ["approve_preservation"]
    run.complete("approve_preservation", {"preservation_decision": "deny", "preservation_approved_on": "2026-03-07"})
    assert run.ready() == ["investigate"]
    run.complete("investigate", {**INVESTIGATION, "evidence_preservation_needed": True, "preservation_reason": "证据可能灭失"})
    run.complete("approve_preservation", {"preservation_decision": "approve", "preservation_approved_on": "2026-03-08"})
    assert run.ready() == ["handle_preservation"]
    run.complete("handle_preservation", {"preservation_handling_decision": "release"})
    assert run.ready() == ["investigate"]
    run.complete("investigate", INVESTIGATION)
    assert run.ready() == ["investigation_report"]


@pytest.mark.parametrize("path", sorted(PROCESSES.glob("*.bpmn")), ids=lambda p: p.stem)
def test_bpmn_diagram_is_readable_left_to_right(path):
    """Lanes are stacked horizontal bands; every node sits inside its own lane's band; no two shapes overlap."""
    doc = etree.parse(str(path))

    def box(element_id):
        b = doc.find(f".//bpmndi:BPMNShape[@bpmnElement='{element_id}']/{{http://www.omg.org/spec/DD/20100524/DC}}Bounds", NS)
        return tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))

    for process in doc.iterfind("bpmn:process", NS):
        lanes = process.findall("bpmn:laneSet/bpmn:lane", NS)
        bands = sorted(box(lane.get("id")) for lane in lanes)
        bands.sort(key=lambda b: b[1])
        for upper, lower in zip(bands, bands[1:], strict=False):
            assert upper[1] + upper[3] <= lower[1], f"{path.stem}: lanes overlap"
        boxes = {}
        for lane in lanes:
            lx, ly, lw, lh = box(lane.get("id"))
            for ref in lane.iterfind("bpmn:flowNodeRef", NS):
                x, y, w, h = boxes[ref.text] = box(ref.text)
                assert ly <= y and y + h <= ly + lh and lx <= x and x + w <= lx + lw, f"{path.stem}: {ref.text} outside its lane"
        hosts = {b.get("id"): b.get("attachedToRef") for b in process.iterfind("bpmn:boundaryEvent", NS)}
        ids = sorted(boxes)
        for i, a in enumerate(ids):
            for b in ids[i + 1:]:
                if hosts.get(a) == b or hosts.get(b) == a:
                    continue
                (ax, ay, aw, ah), (bx, by, bw, bh) = boxes[a], boxes[b]
                assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay, f"{path.stem}: {a} overlaps {b}"
