"""The designer area through its pages and JSON endpoints: drafts, validation, deploy, versions."""

from __future__ import annotations

from sqlalchemy import select

from engine.models import ActiveProcess, Draft, db
from engine.runtime import start_case
from tests.conftest import DATA, deploy_dir, user
from tests.support.web import login
from tests.support.web import page_csrf as csrf

BROKEN_EXPRESSION = ("review_required == True", "__import__('os').system('id') == 0")


def designer_client(app, name: str = "designer"):
    client = app.test_client()
    login(client, name)
    token = csrf(client.get("/designer/").get_data(as_text=True)) if name == "designer" else None
    return client, token


def post_json(client, token, url, body):
    return client.post(url, json=body, headers={"X-CSRFToken": token, "Accept": "application/json"})


def mini_text() -> str:
    return (DATA / "mini" / "processes" / "mini.bpmn").read_text(encoding="utf-8")


def test_only_designers_enter_the_designer_area(app, people, mini):
    officer = app.test_client()
    login(officer, "a_handler1")
    assert officer.get("/designer/").status_code == 403
    assert officer.post("/designer/draft", json={}).status_code == 400  # no CSRF token: refused before anything else
    client, _ = designer_client(app)
    page = client.get("/designer/").get_data(as_text=True)
    assert 'data-path="processes/mini.bpmn"' in page and 'id="deploy-form"' in page


def test_a_draft_with_an_error_is_shown_at_its_element_and_never_deployed(app, people, mini):
    client, token = designer_client(app)
    broken = mini_text().replace(*BROKEN_EXPRESSION)
    r = post_json(client, token, "/designer/validate", {"path": "processes/mini.bpmn", "content": broken})
    problems = r.get_json()["problems"]
    assert r.status_code == 200 and not r.get_json()["valid"]
    assert any(p["file"] == "processes/mini.bpmn" and p["element"] for p in problems)
    assert post_json(client, token, "/designer/draft", {"path": "processes/mini.bpmn", "content": broken}).status_code == 200
    r = client.post("/designer/deploy", data={"csrf_token": token, "comment": "坏的版本"}, follow_redirects=True)
    assert "部署未通过校验" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(ActiveProcess, "mini").spec.deployment_id == mini  # the active version stayed
        assert db.session.scalars(select(Draft.path)).all() == ["processes/mini.bpmn"]  # the work is kept


def test_deploying_a_draft_makes_new_cases_use_it_and_old_ones_keep_theirs(app, people, mini, frozen):
    with app.app_context():
        old_case = start_case(user("a_handler1"), "mini", {"party_type": "citizen", "party_name": "甲"}, {}).id
        db.session.remove()
    client, token = designer_client(app)
    renamed = mini_text().replace('<bpmn:userTask id="register" name="登记">', '<bpmn:userTask id="register" name="登记违法事实">')
    post_json(client, token, "/designer/draft", {"path": "processes/mini.bpmn", "content": renamed})
    assert post_json(client, token, "/designer/validate", {}).get_json() == {"valid": True, "problems": []}
    r = client.post("/designer/deploy", data={"csrf_token": token, "comment": "改名"})
    assert r.status_code == 302
    with app.app_context():
        new_case = start_case(user("a_handler1"), "mini", {"party_type": "citizen", "party_name": "乙"}, {}).id
        db.session.remove()
    officer = app.test_client()
    login(officer, "a_handler1")
    old_xml = officer.get(f"/cases/{old_case}/diagram").get_json()["xml"]
    new_xml = officer.get(f"/cases/{new_case}/diagram").get_json()["xml"]
    assert 'name="登记"' in old_xml and 'name="登记违法事实"' in new_xml
    with app.app_context():
        assert db.session.scalars(select(Draft)).all() == []
    page = client.get("/designer/versions").get_data(as_text=True)
    assert 'data-file="processes/mini.bpmn"' in page and 'data-element-id="register"' in page


def test_new_process_from_the_template_validates_and_deploys(app, people, mini, frozen):
    client, token = designer_client(app)
    r = client.post("/designer/new", data={"csrf_token": token, "process_id": "site_check", "name": "现场检查"})
    assert r.status_code == 302 and "processes/site_check.bpmn" in r.headers["Location"].replace("%2F", "/")
    page = client.get("/designer/edit?path=processes/site_check.bpmn").get_data(as_text=True)
    assert 'id="canvas"' in page and "现场检查" in page
    assert post_json(client, token, "/designer/validate", {}).get_json()["valid"]
    client.post("/designer/deploy", data={"csrf_token": token, "comment": "新建现场检查"})
    with app.app_context():
        case = start_case(user("a_handler1"), "site_check", {"party_type": "citizen", "party_name": "丙"}, {})
        assert case.procedure == "site_check"


def test_form_preview_renders_the_schema_as_officers_see_it(app, people, mini):
    client, token = designer_client(app)
    schema = '{"type": "object", "required": ["x"], "properties": {"x": {"title": "<b>罚款</b>", "type": "number", "x-widget": "money"}}}'
    html = post_json(client, token, "/designer/preview", {"content": schema}).get_data(as_text=True)
    assert 'name="x"' in html and "&lt;b&gt;罚款&lt;/b&gt;" in html and "元" in html
    assert 'id="preview-error"' in post_json(client, token, "/designer/preview", {"content": "{oops"}).get_data(as_text=True)


def test_rollback_from_the_versions_page(app, people, mini, frozen, tmp_path):
    import shutil

    v2 = tmp_path / "v2"
    shutil.copytree(DATA / "mini", v2)
    path = v2 / "processes" / "mini.bpmn"
    path.write_text(mini_text().replace('name="登记">', 'name="登记二">'), encoding="utf-8")
    with app.app_context():
        deploy_dir(v2)
        db.session.remove()
    client, token = designer_client(app)
    r = client.post("/designer/rollback", data={"csrf_token": token, "deployment": mini, "comment": "新版有误"},
                    follow_redirects=True)
    assert "已回滚" in r.get_data(as_text=True)
    with app.app_context():
        case = start_case(user("a_handler1"), "mini", {"party_type": "citizen", "party_name": "丁"}, {})
        from engine.models import Task

        assert db.session.scalars(select(Task.name).where(Task.case_id == case.id)).one() == "登记"


def test_migration_page_dry_runs_then_moves_the_safe_cases(app, people, mini, frozen, tmp_path):
    import shutil

    with app.app_context():
        case_id = start_case(user("a_handler1"), "mini", {"party_type": "citizen", "party_name": "戊"}, {}).id
        v2 = tmp_path / "v2"
        shutil.copytree(DATA / "mini", v2)
        (v2 / "processes" / "mini.bpmn").write_text(mini_text().replace('name="登记">', 'name="登记二">'), encoding="utf-8")
        new = deploy_dir(v2)
        db.session.remove()
    client, token = designer_client(app)
    page = client.post("/designer/migrate", data={"csrf_token": token, "process_id": "mini", "from_deployment": mini,
                                                  "action": "plan"}).get_data(as_text=True)
    assert f'data-case="{case_id}" data-safe="1"' in page and f"#{mini} → #{new}" in page
    page = client.post("/designer/migrate", data={"csrf_token": token, "case": case_id, "action": "apply"}).get_data(as_text=True)
    assert "已迁移" in page
    with app.app_context():
        from engine.models import ProcessInstance, ProcessSpec

        deployment = db.session.scalars(select(ProcessSpec.deployment_id).join(
            ProcessInstance, ProcessInstance.process_spec_id == ProcessSpec.id).where(ProcessInstance.case_id == case_id)).one()
        assert deployment == new
