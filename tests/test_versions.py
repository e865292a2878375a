"""Versions (engine/definitions/versions.py, /api/v1/deployments/...): diff, rollback, validation without deploying."""

from __future__ import annotations

import io
import json
from typing import Any

from sqlalchemy import func, select

from engine.definitions import BundleFile, deploy_bundle
from engine.definitions.versions import diff_deployments, validate_files
from engine.models import ActiveProcess, AuditEvent, Deployment, db
from tests.conftest import DATA
from tests.support.bundles import edited, mini_bundle, original

MINI_BPMN = "processes/mini.bpmn"
MINI_DMN = "processes/mini_review_required.dmn"
DECIDE_FORM = "forms/mini_decide.json"
PARTY = {"type": "organization", "name": "某某食品有限公司", "id_number": "91110000123456789X"}
DECIDE = """<bpmn:userTask id="decide" name="作出决定">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="form" value="mini_decide"/>
          <spiffworkflow:property name="time_limit" value="internal_approval"/>
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>f8</bpmn:incoming><bpmn:outgoing>f9</bpmn:outgoing>
    </bpmn:userTask>"""
APPROVE = """<bpmn:userTask id="approve" name="负责人审批">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="form" value="mini_decide"/>
          <spiffworkflow:property name="time_limit" value="case_decision"/>
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>f8</bpmn:incoming><bpmn:outgoing>f9</bpmn:outgoing>
    </bpmn:userTask>"""


def version_two_bpmn(time_limit: str = "case_decision") -> str:
    """mini.bpmn with ``serve`` renamed and ``decide`` replaced by a new task ``approve``."""
    return edited(
        MINI_BPMN,
        ('<bpmn:userTask id="serve" name="送达告知书">', '<bpmn:userTask id="serve" name="送达行政处罚告知书">'),
        (DECIDE, APPROVE.replace('value="case_decision"', f'value="{time_limit}"')),
        ("<bpmn:flowNodeRef>decide</bpmn:flowNodeRef>", "<bpmn:flowNodeRef>approve</bpmn:flowNodeRef>"),
        ('sourceRef="statement_period" targetRef="decide"', 'sourceRef="statement_period" targetRef="approve"'),
        ('sourceRef="decide" targetRef="end"', 'sourceRef="approve" targetRef="end"'),
    )


def deploy_version_two(*extra: BundleFile) -> int:
    bundle = mini_bundle().replace([BundleFile(MINI_BPMN, version_two_bpmn().encode("utf-8")), *extra])
    return deploy_bundle(bundle, "designer", "第二版").id


def by_path(diff: Any) -> dict[str, Any]:
    return {f.path: f for f in diff.files}


def ids(changes: list[Any]) -> set[str]:
    return {c.id for c in changes}


def upload(client: Any, path: str, files: list[tuple[str, bytes]], **form: str) -> tuple[int, Any]:
    r = client.client.post("/api/v1" + path, headers=client.headers, content_type="multipart/form-data",
                           data={"files": [(io.BytesIO(content), name) for name, content in files], **form})
    return r.status_code, r.get_json()


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


# ---------------------------------------------------------------------------------------------------
# Diff
# ---------------------------------------------------------------------------------------------------
def test_diff_reports_exactly_the_renamed_added_and_removed_tasks_and_what_they_touch(ctx, mini):
    second = deploy_version_two()
    diff = diff_deployments(mini, second)
    files = by_path(diff)
    assert {p for p, f in files.items() if f.status != "unchanged"} == {MINI_BPMN}
    bpmn = files[MINI_BPMN]
    assert bpmn.status == "changed" and bpmn.kind == "bpmn"
    assert [(c.id, c.tag, c.name) for c in bpmn.added] == [("approve", "bpmn:userTask", "负责人审批")]
    assert [(c.id, c.tag, c.name) for c in bpmn.removed] == [("decide", "bpmn:userTask", "作出决定")]
    # The renamed task, the lane listing the new task and the two flows re-pointed at it; nothing else.
    assert ids(bpmn.changed) == {"serve", "lane_head", "f8", "f9"}
    changed = {c.id: c.changes for c in bpmn.changed}
    assert changed["serve"] == {"attributes": {"name": {"from": "送达告知书", "to": "送达行政处罚告知书"}}}
    assert changed["f8"] == {"attributes": {"targetRef": {"from": "decide", "to": "approve"}}}
    assert changed["lane_head"] == {"children": {"bpmn:flowNodeRef": {"from": ["bpmn:flowNodeRef(decide)"],
                                                                       "to": ["bpmn:flowNodeRef(approve)"]}}}
    assert '-    <bpmn:userTask id="serve" name="送达告知书">' in bpmn.text_diff
    assert '+    <bpmn:userTask id="approve" name="负责人审批">' in bpmn.text_diff
    assert bpmn.text_diff.startswith(f"--- #{mini}/{MINI_BPMN}\n+++ #{second}/{MINI_BPMN}\n")
    assert files["forms/mini_register.json"].text_diff == "" and not files["forms/mini_register.json"].changed


def test_diff_names_changed_extension_properties_dmn_cells_and_form_fields(ctx, mini):
    bpmn = edited(MINI_BPMN, ('name="time_limit" value="service"', 'name="time_limit" value="service_by_publication"'))
    dmn = edited(MINI_DMN, ("<text>&gt;= 10000</text>", "<text>&gt;= 50000</text>"))
    form = json.loads(original(DECIDE_FORM))
    form["properties"]["decision"]["maxLength"] = 500
    form["properties"]["basis"] = {"title": "法律依据", "type": "string"}
    form["title"] = "作出处罚决定"
    bundle = mini_bundle().replace([BundleFile(MINI_BPMN, bpmn.encode()), BundleFile(MINI_DMN, dmn.encode()),
                                    BundleFile(DECIDE_FORM, json.dumps(form, ensure_ascii=False).encode())])
    second = deploy_bundle(bundle, "designer").id
    files = by_path(diff_deployments(mini, second))

    [serve] = files[MINI_BPMN].changed
    assert serve.id == "serve" and serve.changes == {"properties": {"time_limit": {"from": "service", "to": "service_by_publication"}}}
    [cell] = files[MINI_DMN].changed
    assert (cell.id, cell.tag) == ("rule_big_in", "dmn:inputEntry")
    assert cell.changes == {"children": {"dmn:text": {"from": ["dmn:text(>= 10000)"], "to": ["dmn:text(>= 50000)"]}}}
    decide = files[DECIDE_FORM]
    assert [(f.id, f.name) for f in decide.added] == [("basis", "法律依据")] and not decide.removed
    assert [(f.id, f.changes) for f in decide.changed] == [("decision", {"maxLength": {"from": 200, "to": 500}})]
    assert decide.form_changes == {"title": {"from": "决定", "to": "作出处罚决定"}}


def test_diff_of_a_deployment_with_itself_is_identical_and_files_added_or_removed_are_listed(ctx, mini):
    assert diff_deployments(mini, mini).identical
    extra = BundleFile("forms/mini_extra.json", b'{"type": "object", "properties": {"note": {"type": "string"}}}')
    second = deploy_bundle(mini_bundle().replace([extra]), "designer").id
    forward, backward = by_path(diff_deployments(mini, second)), by_path(diff_deployments(second, mini))
    assert forward["forms/mini_extra.json"].status == "added" and ids(forward["forms/mini_extra.json"].added) == {"note"}
    assert backward["forms/mini_extra.json"].status == "removed" and ids(backward["forms/mini_extra.json"].removed) == {"note"}


def test_diff_endpoint_and_deployment_reads_are_open_to_any_officer(app, api, mini):
    officer = api("a_handler1")
    with app.app_context():
        second = deploy_version_two()
    status, body = officer.get(f"/deployments/{mini}/diff/{second}")
    assert status == 200 and body["from"] == mini and body["to"] == second and not body["identical"]
    assert body["summary"] == {"added": 0, "removed": 0, "changed": 1, "unchanged": len(body["files"]) - 1}
    [bpmn] = [f for f in body["files"] if f["path"] == MINI_BPMN]
    assert [c["id"] for c in bpmn["added"]] == ["approve"] and [c["id"] for c in bpmn["removed"]] == ["decide"]

    status, read = officer.get(f"/deployments/{second}")
    assert status == 200 and read["comment"] == "第二版" and read["created_by"] == "designer"
    assert {"path": MINI_BPMN, "kind": "bpmn"}.items() <= next(f for f in read["files"] if f["path"] == MINI_BPMN).items()
    assert {p["process_id"]: p["active"] for p in read["processes"]}["mini"] is True
    assert officer.get("/deployments/9999")[0] == 404
    assert officer.get(f"/deployments/{mini}/diff/9999")[0] == 404


def test_files_of_a_deployment_download_with_their_mimetype(api, mini):
    officer = api("a_handler1")
    r = officer.client.get(f"/api/v1/deployments/{mini}/files/{MINI_BPMN}", headers=officer.headers)
    assert r.status_code == 200 and r.mimetype == "application/xml"
    assert r.get_data(as_text=True) == original(MINI_BPMN)
    assert "attachment" in r.headers["Content-Disposition"] and "mini.bpmn" in r.headers["Content-Disposition"]
    r = officer.client.get(f"/api/v1/deployments/{mini}/files/{DECIDE_FORM}", headers=officer.headers)
    assert r.status_code == 200 and r.mimetype == "application/json" and r.get_json()["title"] == "决定"
    r = officer.client.get(f"/api/v1/deployments/{mini}/files/processes/nothing.bpmn", headers=officer.headers)
    assert r.status_code == 404 and r.get_json()["error"] == "not_found"


# ---------------------------------------------------------------------------------------------------
# Rollback
# ---------------------------------------------------------------------------------------------------
def start(api: Any) -> dict[str, Any]:
    status, body = api("a_handler1").post("/cases", {"procedure": "mini", "party": PARTY,
                                                     "facts": {"violation": "标签不合格", "proposed_fine": 20000}})
    assert status == 201, body
    return body


def test_rollback_makes_new_cases_use_the_old_version_while_running_cases_keep_theirs(app, api, mini, frozen):
    designer = api("designer")
    with app.app_context():
        second = deploy_version_two()
    on_second = start(api)
    assert on_second["instances"][0]["deployment"] == second

    status, body = designer.post(f"/deployments/{mini}/rollback", {"comment": "第二版审批环节有误，恢复第一版"})
    assert status == 201, body
    third = body["id"]
    assert third not in (mini, second) and body["rolled_back_to"] == mini and body["active"]["mini"] == third
    assert "恢复第一版" in body["comment"]

    new_case = start(api)
    assert new_case["instances"][0]["deployment"] == third
    assert api("a_handler1").get(f"/cases/{on_second['id']}")[1]["instances"][0]["deployment"] == second
    diff = designer.get(f"/deployments/{mini}/diff/{third}")[1]
    assert diff["identical"]
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.chain == "system", AuditEvent.action.like("deployment.%"))
                                    .order_by(AuditEvent.seq)).all()
        rolled_back, created = events[-2:]
        assert rolled_back.action == "deployment.rolled_back" and rolled_back.actor == "designer"
        assert rolled_back.data["to_files_of"] == mini and rolled_back.data["replacing"] == second
        assert rolled_back.data["comment"] == "第二版审批环节有误，恢复第一版"
        assert created.action == "deployment.created" and created.data["deployment"] == third
        assert created.data["bundle_hash"] == rolled_back.data["bundle_hash"]


def test_rollback_needs_a_comment_and_a_different_version(app, api, mini):
    designer = api("designer")
    with app.app_context():
        before = count(Deployment), count(AuditEvent)
    status, body = designer.post(f"/deployments/{mini}/rollback", {"comment": "  "})
    assert status == 422 and body["details"][0]["field"] == "comment"
    status, body = designer.post(f"/deployments/{mini}/rollback", {"comment": "已是当前版本"})
    assert status == 409 and body["error"] == "invalid_state"
    assert designer.post("/deployments/9999/rollback", {"comment": "不存在"})[0] == 404
    with app.app_context():
        assert (count(Deployment), count(AuditEvent)) == before


def test_rollback_to_files_that_no_longer_validate_is_refused_and_changes_nothing(app, api, mini):
    """A time limit the old version names was removed since: the rollback is validated like any deployment."""
    from engine.models import TimeLimit

    designer = api("designer")
    with app.app_context():
        bundle = mini_bundle().replace([BundleFile(MINI_BPMN, version_two_bpmn("mini_only_limit").encode())])
        template = db.session.get(TimeLimit, "case_decision")
        db.session.add(TimeLimit(**{c.name: getattr(template, c.name) for c in TimeLimit.__table__.columns if c.name != "key"},
                                 key="mini_only_limit"))
        db.session.commit()
        odd = deploy_bundle(bundle, "designer").id
        deploy_bundle(mini_bundle(), "designer")
        db.session.delete(db.session.get(TimeLimit, "mini_only_limit"))
        db.session.commit()
        before = count(Deployment), count(AuditEvent), db.session.get(ActiveProcess, "mini").process_spec_id
    status, body = designer.post(f"/deployments/{odd}/rollback", {"comment": "恢复"})
    assert status == 422 and body["error"] == "deployment_invalid"
    assert any(p["element"] == "approve" and "mini_only_limit" in p["message"] for p in body["details"])
    with app.app_context():
        assert (count(Deployment), count(AuditEvent), db.session.get(ActiveProcess, "mini").process_spec_id) == before


# ---------------------------------------------------------------------------------------------------
# Validation without deploying
# ---------------------------------------------------------------------------------------------------
def test_validate_reports_the_problem_with_file_line_and_element_and_deploys_nothing(app, api, mini):
    designer = api("designer")
    broken = edited(MINI_BPMN, ("deadline('statement_period', served_on)", "open('/etc/passwd').read()"))
    with app.app_context():
        before = count(Deployment), count(AuditEvent), db.session.get(ActiveProcess, "mini").process_spec_id
    status, body = upload(designer, "/deployments/validate", [("mini.bpmn", broken.encode())])
    assert status == 200 and body["valid"] is False
    [problem] = body["problems"]
    assert problem["file"] == MINI_BPMN and problem["element"] == "statement_period"
    assert problem["line"] == broken[: broken.index('id="statement_period"')].count("\n") + 1
    assert "open" in problem["message"]
    with app.app_context():
        assert (count(Deployment), count(AuditEvent), db.session.get(ActiveProcess, "mini").process_spec_id) == before
    assert start(api)["instances"][0]["deployment"] == mini


def test_validate_merges_uploads_into_the_latest_deployment_like_a_deployment_does(app, api, mini):
    designer = api("designer")
    # A changed form alone is valid: the BPMN files referencing it come from the latest deployment.
    form = original(DECIDE_FORM).replace('"maxLength": 200', '"maxLength": 300')
    status, body = upload(designer, "/deployments/validate", [("mini_decide.json", form.encode())])
    assert status == 200 and body == {"valid": True, "problems": []}
    # The same file as the whole bundle (replace_all) leaves the mini forms without a process.
    status, body = upload(designer, "/deployments/validate", [("mini_decide.json", form.encode())], replace_all="1")
    assert status == 200 and body["valid"] is False
    with app.app_context():
        assert validate_files([("mini.bpmn", (DATA / "mini" / MINI_BPMN).read_bytes())]) == []
        assert count(Deployment) == 1


def test_officers_may_not_roll_back_or_validate(api, mini):
    officer = api("a_handler1")
    status, body = officer.post(f"/deployments/{mini}/rollback", {"comment": "试试"})
    assert status == 403 and body["error"] == "forbidden"
    status, body = upload(officer, "/deployments/validate", [("mini.bpmn", original(MINI_BPMN).encode())])
    assert status == 403 and body["error"] == "forbidden"


def test_openapi_lists_the_version_endpoints(app):
    paths = app.test_client().get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/deployments/{deployment_id}", "/deployments/{deployment_id}/files/{path}",
                 "/deployments/{from_id}/diff/{to_id}", "/deployments/{deployment_id}/rollback", "/deployments/validate"):
        assert path in paths, path
