"""回避 (法 Art. 43) through the HTTP API: requested by the party or declared by the officer, decided by
the agency head (for an agency head: collective discussion), recorded with its 回避决定书 and audited;
the case goes on meanwhile; a recused officer takes no part in any step and loses the tasks they hold."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.errors import Forbidden
from engine.models import AuditEvent, Document, Notification, Recusal, db
from engine.runtime.recusal import decide_recusal, request_recusal
from tests.conftest import make_user, user
from tests.support.driver import Driver
from tests.support.officers import claim, filed
from tests.support.sample_forms import LEAD_FILE
from tests.support.scenarios import COMPANY, FILE_CASE, INVESTIGATION

ART_43 = "第四十三条"
WHY = "承办人与当事人法定代表人系近亲属"


@pytest.fixture
def chiefs(drv: Driver) -> Driver:  # noqa: F811
    make_user("a_chief2", "unit_a", ["agency_head"], ())
    db.session.remove()
    drv.api("a_chief2")
    return drv


def ask(drv: Driver, by: str, officer: str, source: str = "party", reason: str = WHY) -> tuple[int, dict]:
    return drv.api(by).post(f"/cases/{drv.case_id}/recusals", {"officer": officer, "source": source, "reason": reason})


def decide(drv: Driver, by: str, n: int, decision: str = "granted", **extra) -> tuple[int, dict]:
    return drv.api(by).post(f"/cases/{drv.case_id}/recusals/{n}/decide",
                            {"decision": decision, "reason": "申请理由成立", **extra})


def test_a_party_request_is_decided_by_the_agency_head_and_the_recused_officer_leaves_the_case(drv):  # noqa: F811
    filed(drv)
    assert claim(drv, "investigate", "a_handler2")[0] == 200
    status, body = ask(drv, "a_handler1", "a_handler2")
    assert status == 201, body
    assert body["recusal"]["n"] == 1 and body["recusal"]["status"] == "pending" and body["recusal"]["source"] == "party"
    # The investigation does not stop meanwhile: the officer concerned still holds and may do the step.
    task = drv.task("investigate")
    assert task.assignee_id == user("a_handler2").id
    status, read = drv.api("a_handler2").get(f"/tasks/{task.id}")
    assert read["can_complete"] is True and read["not_eligible_reason"] is None
    assert db.session.scalars(select(Notification).where(Notification.user_id == user("a_chief").id,
                                                         Notification.kind == "recusal")).first() is not None

    status, body = decide(drv, "a_chief", 1)
    assert status == 200, body
    recusal = body["recusal"]
    assert recusal["status"] == "granted" and recusal["decided_by"] == "a_chief" and recusal["collective"] is False
    [document] = db.session.scalars(select(Document).where(Document.doc_type == "回避决定书")).all()
    assert recusal["document"] == document.number and "回避" in document.number
    assert "决定回避" in document.content and WHY in document.content and ART_43 in document.content
    assert "行政机关负责人决定" in document.content
    # Off the open task: assignee cleared, back in the pool, the officer told why.
    task = drv.task("investigate")
    assert task.assignee_id is None
    told = db.session.scalars(select(Notification).where(Notification.user_id == user("a_handler2").id,
                                                         Notification.kind == "released")).one()
    assert document.number in told.message and told.task_id == task.id
    # Ineligible for every step of the case: taking it, being handed it, being named on it, being designated.
    status, body = claim(drv, "investigate", "a_handler2")
    assert status == 403 and "已决定回避本案" in body["message"] and ART_43 in body["message"]
    status, body = drv.api("a_head").post(f"/tasks/{task.id}/reassign", {"to": "a_handler2"})
    assert status == 422 and "已决定回避本案" in body["message"]
    status, body = drv.attempt("investigate", "a_handler1", INVESTIGATION)  # a_handler2 as co-investigator
    assert status == 422 and "已决定回避本案" in body["message"]
    status, body = drv.api("a_head").post(f"/cases/{drv.case_id}/handlers",
                                          {"handlers": ["a_handler1", "a_handler2"], "reason": "恢复"})
    assert status == 422 and "已决定回避本案" in body["message"]
    # One handler is left: the case shows it, the unit heads are asked to designate again.
    status, case = drv.api("a_head").get(f"/cases/{drv.case_id}")
    assert case["designated_handlers"] == ["a_handler1"] and case["recusals"][0]["status"] == "granted"
    assert db.session.scalars(select(Notification).where(Notification.user_id == user("a_head").id,
                                                         Notification.kind == "designate")).first() is not None
    assert drv.api("a_head").post(f"/cases/{drv.case_id}/handlers",
                                  {"handlers": ["a_handler1", "a_handler3"], "reason": "回避后重新指定"})[0] == 200
    drv.complete("investigate", "a_handler1", {**INVESTIGATION, "co_investigators": ["a_handler3"]})
    actions = [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.chain == f"case:{drv.case_id}"))]
    assert {"recusal.requested", "recusal.decided", "task.released"} <= set(actions)


def test_a_recused_officer_takes_no_step_of_any_role(drv):  # noqa: F811
    """Recused before 立案, the unit head may not approve the filing (a step of another lane than the handlers')."""
    drv.start("ordinary", COMPANY, {"violation": "未明码标价"})
    drv.complete("register_lead", "a_handler1", LEAD_FILE)
    assert ask(drv, "a_head", "a_head", source="self", reason="本人曾为当事人提供咨询服务")[0] == 201
    assert decide(drv, "a_chief", 1)[0] == 200
    status, body = claim(drv, "file_case", "a_head")
    assert status == 403 and "已决定回避本案" in body["message"]
    drv.complete("file_case", "a_head2", FILE_CASE)


def test_only_the_agency_head_decides(drv):  # noqa: F811
    filed(drv)
    ask(drv, "a_handler1", "a_handler2")
    for officer in ("a_head", "a_handler1"):
        status, body = decide(drv, officer, 1)
        assert status == 403 and "行政机关负责人决定" in body["message"] and ART_43 in body["message"]
    with pytest.raises(Forbidden, match="行政机关负责人决定"):  # the engine's rule, whoever calls it (page or API)
        decide_recusal(user("a_head"), drv.case_id, 1, "granted", "理由成立")
    assert db.session.scalars(select(Recusal)).one().status == "pending"


def test_a_rejected_request_leaves_the_officer_on_the_case(drv):  # noqa: F811
    filed(drv)
    assert claim(drv, "investigate", "a_handler2")[0] == 200
    ask(drv, "a_handler1", "a_handler2", reason="当事人认为承办人态度不好")
    status, body = decide(drv, "a_chief", 1, decision="rejected")
    assert status == 200 and body["recusal"]["status"] == "rejected"
    assert drv.task("investigate").assignee_id == user("a_handler2").id
    [document] = db.session.scalars(select(Document).where(Document.doc_type == "回避决定书")).all()
    assert "决定不予回避" in document.content
    status, body = decide(drv, "a_chief", 1)
    assert status == 409 and "已于" in body["message"]


def test_the_agency_heads_recusal_is_decided_collectively(chiefs):
    drv = chiefs
    filed(drv)
    assert ask(drv, "a_handler1", "a_chief", reason="当事人系其配偶经营的企业")[0] == 201
    status, body = decide(drv, "a_chief", 1, collective_discussion=True, discussion_on="2026-03-02",
                          discussion_record="参加：a_chief2 等")
    assert status == 403 and "本人的回避不能由本人决定" in body["message"]
    status, body = decide(drv, "a_chief2", 1)
    assert status == 403 and "集体讨论决定" in body["message"] and "讨论日期" in body["message"]
    status, body = decide(drv, "a_chief2", 1, collective_discussion=True, discussion_on="2026-03-02")
    assert status == 422 and body["details"][0]["field"] == "discussion_record"
    status, body = decide(drv, "a_chief2", 1, collective_discussion=True, discussion_on="2026-03-02",
                          discussion_record="参加人员：a_chief2、副局长某某；一致同意回避")
    assert status == 200, body
    assert body["recusal"]["collective"] is True and body["recusal"]["discussion_on"] == "2026-03-02"
    [document] = db.session.scalars(select(Document).where(Document.doc_type == "回避决定书")).all()
    assert "行政机关负责人集体讨论决定" in document.content and "一致同意回避" in document.content
    # Recused, the agency head takes no part in the case's own decisions either.
    for path, body in (("suspend", {"ground": "force_majeure", "reason": "台风"}), ("clock/extend", {"days": 10, "reason": "补充调查"})):
        status, answer = drv.api("a_chief").post(f"/cases/{drv.case_id}/{path}", body)
        assert status == 403 and "已决定回避本案" in answer["message"] and ART_43 in answer["message"], path
    assert drv.api("a_chief2").post(f"/cases/{drv.case_id}/clock/extend", {"days": 10, "reason": "补充调查"})[0] == 200


def test_a_recused_handler_records_no_period_on_the_case(drv):  # noqa: F811
    filed(drv)
    ask(drv, "a_handler2", "a_handler2", source="self", reason="本人持有当事人股份")
    decide(drv, "a_chief", 1)
    body = {"kind": "inspection", "started_on": "2026-03-02", "description": "送检"}
    status, answer = drv.api("a_handler2").post(f"/cases/{drv.case_id}/excluded-periods", body)
    assert status == 403 and "已决定回避本案" in answer["message"]
    assert drv.api("a_handler1").post(f"/cases/{drv.case_id}/excluded-periods", body)[0] == 201


def test_a_request_is_checked_before_it_is_recorded(drv):  # noqa: F811
    filed(drv)
    status, body = ask(drv, "a_handler1", "a_handler2", source="self")
    assert status == 422 and "自行回避只能由本人提出" in body["message"] and ART_43 in body["message"]
    status, body = ask(drv, "a_handler1", "a_handler2", reason=" ")
    assert status == 422 and body["details"][0]["field"] == "reason"
    status, body = ask(drv, "a_handler1", "b_handler1")
    assert status == 422 and body["details"][0]["field"] == "officer"
    status, body = ask(drv, "admin", "a_handler2")
    assert status == 403
    with pytest.raises(Forbidden, match="执法人员"):
        request_recusal(user("admin"), drv.case_id, "a_handler2", "party", WHY)
    assert ask(drv, "a_handler2", "a_handler2", source="self")[0] == 201
    status, body = ask(drv, "a_handler1", "a_handler2")
    assert status == 409 and "已有待决定的回避申请（第1项）" in body["message"]
    assert db.session.scalars(select(Recusal)).one().source == "self"


def test_another_units_case_is_not_found(drv):  # noqa: F811
    filed(drv)
    ask(drv, "a_handler1", "a_handler2")
    drv.api("b_handler1")
    db.session.remove()  # a new read transaction sees the token just issued
    status, _ = ask(drv, "b_handler1", "b_handler1", source="self")
    assert status == 404

