"""Form schemas cannot freeze the server, fetch URLs or read files (engine/forms/schema.py, engine/definitions/formcheck.py).

- ReDoS: ``"pattern": "^(a+)+$"`` took 18 s on 28 characters while a task was completed, holding the
  case's write lock. Patterns now run with RE2 (linear time); patterns RE2 cannot run (backreferences,
  lookaround) are refused at deploy with file and JSON pointer.
- ``$ref``: a form's ``$ref`` to ``http://…`` or ``file:///…`` was fetched (jsonschema's deprecated
  remote resolution, no timeout); an unresolvable or looping ``$ref`` was a 500. Now nothing is ever
  fetched, every non-local, unresolvable or looping ``$ref`` is refused at deploy, and at run time
  (forms deployed before these checks) the same cases are a clear 422 with nothing changed.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from engine.definitions import BundleFile, deploy_bundle
from engine.errors import InvalidInput
from engine.forms.schema import MAX_VALIDATION_STEPS, validate_form_data
from engine.models import db
from tests.conftest import ROOT
from tests.support.bundles import mini_bundle, problem_at, rejected, with_file
from tests.support.open_task import Open

REGISTER = "forms/mini_register.json"
REDOS = "^(a+)+$"
EVIL = "a" * 28 + "!"  # ~18 s with Python's re; ~36 s per extra character


def register_form(**facts: Any) -> dict[str, Any]:
    """The mini 登记 form with ``facts`` keywords added to its ``facts`` field (extra top-level keys via ``_root``)."""
    form = json.loads((ROOT / "tests/data/mini" / REGISTER).read_text(encoding="utf-8"))
    root = facts.pop("_root", {})
    form["properties"]["facts"].update(facts)
    form.update(root)
    return form


def register_bundle(form: dict[str, Any]) -> Any:
    return with_file(REGISTER, json.dumps(form, ensure_ascii=False))


def form_problem(form: dict[str, Any], element: str) -> dict[str, Any]:
    return problem_at(rejected(register_bundle(form)), REGISTER, element=element, kind="form")


# ---------------------------------------------------------------------------------------------------
# Deploy: patterns RE2 cannot run are refused, with file and JSON pointer
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("pattern", [r"^(a)\1$", r"(?=a)a", r"(?!b)a", r"(?<=a)b", r"(?<!a)b", r"(?P<x>a)(?P=x)", r"\k<x>", "("])
def test_a_pattern_the_linear_engine_cannot_run_is_refused_naming_file_and_field(ctx, mini, pattern):
    problem = form_problem(register_form(pattern=pattern), "/properties/facts/pattern")
    assert "反向引用" in problem["message"] and "lookaround" in problem["message"]
    assert problem["message"].index("反向引用") < problem["message"].index("lookaround"), "Chinese first"


def test_a_pattern_properties_key_is_checked_too_with_its_pointer_escaped(ctx, mini):
    form = register_form(_root={"properties": {**register_form()["properties"],
                                               "extra": {"type": "object", "patternProperties": {"(?!x)a/b~": {"type": "string"}}}}})
    problem = form_problem(form, "/properties/extra/patternProperties/(?!x)a~1b~0")
    assert "(?!x)a/b~" in problem["message"]


def test_pattern_properties_with_unevaluated_properties_is_refused(ctx, mini):
    # jsonschema matches patternProperties with Python's backtracking re while computing unevaluatedProperties.
    form = register_form(_root={"properties": {**register_form()["properties"],
                                               "extra": {"type": "object", "patternProperties": {"^(a+)+$": True},
                                                         "unevaluatedProperties": False}}})
    problem = form_problem(form, "/properties/extra/unevaluatedProperties")
    assert "patternProperties" in problem["message"]


def test_nested_quantifiers_and_unicode_escapes_deploy_since_re2_runs_them_in_linear_time(ctx, mini):
    bundle = register_bundle(register_form(pattern=REDOS, _root={"x-note": "^[\\u4e00-\\u9fa5]+$"}))
    deploy_bundle(bundle, "test")
    assert validate_form_data({"type": "object", "properties": {"n": {"type": "string", "pattern": "^[\\u4e00-\\u9fa5]+$"}}},
                              {"n": "张三"}) == {"n": "张三"}


# ---------------------------------------------------------------------------------------------------
# Deploy: $refs stay inside the form, resolve, and do not loop
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ref", ["http://127.0.0.1:9/x.json", "https://example.invalid/s.json#/a", "file:///etc/passwd",
                                 "other.json#/$defs/a", "//evil.invalid/x", "urn:x:y", "https://json-schema.org/draft/2020-12/schema"])
def test_a_ref_outside_the_form_is_refused_naming_file_and_pointer(ctx, mini, ref):
    problem = form_problem(register_form(**{"$ref": ref}), "/properties/facts/$ref")
    assert "指向表单之外" in problem["message"] and ref in problem["message"]


@pytest.mark.parametrize("ref", ["#/$defs/nope", "#/$defs/a%2Fb", "#missing_anchor", "#/properties/facts/minLength/x"])
def test_a_local_ref_that_does_not_resolve_is_refused(ctx, mini, ref):
    form = register_form(**{"$ref": ref}, _root={"$defs": {"a/b": {"type": "string"}}})
    problem = form_problem(form, "/properties/facts/$ref")
    assert "无法解析" in problem["message"]


def test_a_ref_to_something_that_is_not_a_schema_is_refused(ctx, mini):
    form = register_form(**{"$ref": "#/required"})
    assert "不是模式" in form_problem(form, "/properties/facts/$ref")["message"]


def test_a_ref_cycle_that_consumes_no_input_is_refused_with_the_cycle_named(ctx, mini):
    form = register_form(**{"$ref": "#/$defs/a"}, _root={"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"allOf": [{"$ref": "#/$defs/a"}]}}})
    problem = form_problem(form, "/$defs/b/allOf/0/$ref")
    assert "循环" in problem["message"] and "/$defs/a → /$defs/b" in problem["message"]


def test_a_form_referring_to_itself_in_place_is_refused(ctx, mini):
    form = register_form(_root={"anyOf": [{"$ref": "#"}]})
    assert "循环" in form_problem(form, "/anyOf/0/$ref")["message"]


def test_references_that_fan_out_exponentially_are_refused(ctx, mini):
    defs: dict[str, Any] = {"l0": {"type": "string"}}
    for i in range(1, 25):
        defs[f"l{i}"] = {"allOf": [{"$ref": f"#/$defs/l{i - 1}"}, {"$ref": f"#/$defs/l{i - 1}"}]}
    details = rejected(register_bundle(register_form(**{"$ref": "#/$defs/l24"}, _root={"$defs": defs})))
    assert any(d["file"] == REGISTER and "展开" in d["message"] for d in details)


@pytest.mark.parametrize(("extra", "element"), [
    ({"$dynamicRef": "#meta"}, "/properties/facts/$dynamicRef"),
    ({"$id": "https://evil.invalid/form", "$ref": "other.json"}, "/properties/facts/$id"),
])
def test_dynamic_refs_and_ids_below_the_root_are_refused(ctx, mini, extra, element):
    assert form_problem(register_form(**extra), element)["message"]


def test_a_ref_target_outside_the_schema_keywords_is_checked_as_a_schema(ctx, mini):
    # The meta-schema check never looks inside "x-parts": the referenced schema is checked on its own.
    form = register_form(**{"$ref": "#/x-parts/text"}, _root={"x-parts": {"text": {"type": "strin"}}})
    assert "不是有效的 JSON Schema" in form_problem(form, "/x-parts/text/type")["message"]


def test_local_refs_with_escapes_anchors_and_recursion_through_properties_deploy(ctx, mini):
    form = register_form(**{"$ref": "#/$defs/text~1short~0"}, _root={
        "$defs": {"text/short~": {"type": "string", "$anchor": "short"},
                  "node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/node"}, "name": {"$ref": "#short"}}}},
    })
    form["properties"]["tree"] = {"$ref": "#/$defs/node"}
    deploy_bundle(register_bundle(form), "test")
    data = {"facts": "违法事实", "proposed_fine": 1, "tree": {"name": "a", "child": {"child": {"name": "b"}}}}
    assert validate_form_data(form, data) == data
    with pytest.raises(InvalidInput):
        validate_form_data(form, {**data, "tree": {"child": {"name": 1}}})


# ---------------------------------------------------------------------------------------------------
# Run time: linear matching, and forms deployed before the checks give a clear 422, nothing changed
# ---------------------------------------------------------------------------------------------------
@pytest.fixture
def deployed(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``deployed(form, checked=True)``: deploy the mini bundle with this 登记 form, as the first deployment.

    ``checked=False`` skips the new deploy-time form checks, as for a form deployed before them.
    """
    def deploy(form: dict[str, Any], checked: bool = True) -> None:
        if not checked:
            monkeypatch.setattr("engine.definitions.parse.check_form", lambda path, schema: [])
        with app.app_context():
            deploy_bundle(mini_bundle().replace([BundleFile(REGISTER, json.dumps(form).encode())]), "test")
            db.session.remove()
        monkeypatch.undo()

    yield deploy


def complete(handler: Any, task: Open, facts: Any) -> tuple[int, dict[str, Any], float]:
    started = time.monotonic()
    r = handler.client.post(f"/api/v1/tasks/{task.id}/complete", json={"data": {"facts": facts, "proposed_fine": 100}},
                            headers=handler.headers)
    return r.status_code, r.get_json(), time.monotonic() - started


def claimed_task(app: Flask, api: Any) -> tuple[Any, Open]:
    """The handler's client (one token: issuing one is an audited event) and a claimed, open 登记 task."""
    handler = api("a_handler1")
    return handler, Open(app, lambda task_id: handler.post(f"/tasks/{task_id}/claim")[0] == 200)


def test_a_nested_quantifier_pattern_answers_at_once_and_a_refusal_changes_nothing(app, api, deployed, frozen):
    deployed(register_form(pattern=REDOS))
    handler, task = claimed_task(app, api)
    before = task.snapshot()
    for facts in (EVIL, "a" * 499 + "!"):
        status, body, elapsed = complete(handler, task, facts)
        assert status == 422 and elapsed < 1, (status, elapsed)
        assert body["details"][0]["field"] == "facts" and "格式不符合要求" in body["message"]
        assert task.snapshot() == before
    status, _body, elapsed = complete(handler, task, "a" * 500)
    assert status == 200 and elapsed < 2


@pytest.mark.parametrize("pattern", [r"^(a)\1$", r"(?<=a)b"])
def test_an_old_form_with_a_pattern_re2_cannot_run_is_a_clear_422(app, api, deployed, frozen, pattern):
    deployed(register_form(pattern=pattern), checked=False)
    handler, task = claimed_task(app, api)
    before = task.snapshot()
    status, body, _elapsed = complete(handler, task, "aa")
    assert status == 422 and "正则表达式无法使用" in body["message"] and "反向引用" in body["message"]
    assert task.snapshot() == before


def test_an_old_form_with_an_http_ref_fetches_nothing_and_is_a_clear_422(app, api, deployed, frozen):
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    port = listener.getsockname()[1]
    try:
        deployed(register_form(**{"$ref": f"http://127.0.0.1:{port}/schema.json"}), checked=False)
        handler, task = claimed_task(app, api)
        before = task.snapshot()
        status, body, elapsed = complete(handler, task, "经营场所未公示")
        assert status == 422 and "$ref" in body["message"] and elapsed < 2
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody connected
        assert task.snapshot() == before
    finally:
        listener.close()


def test_an_old_form_with_a_file_ref_reads_nothing_and_is_a_clear_422(app, api, deployed, frozen, tmp_path):
    schema = tmp_path / "anything.json"
    schema.write_text('{"type": "string"}', encoding="utf-8")  # had it been read, the completion would succeed
    deployed(register_form(**{"$ref": schema.as_uri()}), checked=False)
    handler, task = claimed_task(app, api)
    before = task.snapshot()
    status, body, _elapsed = complete(handler, task, "经营场所未公示")
    assert status == 422 and "$ref" in body["message"]
    assert task.snapshot() == before


@pytest.mark.parametrize("extra", [
    {"$ref": "#/$defs/nope"},
    {"$ref": "#/$defs/a", "_root": {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}}},
])
def test_an_old_form_with_an_unresolvable_or_looping_ref_is_a_clear_422_not_a_500(app, api, deployed, frozen, extra):
    deployed(register_form(**dict(extra)), checked=False)
    handler, task = claimed_task(app, api)
    before = task.snapshot()
    status, body, _elapsed = complete(handler, task, "经营场所未公示")
    assert status == 422, body
    assert body["error"] == "invalid_input" and body["message"].startswith("表单")
    assert task.snapshot() == before


def test_data_nested_deeper_than_the_stack_is_a_422():
    schema = {"type": "object", "$defs": {"n": {"type": "object", "properties": {"c": {"$ref": "#/$defs/n"}}}},
              "properties": {"tree": {"$ref": "#/$defs/n"}}}
    data: dict[str, Any] = {}
    for _ in range(3000):
        data = {"c": data}
    with pytest.raises(InvalidInput) as err:
        validate_form_data(schema, {"tree": data})
    assert "嵌套过深" in err.value.message


def test_validation_that_fans_out_is_stopped_by_its_step_budget_in_bounded_time():
    defs: dict[str, Any] = {"l0": {"type": "string"}}
    for i in range(1, 40):
        defs[f"l{i}"] = {"allOf": [{"$ref": f"#/$defs/l{i - 1}"}, {"$ref": f"#/$defs/l{i - 1}"}]}
    schema = {"type": "object", "$defs": defs, "properties": {"x": {"$ref": "#/$defs/l39"}}}
    started = time.process_time()
    with pytest.raises(InvalidInput) as err:
        validate_form_data(schema, {"x": "a"})
    assert time.process_time() - started < 2
    assert str(MAX_VALIDATION_STEPS) in err.value.message


def test_an_old_form_with_an_unknown_type_behind_a_ref_is_a_422():
    schema = {"type": "object", "x-parts": {"text": {"type": "strin"}}, "properties": {"t": {"$ref": "#/x-parts/text"}}}
    with pytest.raises(InvalidInput) as err:
        validate_form_data(schema, {"t": "a"})
    assert "未知类型" in err.value.message


def test_pattern_properties_and_additional_properties_match_with_re2():
    schema = {"type": "object", "properties": {"m": {"type": "object", "patternProperties": {REDOS: {"type": "integer"}},
                                                     "additionalProperties": False}}}
    started = time.process_time()
    with pytest.raises(InvalidInput) as err:
        validate_form_data(schema, {"m": {"a" * 40 + "!": 1, "aaaa": "x"}})
    assert time.process_time() - started < 1
    assert {d["field"] for d in err.value.details} == {"m", "m.aaaa"}
    assert validate_form_data(schema, {"m": {"aaaa": 1}}) == {"m": {"aaaa": 1}}


def test_the_regex_format_is_checked_with_re2_and_odd_text_is_refused_not_crashing():
    schema = {"type": "object", "properties": {"p": {"type": "string", "format": "regex"}, "s": {"type": "string", "pattern": "^a"}}}
    assert validate_form_data(schema, {"p": REDOS}) == {"p": REDOS}
    for data in ({"p": r"(a)\1"}, {"p": "(?=x)"}, {"s": "\ud800"}):
        with pytest.raises(InvalidInput):
            validate_form_data(schema, data)


def test_an_old_form_mixing_pattern_and_unevaluated_properties_is_a_clear_422():
    schema = {"type": "object", "properties": {"m": {"type": "object", "patternProperties": {REDOS: True},
                                                     "unevaluatedProperties": False}}}
    with pytest.raises(InvalidInput) as err:
        validate_form_data(schema, {"m": {"a" * 40 + "!": 1}})
    assert "unevaluatedProperties" in err.value.message


# ---------------------------------------------------------------------------------------------------
# Under a memory limit, in a child process: clean refusals within 2 s of CPU
# ---------------------------------------------------------------------------------------------------
CHILD = r"""
import json, os, resource, sys, time
sys.path.insert(0, sys.argv[1])
os.environ.setdefault("ZHIFA_PASSWORD_HASH_METHOD", "pbkdf2:sha256:1000")
from flask_migrate import upgrade
from engine.definitions import Bundle, BundleFile, deploy_bundle
from engine.errors import DeploymentInvalid, InvalidInput
from engine.forms.schema import validate_form_data
from engine.deadlines.limits import seed_reference_data
from engine.admin.users import ensure_roles
from engine.models import db
from webui import create_app
from tests.support.bundles import parallel_bpmn

app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite:///" + sys.argv[2], "SECRET_KEY": "x"})
ctx = app.app_context(); ctx.push()
upgrade(directory=app.extensions["migrate"].directory)
ensure_roles(); seed_reference_data(); db.session.commit()
mini = Bundle.from_directories(sys.argv[3] + "/processes", sys.argv[3] + "/forms")
huge = mini.replace([BundleFile("processes/big.bpmn", parallel_bpmn(10_000))])
schema = {"type": "object", "properties": {"x": {"type": "string", "pattern": "^(a+)+$"}}}
evil = "a" * 100_000 + "!"

def vm_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmSize:"):
            return int(line.split()[1])

baseline = vm_kb() * 1024
limit = baseline + 300 * 1024 * 1024
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

out = {"baseline_mb": baseline // 2**20}
t = cpu()
try:
    validate_form_data(schema, {"x": evil})
    out["redos"] = "accepted"
except InvalidInput as exc:
    out["redos"] = "refused: " + exc.message[:80]
out["redos_cpu"] = cpu() - t
t = cpu()
try:
    deploy_bundle(huge, "child")
    out["huge"] = "deployed"
except DeploymentInvalid as exc:
    out["huge"] = "refused"
    out["huge_details"] = [d for d in exc.details if d["kind"] == "limit"]
out["huge_cpu"] = cpu() - t
print(json.dumps(out, ensure_ascii=False))
"""


def test_redos_and_a_huge_diagram_are_refused_cleanly_under_a_memory_limit_within_two_seconds_of_cpu(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "ZHIFA_TEST_DATABASE_URL")}
    result = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), str(tmp_path / "child.db"), str(ROOT / "tests/data/mini")],
                            capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"child: baseline {out['baseline_mb']} MB, ReDoS {out['redos_cpu']:.3f} s, huge diagram {out['huge_cpu']:.3f} s CPU")
    assert out["redos"].startswith("refused: 表单填写有误"), out
    assert out["redos_cpu"] < 2
    assert out["huge"] == "refused"
    assert any(d["file"] == "processes/big.bpmn" and d["element"] == "big" for d in out["huge_details"]), out
    assert out["huge_cpu"] < 2

