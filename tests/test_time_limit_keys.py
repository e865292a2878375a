"""New time limits without code (issue 18): keys shipped in engine/data reach an existing database on
upgrade and start; a designer or administrator creates a key in the page or the API, and a procedure
using it deploys and runs with that deadline at once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from engine import clock
from engine.admin.time_limit_keys import create_time_limit, delete_time_limit
from engine.deadlines.limits import Deadlines
from engine.deadlines.reference import current_revision, reference
from engine.definitions import deploy_bundle
from engine.definitions.drafts import save_draft
from engine.errors import Conflict, DeploymentInvalid, Forbidden, InvalidInput, InvalidState
from engine.models import AuditEvent, Task, TimeLimit, db
from engine.record import audit
from engine.runtime import start_case
from tests.conftest import DATA, user
from tests.support.bundles import MINI_BPMN, mutated
from tests.support.cli import invoke
from tests.support.web import client_csrf, logged_in, page_csrf

NEW = {"key": "rectification_review", "name": "整改复查", "legal_basis": "《市场监督管理行政处罚程序规定》第五十四条",
       "amount": 4, "unit": "working_days", "min": 2, "max": 10, "warn_before": 1, "reason": "新流程“整改复查”需要"}
REGISTER_LIMIT = ('<spiffworkflow:property name="form" value="mini_register"/>\n'
                  '          <spiffworkflow:property name="time_limit" value="internal_approval"/>')


def uses(key: str) -> str:
    return REGISTER_LIMIT.replace("internal_approval", key)


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def state() -> tuple[int, int, int]:
    """What a refusal must leave alone: registry rows, audit events, the reference-data revision."""
    return (db.session.scalar(select(func.count()).select_from(TimeLimit)),
            db.session.scalar(select(func.count()).select_from(AuditEvent)), current_revision())


# --- keys shipped with a release --------------------------------------------------------------------

def _older_database() -> None:
    """A database seeded before 催告/强制执行 shipped, whose administrator lengthened 调查."""
    db.session.execute(delete(TimeLimit).where(TimeLimit.key.in_(["enforcement_demand", "enforcement_application"])))
    investigation = db.session.get(TimeLimit, "investigation")
    investigation.amount, investigation.unit, investigation.updated_by = 45, "working_days", "admin"
    db.session.commit()


def _shipped_ok() -> None:
    limits = {t.key: t for t in db.session.scalars(select(TimeLimit).execution_options(populate_existing=True))}
    assert (limits["enforcement_demand"].amount, limits["enforcement_demand"].unit) == (10, "working_days")
    assert limits["enforcement_application"].legal_basis == "《行政强制法》第五十三条"
    assert (limits["investigation"].amount, limits["investigation"].unit, limits["investigation"].updated_by) == \
        (45, "working_days", "admin"), "an administrator's value is never overwritten"
    shipped = events("time_limit.shipped")[-1]  # the first one: this test database's own seeding
    assert shipped.actor == "system" and shipped.chain == "system"
    assert [a["key"] for a in shipped.data["added"]] == ["enforcement_demand", "enforcement_application"]
    assert Deadlines().limit("enforcement_demand").amount == 10, "the reference data sees the new keys"


def test_db_upgrade_brings_new_shipped_keys_to_an_older_database_and_keeps_edited_values(app, ctx):
    _older_database()
    reference()  # a warm cache must not hide the new keys
    db.session.commit()
    result = invoke(app, "db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "已载入新版本附带的参考数据" in result.output
    _shipped_ok()
    again = invoke(app, "db", "upgrade")
    assert again.exit_code == 0 and "已载入" not in again.output
    assert len(events("time_limit.shipped")) == 2, "a second upgrade adds and records nothing"


def test_start_brings_new_shipped_keys_too(app, ctx, monkeypatch):
    from webui.cli import prepare_database

    _older_database()
    monkeypatch.setitem(app.config, "ZHIFA_PROCESSES_DIR", str(DATA / "mini" / "processes"))
    monkeypatch.setitem(app.config, "ZHIFA_FORMS_DIR", str(DATA / "mini" / "forms"))
    prepare_database(app, with_demo=False)
    _shipped_ok()
    revision = current_revision()
    prepare_database(app, with_demo=False)
    assert len(events("time_limit.shipped")) == 2 and current_revision() == revision, "a restart changes nothing"


def test_a_key_created_by_a_designer_is_not_overwritten_when_a_release_ships_the_same_key(app, ctx, people):
    db.session.execute(delete(TimeLimit).where(TimeLimit.key == "enforcement_demand"))
    db.session.commit()
    create_time_limit(user("designer"), {**NEW, "key": "enforcement_demand", "amount": 3})
    result = invoke(app, "db", "upgrade")
    assert result.exit_code == 0, result.output
    limit = db.session.scalars(select(TimeLimit).where(TimeLimit.key == "enforcement_demand")
                               .execution_options(populate_existing=True)).one()
    assert (limit.name, limit.amount, limit.updated_by) == ("整改复查", 3, "designer")


# --- creating a key ---------------------------------------------------------------------------------

def test_designer_creates_a_key_and_a_procedure_using_it_deploys_and_runs_with_that_deadline(ctx, people, frozen, api):
    designer, handler = api("designer"), api("a_handler1")
    bundle = mutated(MINI_BPMN, (REGISTER_LIMIT, uses(NEW["key"])))
    with pytest.raises(DeploymentInvalid) as refused:
        deploy_bundle(bundle, "test")
    assert NEW["key"] in str(refused.value.details)
    db.session.rollback()

    status, body = designer.post("/time-limits", NEW)
    assert status == 201, body
    assert {k: body[k] for k in ("key", "name", "amount", "unit", "units", "min", "max", "bound_unit", "warn_before")} == {
        "key": "rectification_review", "name": "整改复查", "amount": 4, "unit": "working_days", "units": ["working_days"],
        "min": 2, "max": 10, "bound_unit": "working_days", "warn_before": 1}
    assert body["updated_by"] == "designer"
    assert handler.get("/time-limits/rectification_review")[1]["legal_basis"] == NEW["legal_basis"]

    deploy_bundle(bundle, "test")  # no code changed, no restart: the deploy check reads the registry
    case = start_case(user("a_handler1"), "mini", {"party_type": "citizen", "party_name": "张三"}, {"proposed_fine": 100})
    task = db.session.scalars(select(Task).where(Task.case_id == case.id, Task.status == "open")).one()
    assert task.time_limit == "rectification_review"
    assert task.due_at == dt.datetime(2026, 3, 7, tzinfo=clock.SHANGHAI)  # Mon 03-02 + 4 working days, ends 24:00 Fri


def test_creation_is_audited_and_the_reference_data_sees_the_key_at_once(ctx, people):
    reference()  # cached at the current revision
    db.session.commit()
    revision = current_revision()
    create_time_limit(user("admin"), {**NEW, "units": ["natural_days", "working_days"]})
    assert current_revision() == revision + 1
    assert Deadlines().limit("rectification_review") == (4, "working_days", 1)
    [event] = events("time_limit.created")
    assert event.actor == "admin" and event.chain == "system"
    assert event.data["key"] == "rectification_review" and event.data["reason"] == NEW["reason"]
    assert event.data["units"] == ["working_days", "natural_days"] and event.data["min_amount"] == 2


def test_creation_and_its_record_are_one_transaction(ctx, people, monkeypatch):
    def broken(*_args: Any, **_kwargs: Any) -> str:
        raise RuntimeError("audit store down")

    before = state()
    monkeypatch.setattr(audit, "record", broken)
    with pytest.raises(RuntimeError):
        create_time_limit(user("designer"), NEW)
    assert state() == before and db.session.get(TimeLimit, NEW["key"]) is None


@pytest.mark.parametrize("change, field, words", [
    ({"key": "整改复查"}, "key", "不是有效标识"),
    ({"key": "9days"}, "key", "不是有效标识"),
    ({"key": ""}, "key", "必填"),
    ({"name": "  "}, "name", "必填"),
    ({"legal_basis": ""}, "legal_basis", "本机关设定"),
    ({"unit": "weeks"}, "unit", "须为工作日"),
    ({"units": ["months"]}, "units", "未知的计算单位"),
    ({"bound_unit": "natural_days"}, "bound_unit", "默认期限的计算单位"),
    ({"amount": 0, "min": 0}, "amount", "须在 1–3660 之间"),
    ({"amount": -3}, "amount", "须在 1–3660 之间"),
    ({"amount": 4.5}, "amount", "须为整数"),
    ({"amount": True}, "amount", "须为整数"),
    ({"amount": 12}, "amount", "法定范围 2–10"),
    ({"min": 11}, "min", "大于最长期限"),
    ({"max": 4000}, "max", "须在 1–3660 之间"),
    ({"warn_before": 5}, "warn_before", "不能超过默认期限"),
    ({"warn_before": -1}, "warn_before", "须在 0–3660"),
])
def test_a_bad_definition_is_refused_by_field_in_both_languages_and_changes_nothing(ctx, people, change, field, words):
    before = state()
    with pytest.raises(InvalidInput) as refused:
        create_time_limit(user("designer"), {**NEW, **change})
    problem = next(p for p in refused.value.details if p["field"] == field)
    assert words in problem["message"] and problem["message_en"]
    assert "未作任何修改" in refused.value.message and "(invalid time-limit definition, nothing was changed: " in refused.value.message
    db.session.rollback()
    assert state() == before


def test_a_key_that_exists_is_refused_with_409_even_in_other_letter_case(ctx, people, api):
    designer = api("designer")  # issuing its token is recorded
    before = state()
    with pytest.raises(Conflict, match="已存在"):
        create_time_limit(user("admin"), {**NEW, "key": "Investigation"})
    db.session.rollback()
    status, body = designer.post("/time-limits", {**NEW, "key": "investigation"})
    assert status == 409 and body["details"][0]["field"] == "key"
    assert state() == before
    assert db.session.get(TimeLimit, "investigation").name != NEW["name"]


def test_only_designers_and_administrators_create_keys(ctx, people, api):
    handler, admin = api("a_handler1"), api("admin")  # the requests share this test's session: tokens first
    with pytest.raises(Forbidden) as refused:
        create_time_limit(user("a_head"), NEW)
    assert refused.value.details == {"rule": "time_limits.create"}
    db.session.rollback()
    assert handler.post("/time-limits", NEW)[0] == 403
    assert admin.post("/time-limits", NEW)[0] == 201


def test_api_refusal_names_the_fields(ctx, people, api):
    status, body = api("designer").post("/time-limits", {**NEW, "amount": "four", "unit": None})
    assert status == 422
    assert {p["field"] for p in body["details"]} == {"amount", "unit"}
    assert db.session.get(TimeLimit, NEW["key"]) is None


# --- deleting a created key -------------------------------------------------------------------------

def test_a_created_key_nothing_uses_can_be_deleted_a_used_or_shipped_one_cannot(ctx, people, frozen):
    designer = user("designer")
    with pytest.raises(InvalidState, match="随系统发布的时限") as refused:
        delete_time_limit(designer, "investigation")
    assert refused.value.details["rule"] == "shipped"
    db.session.rollback()
    create_time_limit(designer, NEW)
    create_time_limit(designer, {**NEW, "key": "rectification", "name": "整改"})  # a prefix of the used key
    deploy_bundle(mutated(MINI_BPMN, (REGISTER_LIMIT, uses(NEW["key"]))), "test")
    start_case(user("a_handler1"), "mini", {"party_type": "citizen", "party_name": "张三"}, {"proposed_fine": 100})
    before = state()
    with pytest.raises(InvalidState, match="仍被使用") as refused:
        delete_time_limit(designer, NEW["key"])
    assert refused.value.details["used_by"] == ["1 个任务", "已部署 processes/mini.bpmn"]
    db.session.rollback()
    assert state() == before

    delete_time_limit(designer, "rectification", "录错了")
    assert db.session.get(TimeLimit, "rectification") is None and current_revision() == before[2] + 1
    [event] = events("time_limit.deleted")
    assert (event.actor, event.data["key"], event.data["reason"]) == ("designer", "rectification", "录错了")
    with pytest.raises(InvalidInput, match="不存在"):
        Deadlines().limit("rectification")
    with pytest.raises(Forbidden):
        delete_time_limit(user("a_handler1"), NEW["key"])
    db.session.rollback()

    create_time_limit(designer, {**NEW, "key": "rectification_notice", "name": "告知期限"})
    save_draft(designer, "processes/new_procedure.bpmn", uses("rectification_notice"))  # a draft is enough
    with pytest.raises(InvalidState) as refused:
        delete_time_limit(designer, "rectification_notice")
    assert refused.value.details["used_by"] == ["草稿 processes/new_procedure.bpmn"]


def test_api_deletes_a_created_key_for_designers_only(ctx, people, api):
    designer, handler = api("designer"), api("a_handler1")
    create_time_limit(user("admin"), NEW)

    def delete_as(client: Any, key: str) -> tuple[int, Any]:
        r = client.client.delete(f"/api/v1/time-limits/{key}", headers=client.headers, json={"reason": "不再需要"})
        return r.status_code, r.get_json()

    assert delete_as(handler, NEW["key"])[0] == 403
    assert delete_as(designer, "investigation")[0] == 409
    assert delete_as(designer, "no_such_key")[0] == 404
    assert delete_as(designer, NEW["key"]) == (200, {"key": NEW["key"], "deleted": True})
    assert designer.get(f"/time-limits/{NEW['key']}")[0] == 404


# --- the page ---------------------------------------------------------------------------------------

def form(values: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v) for k, v in values.items()}


def test_designer_creates_a_key_on_the_page(app, people):
    client = logged_in(app, "designer")
    assert 'id="to-new-time-limit"' in client.get("/designer/").get_data(as_text=True)
    page = client.get("/time-limits/new").get_data(as_text=True)
    assert "新建时限" in page and 'data-key="investigation"' in page
    r = client.post("/time-limits/new", data={**form(NEW), "units": ["working_days", "natural_days"],
                                              "csrf_token": page_csrf(page)})
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "已新建时限“整改复查”（rectification_review）" in page and 'data-key="rectification_review"' in page
    with app.app_context():
        limit = db.session.get(TimeLimit, "rectification_review")
        assert (limit.amount, limit.units, limit.updated_by) == (4, "working_days,natural_days", "designer")


def test_the_page_shows_each_refusal_at_its_field_and_keeps_what_was_typed(app, people):
    client = logged_in(app, "admin")
    page = client.get("/time-limits/new").get_data(as_text=True)
    r = client.post("/time-limits/new", data={**form(NEW), "amount": "12", "csrf_token": page_csrf(page)})
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert 'data-field="amount">默认期限 12 须在法定范围 2–10 之内' in page
    assert 'value="整改复查"' in page and "(invalid" not in page, "the Chinese page shows no English"
    client.set_cookie("zhifa_lang", "en")
    page = client.post("/time-limits/new", data={**form(NEW), "amount": "12", "csrf_token": page_csrf(page)}).get_data(as_text=True)
    assert "New time limit" in page and 'data-field="amount">the default 12 must lie within 2–10' in page
    with app.app_context():
        assert db.session.get(TimeLimit, "rectification_review") is None


def test_a_created_key_is_deleted_from_the_page_and_a_shipped_one_has_no_button(app, people):
    with app.app_context():
        create_time_limit(user("designer"), NEW)
        db.session.remove()
    client = logged_in(app, "designer")
    page = client.get("/time-limits/new").get_data(as_text=True)
    assert 'action="/time-limits/rectification_review/delete"' in page and 'action="/time-limits/investigation/delete"' not in page
    r = client.post("/time-limits/investigation/delete", data={"csrf_token": page_csrf(page)})
    assert r.status_code == 302 and "随系统发布的时限" in client.get(r.headers["Location"]).get_data(as_text=True)
    r = client.post("/time-limits/rectification_review/delete", data={"csrf_token": page_csrf(page)})
    assert "已删除时限 rectification_review" in client.get(r.headers["Location"]).get_data(as_text=True)
    handler = logged_in(app, "a_handler1")
    assert handler.post("/time-limits/investigation/delete", data={"csrf_token": client_csrf(handler)}).status_code == 403
    with app.app_context():
        assert db.session.get(TimeLimit, "rectification_review") is None and db.session.get(TimeLimit, "investigation") is not None


def test_the_page_needs_the_csrf_token_and_the_role(app, people):
    client = logged_in(app, "designer")
    assert client.post("/time-limits/new", data=form(NEW)).status_code == 400
    assert logged_in(app, "a_handler1").get("/time-limits/new").status_code == 403
    admin = logged_in(app, "admin")
    assert 'id="new-time-limit"' in admin.get("/admin/time_limits/").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(TimeLimit, "rectification_review") is None
