"""Four-eyes deployment (engine/definitions/review.py): a designer submits, a legal reviewer or an
administrator approves, and only then is the version active; never one's own, never a stale one.
Also ``zhifa deploy DIR`` merging into the latest deployment, and the start-up deploy keeping approved changes."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import delete, func, select

from engine import clock
from engine.definitions import BundleFile, deploy_bundle
from engine.definitions.drafts import deploy_drafts, new_process, save_draft, source, submit_drafts
from engine.definitions.review import approve, reject, submission_diff, submit_bundle, withdraw
from engine.definitions.review_policy import review_required, set_review_required
from engine.definitions.versions import rollback
from engine.errors import Conflict, DeploymentInvalid, Forbidden, InvalidInput, InvalidState
from engine.models import (
    ActiveProcess,
    AuditEvent,
    Deployment,
    DeploymentFile,
    DeploymentSubmission,
    Draft,
    Notification,
    Task,
    TimeLimit,
    db,
)
from engine.policy.actor import SystemActor
from engine.runtime import start_case
from tests.conftest import make_user, user
from tests.support.bundles import MINI, MINI_BPMN, edited, mini_bundle
from tests.support.cli import invoke
from tests.support.web import login, page_csrf

OLD_NAME = '<bpmn:userTask id="serve" name="送达告知书">'
NEW_NAME = '<bpmn:userTask id="serve" name="送达行政处罚告知书">'


@pytest.fixture
def review_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZHIFA_DEPLOYMENT_REVIEW", "1")


def renamed() -> str:
    return edited(MINI_BPMN, (OLD_NAME, NEW_NAME))


def renamed_bundle():
    return mini_bundle().replace([BundleFile(MINI_BPMN, renamed().encode("utf-8"))])


def active_deployment(process_id: str = "mini") -> int:
    db.session.expire_all()
    return db.session.get(ActiveProcess, process_id).spec.deployment_id


def deployments() -> int:
    return db.session.scalar(select(func.count()).select_from(Deployment))


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.chain == "system").order_by(AuditEvent.id)))


# ---------------------------------------------------------------------------------------------------
# The engine's rules
# ---------------------------------------------------------------------------------------------------
def test_a_submission_activates_nothing_until_a_legal_reviewer_approves_it(ctx, people, mini, review_on):
    submission = submit_bundle(user("designer"), renamed_bundle(), "送达环节改名")
    assert submission.status == "pending" and submission.base_deployment_id == mini
    assert active_deployment() == mini and deployments() == 1  # nothing deployed, nothing active
    assert db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.kind == "deployment_review", Notification.user_id == people["a_reviewer"])) == 1

    deployment = approve(user("a_reviewer"), submission.id, "同意")
    db.session.expire_all()
    active = db.session.get(ActiveProcess, "mini")
    assert active.spec.deployment_id == deployment.id != mini  # switched at approval
    assert active.activated_by == "a_reviewer" and deployment.created_by == "designer" and deployment.comment == "送达环节改名"
    assert db.session.get(DeploymentSubmission, submission.id).status == "approved"
    assert db.session.get(DeploymentSubmission, submission.id).deployment_id == deployment.id
    assert actions()[-3:] == ["deployment.submitted", "deployment.created", "deployment.approved"]
    created = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "deployment.created").order_by(AuditEvent.id.desc())).first()
    assert created.actor == "a_reviewer" and created.data["submission"] == submission.id and created.data["submitted_by"] == "designer"


def test_the_submitter_never_approves_their_own_submission_even_holding_both_roles(ctx, people, mini, review_on):
    both = make_user("both", "unit_a", ["process_designer", "legal_reviewer"], ())
    submission = submit_bundle(both, renamed_bundle(), "我自己提交")
    with pytest.raises(Forbidden) as refused:
        approve(user("both"), submission.id)
    assert refused.value.details["rule"] == "procedure.four_eyes" and "本人" in refused.value.message
    admin_submission = submit_bundle(user("admin"), renamed_bundle(), "管理员提交")
    with pytest.raises(Forbidden):
        approve(user("admin"), admin_submission.id)  # administrators too
    assert active_deployment() == mini and deployments() == 1
    assert approve(user("a_reviewer"), submission.id).id == active_deployment()  # a second person may


def test_only_legal_reviewers_and_administrators_decide(ctx, people, mini, review_on):
    make_user("designer2", "unit_a", ["process_designer"], ())
    submission = submit_bundle(user("designer"), renamed_bundle(), "改名")
    for name in ("a_handler1", "a_chief", "designer2"):  # another designer is no reviewer either
        with pytest.raises(Forbidden) as refused:
            approve(user(name), submission.id)
        assert refused.value.details["rule"] == "procedure.review"
    with pytest.raises(Forbidden):
        approve(SystemActor("cli"), submission.id)  # the platform's operator does not review: it deploys directly
    assert approve(user("admin"), submission.id).id == active_deployment()


def test_a_stale_submission_is_refused_and_nothing_changes(ctx, people, mini, review_on):
    first = submit_bundle(user("designer"), renamed_bundle(), "改名")
    second = submit_bundle(user("designer"), mini_bundle().replace(
        [BundleFile("forms/extra.json", b'{"type": "object", "properties": {}}')]), "加一个表单")
    newer = approve(user("a_reviewer"), second.id)
    events, active = len(actions()), active_deployment()
    with pytest.raises(Conflict) as refused:
        approve(user("a_reviewer"), first.id)
    assert refused.value.details["rule"] == "procedure.stale_submission"
    assert f"基于版本 #{mini}" in refused.value.message and f"#{newer.id}" in refused.value.message
    db.session.rollback()
    assert active_deployment() == active and deployments() == 2 and len(actions()) == events
    assert db.session.get(DeploymentSubmission, first.id).status == "pending"  # still there, to be rejected
    assert reject(user("a_reviewer"), first.id, "已过时，请在新版本上重新提交").status == "rejected"


def test_approval_validates_again_and_refuses_what_no_longer_deploys(ctx, people, mini, review_on):
    uses_new_key = edited(MINI_BPMN, ('<spiffworkflow:property name="time_limit" value="service"/>',
                                      '<spiffworkflow:property name="time_limit" value="review_test_key"/>'))
    limit = db.session.get(TimeLimit, "service")
    db.session.add(TimeLimit(key="review_test_key", name="测试时限", amount=5, unit="working_days", units="working_days",
                             bound_unit="working_days", min_amount=1, max_amount=10, updated_at=limit.updated_at))
    db.session.commit()
    submission = submit_bundle(user("designer"), mini_bundle().replace([BundleFile(MINI_BPMN, uses_new_key.encode())]), "新时限")
    db.session.execute(delete(TimeLimit).where(TimeLimit.key == "review_test_key"))  # gone since the submission
    db.session.commit()
    with pytest.raises(DeploymentInvalid) as refused:
        approve(user("a_reviewer"), submission.id)
    assert "重新校验未通过" in refused.value.message and "review_test_key" in refused.value.message
    db.session.rollback()
    assert active_deployment() == mini and deployments() == 1
    assert db.session.get(DeploymentSubmission, submission.id).status == "pending"


def test_a_designer_cannot_deploy_directly_while_the_operator_can(ctx, people, mini, review_on):
    with pytest.raises(Forbidden) as refused:
        deploy_bundle(renamed_bundle(), user("designer"), "直接部署")
    assert refused.value.details["rule"] == "procedure.four_eyes" and "提交审核" in refused.value.message
    save_draft(user("designer"), MINI_BPMN, renamed())
    with pytest.raises(Forbidden):
        deploy_drafts(user("designer"), "直接部署草稿")
    assert active_deployment() == mini
    assert deploy_bundle(renamed_bundle(), "cli", "运维部署").id == active_deployment() != mini


def test_submitting_drafts_keeps_them_until_approval_and_a_rejection_needs_a_reason(ctx, people, mini, review_on):
    save_draft(user("designer"), MINI_BPMN, renamed())
    with pytest.raises(InvalidInput):
        submit_drafts(user("designer"), "  ")  # a comment saying what changed
    submission = submit_drafts(user("designer"), "送达环节改名")
    with pytest.raises(InvalidInput) as refused:
        reject(user("a_reviewer"), submission.id, " ")
    assert refused.value.details[0]["field"] == "reason"
    reject(user("a_reviewer"), submission.id, "名称应与文书一致")
    assert db.session.scalars(select(Draft.path)).all() == [MINI_BPMN]  # the work is there to fix
    with pytest.raises(InvalidState):
        approve(user("admin"), submission.id)  # decided once
    again = submit_drafts(user("designer"), "送达环节改名（第二次）")
    approve(user("admin"), again.id)
    assert db.session.scalars(select(Draft.path)).all() == []  # deployed drafts cleared at approval
    assert db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == people["designer"], Notification.message.contains("驳回"))) == 1


def test_only_the_submitter_withdraws(ctx, people, mini, review_on):
    submission = submit_bundle(user("designer"), renamed_bundle(), "改名")
    with pytest.raises(Forbidden):
        withdraw(user("admin"), submission.id)
    assert withdraw(user("designer"), submission.id).status == "withdrawn"


def test_the_diff_shows_each_file_against_the_current_library(ctx, people, mini, review_on):
    bundle = renamed_bundle().replace([BundleFile("forms/extra.json", '{"title": "补充材料", "type": "object"}'.encode())])
    diff = submission_diff(submit_bundle(user("designer"), bundle, "改名并加表单"))
    files = {f["path"]: f for f in diff["files"]}
    assert diff["from"] == mini and diff["summary"] == {"added": 1, "changed": 1, "removed": 0, "unchanged": 9}
    assert f"-    {OLD_NAME}" in files[MINI_BPMN]["text_diff"] and f"+    {NEW_NAME}" in files[MINI_BPMN]["text_diff"]
    assert [e["id"] for e in files[MINI_BPMN]["changed"]] == ["serve"]
    assert '+{"title": "补充材料", "type": "object"}' in files["forms/extra.json"]["text_diff"]  # a new file is shown whole


def test_rollback_stays_immediate_audited_and_makes_pending_submissions_stale(ctx, people, mini, review_on):
    v2 = deploy_bundle(renamed_bundle(), "cli", "第二版").id
    pending = submit_bundle(user("designer"), mini_bundle().replace(
        [BundleFile("forms/extra.json", b'{"type": "object"}')]), "加表单")
    back = rollback(user("designer"), mini, "第二版有误")
    assert active_deployment() == back.id != v2
    assert "deployment.rolled_back" in actions()
    with pytest.raises(Conflict):
        approve(user("a_reviewer"), pending.id)


def test_whether_review_is_required_is_the_administrators_setting_else_the_installations(ctx, people, monkeypatch):
    monkeypatch.delenv("ZHIFA_DEPLOYMENT_REVIEW", raising=False)
    monkeypatch.delenv("ZHIFA_ENV", raising=False)
    assert review_required() == (db.session.connection().dialect.name == "postgresql")  # embedded SQLite demo: off
    monkeypatch.setenv("ZHIFA_ENV", "production")
    assert review_required() is True
    with pytest.raises(Forbidden):
        set_review_required(user("designer"), False)
    assert set_review_required(user("admin"), False)["required"] is False
    assert review_required() is False  # the stored setting wins over the environment
    set_review_required(user("admin"), None)
    assert review_required() is True
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "deployment_review.configured")).all()
    assert [(e.actor, e.data["required"]) for e in events] == [("admin", False), ("admin", None)]


def test_the_review_tables_match_their_migration(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with app.app_context(), db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    ours = [d for d in diff if any(t in repr(d) for t in ("deployment_submission", "review_settings"))]
    assert ours == []


# ---------------------------------------------------------------------------------------------------
# Pages (with CSRF) and the API
# ---------------------------------------------------------------------------------------------------
def test_pages_designer_submits_reviewer_sees_the_diff_and_approves(app, people, mini, review_on):
    designer = app.test_client()
    login(designer, "designer")
    page = designer.get("/designer/").get_data(as_text=True)
    assert 'data-review="1"' in page and "提交审核" in page
    token = page_csrf(page)
    assert designer.post("/designer/draft", json={"path": MINI_BPMN, "content": renamed()},
                         headers={"X-CSRFToken": token}).status_code == 200
    assert designer.post("/designer/deploy", data={"comment": "改名"}).status_code == 400  # no CSRF token
    r = designer.post("/designer/deploy", data={"csrf_token": token, "comment": "送达环节改名"}, follow_redirects=True)
    text = r.get_data(as_text=True)
    assert "已提交审核" in text and 'id="own-note"' in text and 'id="approve"' not in text
    with app.app_context():
        submission_id = db.session.scalars(select(DeploymentSubmission.id)).one()
        assert active_deployment() == mini
    r = designer.post(f"/designer/reviews/{submission_id}/approve", data={"csrf_token": token}, follow_redirects=True)
    assert "只有法制审核人员或系统管理员可以批准" in r.get_data(as_text=True)  # a designer is no reviewer

    officer = app.test_client()
    login(officer, "a_handler1")
    assert officer.get("/designer/reviews/").status_code == 403

    reviewer = app.test_client()
    login(reviewer, "a_reviewer")
    listing = reviewer.get("/designer/reviews/").get_data(as_text=True)
    assert f'data-submission="{submission_id}"' in listing and 'id="nav-reviews"' in listing
    detail = reviewer.get(f"/designer/reviews/{submission_id}").get_data(as_text=True)
    assert 'data-file="processes/mini.bpmn" data-status="changed"' in detail
    assert "送达行政处罚告知书" in detail and 'class="zf-add"' in detail and 'id="approve"' in detail
    rtoken = page_csrf(detail)
    r = reviewer.post(f"/designer/reviews/{submission_id}/approve", data={"csrf_token": rtoken, "comment": "同意"},
                      follow_redirects=True)
    assert "已批准" in r.get_data(as_text=True)
    with app.app_context():
        assert active_deployment() != mini
        assert db.session.get(DeploymentSubmission, submission_id).decided_by == "a_reviewer"


def test_pages_self_approval_is_refused_with_the_rule(app, people, mini, review_on):
    with app.app_context():
        submission_id = submit_bundle(user("admin"), renamed_bundle(), "管理员改名").id
        db.session.remove()
    admin = app.test_client()
    login(admin, "admin")
    page = admin.get(f"/designer/reviews/{submission_id}").get_data(as_text=True)
    assert 'id="approve"' not in page and 'id="own-note"' in page
    r = admin.post(f"/designer/reviews/{submission_id}/approve", data={"csrf_token": page_csrf(page)}, follow_redirects=True)
    assert "不能批准本人提交的部署" in r.get_data(as_text=True)
    with app.app_context():
        assert active_deployment() == mini


def test_api_post_deployments_answers_202_with_the_submission_then_a_reviewer_approves(app, api, mini, review_on):
    designer = api("designer")
    r = designer.client.post("/api/v1/deployments", headers=designer.headers, content_type="multipart/form-data",
                             data={"files": (io.BytesIO(renamed().encode()), "mini.bpmn"), "comment": "接口提交"})
    body = r.get_json()
    assert r.status_code == 202 and body["status"] == "pending" and body["review_required"] is True
    submission_id = body["id"]
    assert body["location"] == f"/api/v1/deployments/submissions/{submission_id}"
    status, listing = designer.get("/deployments")
    assert listing["active"]["mini"] == mini and listing["review_required"] is True
    status, detail = api("a_reviewer").get(f"/deployments/submissions/{submission_id}")
    assert status == 200 and [f["path"] for f in detail["diff"]["files"] if f["status"] != "unchanged"] == [MINI_BPMN]
    assert len(detail["files"]) == 10  # merged into the latest deployment, as without review

    assert api("a_handler1").post(f"/deployments/submissions/{submission_id}/approve")[0] == 403
    status, refused = designer.post(f"/deployments/submissions/{submission_id}/approve")
    assert status == 403
    status, refused = api("a_reviewer").post(f"/deployments/submissions/{submission_id}/reject", {"reason": ""})
    assert status == 422 and refused["details"][0]["field"] == "reason"
    status, approved = api("a_reviewer").post(f"/deployments/submissions/{submission_id}/approve", {"comment": "同意"})
    assert status == 201 and approved["active"]["mini"] == approved["id"] != mini
    status, again = api("admin").post(f"/deployments/submissions/{submission_id}/approve")
    assert status == 409


def test_api_review_setting_is_for_administrators(app, api, review_on):
    assert api("designer").get("/deployments/review")[1]["required"] is True
    assert api("designer").put("/deployments/review", {"required": False})[0] == 403
    assert api("admin").put("/deployments/review", {"required": "no"})[0] == 422
    status, body = api("admin").put("/deployments/review", {"required": False})
    assert status == 200 and body["required"] is False and body["source"] == "setting"


def test_api_without_review_still_deploys_at_once(app, api, mini):
    designer = api("designer")
    r = designer.client.post("/api/v1/deployments", headers=designer.headers, content_type="multipart/form-data",
                             data={"files": (io.BytesIO(renamed().encode()), "mini.bpmn")})
    assert r.status_code == 201 and r.get_json()["active"]["mini"] == r.get_json()["id"]


# ---------------------------------------------------------------------------------------------------
# zhifa deploy DIR, and the shipped library at start-up
# ---------------------------------------------------------------------------------------------------
def test_cli_deploy_merges_into_the_latest_deployment_unless_replace_all(app, people, mini, tmp_path, review_on):
    folder = tmp_path / "one"
    (folder / "processes").mkdir(parents=True)
    (folder / "processes" / "mini.bpmn").write_text(renamed(), encoding="utf-8")
    result = invoke(app, "deploy", str(folder), "--comment", "只改一个文件")
    assert result.exit_code == 0, result.output
    assert f"已并入版本 #{mini}" in result.output and "未经部署审核" in result.output  # the operator, said so
    with app.app_context():
        latest = db.session.scalars(select(Deployment).order_by(Deployment.id.desc())).first()
        paths = set(db.session.scalars(select(DeploymentFile.path).where(DeploymentFile.deployment_id == latest.id)))
        assert len(paths) == 10 and "forms/mini_decide.json" in paths  # the rest of the library stays
        assert active_deployment() == latest.id
    assert "--replace-all" in invoke(app, "deploy", "--help").output
    whole = tmp_path / "whole"
    (whole / "processes").mkdir(parents=True)
    (whole / "forms").mkdir()
    for name in ("mini_quick.bpmn",):
        (whole / "processes" / name).write_bytes((MINI / "processes" / name).read_bytes())
    for form in (MINI / "forms").iterdir():
        (whole / "forms" / form.name).write_bytes(form.read_bytes())
    result = invoke(app, "deploy", str(whole), "--replace-all")
    assert result.exit_code == 0, result.output
    with app.app_context():
        latest = db.session.scalars(select(Deployment).order_by(Deployment.id.desc())).first()
        paths = set(db.session.scalars(select(DeploymentFile.path).where(DeploymentFile.deployment_id == latest.id)))
        assert "processes/mini.bpmn" not in paths and "processes/mini_quick.bpmn" in paths


def test_start_up_deploys_only_what_the_shipped_library_changed(ctx, people, tmp_path):
    from webui.cli import deploy_shipped_library

    shipped = tmp_path / "shipped"
    (shipped / "processes").mkdir(parents=True)
    (shipped / "forms").mkdir()
    for sub in ("processes", "forms"):
        for f in (MINI / sub).iterdir():
            (shipped / sub / f.name).write_bytes(f.read_bytes())
    first = deploy_shipped_library(shipped / "processes", shipped / "forms")
    approved = deploy_bundle(renamed_bundle(), "cli", "设计人员的改动（已批准）").id
    assert deploy_shipped_library(shipped / "processes", shipped / "forms") is None  # a restart keeps it
    assert active_deployment() == approved != first
    quick = shipped / "processes" / "mini_quick.bpmn"
    quick.write_text(quick.read_text(encoding="utf-8").replace('name="', 'name="新', 1), encoding="utf-8")
    upgraded = deploy_shipped_library(shipped / "processes", shipped / "forms")  # an upgrade ships a new file
    content = db.session.scalars(select(DeploymentFile.content).where(
        DeploymentFile.deployment_id == upgraded, DeploymentFile.path == MINI_BPMN)).one()
    assert NEW_NAME in content  # the approved change stays


def test_a_new_time_limit_and_procedure_run_after_an_administrator_approves_them(app, api, mini, frozen, review_on):
    """Issue 18's "done when": a designer creates a key, uses it in a new procedure, submits; an
    administrator approves; a case runs with that deadline. Nothing changed in code."""
    status, limit = api("designer").post("/time-limits", {
        "key": "rectification_review", "name": "整改复查", "legal_basis": "本机关设定", "amount": 7, "unit": "working_days",
        "min": 1, "max": 30})
    assert status == 201, limit
    path = "processes/rectify_check.bpmn"
    with app.app_context():
        new_process(user("designer"), "rectify_check", "整改复查")
        text, _origin = source(path)
        save_draft(user("designer"), path, text.replace('value="internal_approval"', 'value="rectification_review"'))
        submission_id = submit_drafts(user("designer"), "新增整改复查程序").id
        assert db.session.get(ActiveProcess, "rectify_check") is None  # not startable before approval
        db.session.remove()
    status, approved = api("admin").post(f"/deployments/submissions/{submission_id}/approve", {"comment": "同意"})
    assert status == 201 and approved["active"]["rectify_check"] == approved["id"]
    with app.app_context():
        case = start_case(user("a_handler1"), "rectify_check", {"party_type": "citizen", "party_name": "丁"}, {})
        task = db.session.scalars(select(Task).where(Task.case_id == case.id, Task.status == "open")).one()
        assert task.time_limit == "rectification_review"
        due = task.due_at.astimezone(clock.SHANGHAI).date().isoformat()
        db.session.remove()
    status, expected = api("a_handler1").get("/calendar/deadline", start="2026-03-02", amount=7, unit="working_days")
    assert status == 200 and due == expected["deadline"][:10]
