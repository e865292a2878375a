"""The Chinese UI in the default locale (issue 17): Flask-Admin's own screens, engine messages without
their English half, machine actors and audit actions in words, lanes of the diagram named for people."""

from __future__ import annotations

import re

import pytest

from engine.admin.users import create_user
from engine.models import db
from engine.runtime import start_case
from engine.runtime.diagram import labelled_lanes
from tests.conftest import PASSWORD, ROOT, deploy_dir, user
from tests.support.web import login
from webui.audit_labels import action_label, chain_label
from webui.i18n import ROLES

pytestmark = pytest.mark.usefixtures("people")


@pytest.fixture
def admin(app, people):
    with app.app_context():
        create_user("root", "unit_a", ["administrator"], PASSWORD, display_name="root")
        db.session.commit()
        db.session.remove()
    client = app.test_client()
    login(client, "root")
    return client


def test_flask_admins_own_screens_are_chinese_by_default_and_english_on_request(admin):
    page = admin.get("/admin/audit_log/").get_data(as_text=True)
    assert "列表" in page and not re.search(r">\s*List\b", page), "Flask-Admin's zh_Hans_CN catalog is loaded"
    assert "展开或收起菜单" in page and "js/admin-i18n.js" in page, "the texts its templates hard-code are filled in"
    admin.set_cookie("zhifa_lang", "en")
    assert re.search(r">\s*List\b", admin.get("/admin/audit_log/").get_data(as_text=True))


def test_error_pages_show_the_chinese_half_of_engine_messages(app, people):
    client = app.test_client()
    login(client, "a_handler1")
    page = client.get("/cases/999999").get_data(as_text=True)
    message = re.search(r'<p class="mb-0">([^<]*)</p>', page).group(1)
    assert message == "案件不存在或无权查看", "the engine's NotFound, without its English half"
    client.set_cookie("zhifa_lang", "en")
    english = re.search(r'<p class="mb-0">([^<]*)</p>', client.get("/cases/999999").get_data(as_text=True)).group(1)
    assert english.startswith("案件不存在或无权查看 (") and re.search(r"[A-Za-z]{3,}", english), "the English UI keeps both"


def test_audit_actions_and_chains_are_named_in_words():
    assert action_label("user.created") == "创建用户" and action_label("task.claimed") == "认领任务"
    assert action_label("something.new") == "系统记录", "an unlabelled action never shows its code"
    assert chain_label("case:12") == "案件 12" and chain_label("system") == "系统记录链"


def test_diagram_lanes_are_named_for_people_not_role_codes(app, people, frozen):
    source = (ROOT / "processes" / "ordinary.bpmn").read_text(encoding="utf-8")
    labelled = labelled_lanes(source, {code: str(text) for code, text in ROLES.items()})
    lanes = re.findall(r'<bpmn:lane id="[^"]+" name="([^"]*)"', labelled)
    assert lanes and "承办人" in lanes and not any(re.search(r"[a-z]", name) for name in lanes), lanes
    assert labelled_lanes("<not xml", {"handler": "承办人"}) == "<not xml"

    with app.app_context():
        deploy_dir(ROOT)
        case_id = start_case(user("a_handler1"), "ordinary", {"party_type": "citizen", "party_name": "张三"},
                             {"violation": "未明码标价"}).id
        db.session.remove()
    client = app.test_client()
    login(client, "a_handler1")
    xml = client.get(f"/cases/{case_id}/diagram").get_json()["xml"]
    assert 'name="承办人"' in xml and 'name="handler"' not in xml
