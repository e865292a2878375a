"""Deploy-time size limits of diagrams (engine/definitions/bounds.py) and where problems are reported.

A process with 10,000 parallel tasks used to deploy, after which every case start took ~27 s while
holding the write lock. It is now refused in milliseconds, before XSD validation and SpiffWorkflow,
naming file, process and the limit. And when a designer uploads files that are merged with the
previously deployed ones, a problem on an element whose id also occurs in an unchanged old file is
reported against the uploaded file (``ParsedBundle.locate``).
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from lxml import etree

from engine.definitions import Bundle, BundleFile
from engine.definitions.bounds import MAX_BUNDLE_FLOW_NODES, MAX_CARDINALITY, MAX_FAN_OUT, MAX_FLOW_NODES, BundleCount, check_diagram
from engine.definitions.deploy import validate_bundle
from engine.definitions.parse import parse_bundle
from tests.conftest import ROOT
from tests.support.bundles import MINI_BPMN, edited, mini_bundle, original, parallel_bpmn, problem_at, rejected

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BIG = "processes/big.bpmn"


def with_big(content: bytes, path: str = BIG) -> Bundle:
    return mini_bundle().replace([BundleFile(path, content)])


# ---------------------------------------------------------------------------------------------------
# The shipped library is within the limits
# ---------------------------------------------------------------------------------------------------
def test_every_shipped_and_test_process_is_well_within_the_limits():
    total = BundleCount()
    # tests/data/foreign holds other tools' files, broken on purpose (the deploy check's corpus): not ours.
    ours = [p for p in ROOT.glob("tests/data/**/*.bpmn") if "foreign" not in p.relative_to(ROOT / "tests/data").parts]
    for path in sorted([*ROOT.glob("processes/*.bpmn"), *ROOT.glob("processes/*.dmn"), *ours]):
        root = etree.fromstring(path.read_bytes())
        assert check_diagram(f"processes/{path.name}", root, total) == [], path
        for process in root.iter(f"{{{BPMN_NS}}}process"):
            nodes = sum(1 for e in process.iter() if isinstance(e.tag, str) and e.tag.endswith(("Task", "task", "Event", "Gateway",
                                                                                                   "Activity", "subProcess")))
            assert nodes <= MAX_FLOW_NODES // 5, f"{path.name}: {nodes} flow nodes leaves too little headroom"
    assert total.flow_nodes <= MAX_BUNDLE_FLOW_NODES // 10


def test_the_shipped_library_still_deploys(ctx):
    from tests.conftest import deploy_dir

    assert deploy_dir(ROOT) > 0


# ---------------------------------------------------------------------------------------------------
# Too large: refused at deploy, file, process and limit named, quickly
# ---------------------------------------------------------------------------------------------------
def test_ten_thousand_parallel_tasks_are_refused_in_under_two_seconds_naming_file_process_and_limit(ctx, mini):
    bundle = with_big(parallel_bpmn(10_000))
    started = time.process_time()
    details = rejected(bundle)
    elapsed = time.process_time() - started
    assert elapsed < 2, f"refusing the 10,000-task diagram took {elapsed:.2f} s of CPU"
    problem = problem_at(details, BIG, element="big", kind="limit")
    assert "big" in problem["message"] and str(MAX_FLOW_NODES) in problem["message"] and "上限" in problem["message"]
    assert problem["line"] == 3  # <bpmn:process> is on the third line
    fan_out = problem_at(details, BIG, element="split", kind="limit")
    assert str(MAX_FAN_OUT) in fan_out["message"] and "'big'" in fan_out["message"]


def test_a_refused_diagram_is_not_parsed_further_so_its_callers_get_no_misleading_problems(ctx, mini):
    caller = (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="{BPMN_NS}" id="caller_defs" '
              'targetNamespace="http://zhifa.test/big">\n<bpmn:process id="caller" isExecutable="true">'
              '<bpmn:startEvent id="c_start"/><bpmn:sequenceFlow id="c1" sourceRef="c_start" targetRef="call_big"/>'
              '<bpmn:callActivity id="call_big" calledElement="big"/><bpmn:sequenceFlow id="c2" sourceRef="call_big" targetRef="c_end"/>'
              '<bpmn:endEvent id="c_end"/></bpmn:process>\n</bpmn:definitions>').encode()
    details = rejected(mini_bundle().replace([BundleFile(BIG, parallel_bpmn(10_000)), BundleFile("processes/caller.bpmn", caller)]))
    assert {d["kind"] for d in details} == {"limit"}, [d["message"] for d in details if d["kind"] != "limit"]


def test_a_process_just_over_the_node_limit_is_refused_and_one_at_the_limit_is_not(ctx, mini):
    # start + split + join + end = 4 nodes around the tasks; fan-out stays within its own limit by chaining.
    def chain(tasks: int) -> bytes:
        body = "".join(f'<bpmn:task id="t{i}"/><bpmn:sequenceFlow id="f{i}" sourceRef="{"start" if i == 0 else f"t{i - 1}"}" '
                       f'targetRef="t{i}"/>' for i in range(tasks))
        return (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="{BPMN_NS}" id="d" targetNamespace="http://x">\n'
                f'<bpmn:process id="chain" isExecutable="true"><bpmn:startEvent id="start"/>{body}'
                f'<bpmn:endEvent id="end"/><bpmn:sequenceFlow id="fe" sourceRef="t{tasks - 1}" targetRef="end"/>'
                "</bpmn:process>\n</bpmn:definitions>").encode()

    at_limit = parse_bundle(with_big(chain(MAX_FLOW_NODES - 2)))
    assert [p for p in at_limit.problems if p.kind == "limit"] == []
    details = rejected(with_big(chain(MAX_FLOW_NODES - 1)))
    assert f"{MAX_FLOW_NODES + 1} 个流程节点" in problem_at(details, BIG, element="chain", kind="limit")["message"]


def test_a_wide_parallel_split_is_refused_naming_the_gateway_and_process(ctx, mini):
    details = rejected(with_big(parallel_bpmn(MAX_FAN_OUT + 1)))
    problem = problem_at(details, BIG, element="split", kind="limit")
    assert f"{MAX_FAN_OUT + 1} 条出口顺序流" in problem["message"] and f"上限 {MAX_FAN_OUT}" in problem["message"]
    assert [d for d in details if d["element"] == "big"] == [], "the process itself is small enough"


def test_a_multi_instance_cardinality_literal_above_the_limit_is_refused(ctx, mini):
    details = rejected(with_big(parallel_bpmn(2, cardinality=str(MAX_CARDINALITY + 1))))
    problem = problem_at(details, BIG, element="many", kind="limit")
    assert f"上限 {MAX_CARDINALITY}" in problem["message"] and "'big'" in problem["message"]
    fine = parse_bundle(with_big(parallel_bpmn(2, cardinality=str(MAX_CARDINALITY))))
    assert [p for p in fine.problems if p.kind == "limit"] == []


def test_many_files_that_are_each_small_enough_are_refused_together(ctx, mini):
    per_file = MAX_FAN_OUT - 1  # 49 tasks + 4 nodes each
    files = [BundleFile(f"processes/big_{i:03d}.bpmn", parallel_bpmn(per_file, f"big_{i:03d}"))
             for i in range(MAX_BUNDLE_FLOW_NODES // (per_file + 4) + 1)]
    started = time.process_time()
    details = rejected(mini_bundle().replace(files))
    assert time.process_time() - started < 2
    [problem] = [d for d in details if d["kind"] == "limit"]
    assert str(MAX_BUNDLE_FLOW_NODES) in problem["message"] and problem["file"].startswith("processes/big_")


def test_a_file_with_too_many_xml_elements_is_refused_even_with_few_flow_nodes(ctx, mini):
    from engine.definitions.bounds import MAX_FILE_ELEMENTS

    padding = "<bpmn:documentation>x</bpmn:documentation>" * MAX_FILE_ELEMENTS
    start = f'<bpmn:startEvent id="start">{padding}</bpmn:startEvent>'.encode()
    content = parallel_bpmn(2).replace(b'<bpmn:startEvent id="start"/>', start)
    details = rejected(with_big(content))
    [problem] = [d for d in details if d["kind"] == "limit"]
    assert problem["file"] == BIG and str(MAX_FILE_ELEMENTS) in problem["message"]


def test_a_huge_diagram_is_refused_through_the_upload_api_and_nothing_changes(api, mini):
    designer = api("designer")
    before = designer.get("/deployments")[1]
    started = time.monotonic()
    r = designer.client.post("/api/v1/deployments", headers=designer.headers, content_type="multipart/form-data",
                             data={"files": [(io.BytesIO(parallel_bpmn(10_000)), "big.bpmn")], "comment": "too big"})
    assert time.monotonic() - started < 5
    assert r.status_code == 422, r.get_data(as_text=True)[:300]
    body = r.get_json()
    assert body["error"] == "deployment_invalid"
    assert any(d["file"] == BIG and d["element"] == "big" and d["kind"] == "limit" for d in body["details"])
    assert designer.get("/deployments")[1] == before


# ---------------------------------------------------------------------------------------------------
# Problems are reported against the uploaded file
# ---------------------------------------------------------------------------------------------------
QUICK = "processes/mini_quick.bpmn"


def quick_with_task_named_decide() -> str:
    """mini_quick.bpmn with its user task renamed ``decide`` (an id mini.bpmn also has) and a form that does not exist."""
    text = original(QUICK).replace("after_wait", "decide")
    return text.replace('value="mini_decide"', 'value="no_such_form"')


def test_a_problem_on_an_id_shared_with_an_old_file_names_the_uploaded_file(ctx, mini):
    from engine.definitions.versions import upload_bundle

    bundle = upload_bundle([("mini_quick.bpmn", quick_with_task_named_decide().encode())])
    assert bundle.preferred == (QUICK,)
    details = rejected(bundle)
    problem = problem_at(details, QUICK, element="decide")
    assert "no_such_form" in problem["message"]
    assert problem["line"] == quick_with_task_named_decide()[: quick_with_task_named_decide().index('id="decide"')].count("\n") + 1
    assert not [d for d in details if d["file"] == MINI_BPMN], "the unchanged mini.bpmn was blamed"


def test_the_upload_api_names_the_uploaded_file_not_the_previously_deployed_one(api, mini):
    designer = api("designer")
    r = designer.client.post("/api/v1/deployments", headers=designer.headers, content_type="multipart/form-data",
                             data={"files": [(io.BytesIO(quick_with_task_named_decide().encode()), "mini_quick.bpmn")]})
    assert r.status_code == 422
    problems = r.get_json()["details"]
    assert [(d["file"], d["element"]) for d in problems if "no_such_form" in d["message"]] == [(QUICK, "decide")]


def test_an_error_in_the_old_file_is_still_reported_there(ctx, mini):
    # The preference only orders the search: an id that exists only in an old file is found there.
    bundle = mini_bundle().replace([BundleFile(MINI_BPMN, edited(MINI_BPMN, ('value="mini_decide"', 'value="gone"')).encode())])
    bundle = bundle.replace([BundleFile(QUICK, original(QUICK).encode())])  # re-uploaded unchanged
    assert bundle.preferred[0] == MINI_BPMN
    details = rejected(bundle)
    problem_at(details, MINI_BPMN, element="decide")


def test_drafts_prefer_the_edited_files_too(ctx, mini):
    base = mini_bundle()
    changed = base.replace([BundleFile(QUICK, quick_with_task_named_decide().encode())])
    _parsed, problems = validate_bundle(changed)
    assert [(p.file, p.element) for p in problems if "no_such_form" in p.message] == [(QUICK, "decide")]


@pytest.mark.parametrize("same", [True, False])
def test_the_bundle_hash_ignores_which_files_were_uploaded(same: bool, tmp_path: Path):
    base = mini_bundle()
    text = original(QUICK) if same else original(QUICK) + "\n"
    uploaded = base.replace([BundleFile(QUICK, text.encode())])
    assert (uploaded.hash == base.hash) is same
    assert uploaded.preferred == (QUICK,)
    assert uploaded == Bundle(uploaded.files)
