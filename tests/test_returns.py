"""退回: a path that sends work back says why (task row, API, timeline, task page) and voids the 文书
issued on the refused path (kept in the record and the chain, never published, not in the printable
case file); a refused decision does not stop the case clock."""

from __future__ import annotations

import io
import json
import re
import zipfile
from typing import Any

import pytest
from sqlalchemy import select, update

from engine.casefile.verify import verify_record
from engine.documents import document_hash
from engine.errors import InvalidInput
from engine.models import AuditEvent, Case, Document, Publication, Task, db
from engine.publication.publish import sweep_publications
from engine.record import offline_check as recordcheck
from engine.runtime import complete_task, start_case
from engine.runtime.case_clock import start_excluded_period
from engine.runtime.instance import find_task, open_session
from tests.conftest import DATA, PASSWORD, deploy_dir, user
from tests.support.driver import run  # noqa: F401  (the procedure driver's fixture)
from tests.support.sample_forms import STATEMENT, decision, notice
from tests.support.scenarios import to_report

REPORT = {"facts_found": "当事人销售超过保质期的食品。", "proposed_fine": 5000}
ABOVE_NOTICE = {"decided_penalty_kind": "fine", "decided_fine": 8000}
WITHIN_NOTICE = {"decided_penalty_kind": "fine", "decided_fine": 5000}
ISSUE = {"legal_basis": "《中华人民共和国食品安全法》第一百二十四条"}
ART_45 = "行政处罚法第四十五条"
ART_59 = "行政处罚法第五十九条"


@pytest.fixture
def returns_bundle(app) -> int:
    with app.app_context():
        deployment_id = deploy_dir(DATA / "returns")
        db.session.remove()
        return deployment_id


@pytest.fixture
def case_id(ctx, people, returns_bundle, frozen) -> int:
    case = start_case(user("a_handler1"), "returns_test", {"party_type": "organization", "party_name": "某某食品有限公司"},
                      {"violation": "销售过期食品"})
    return case.id


def open_task(case_id: int, bpmn_id: str) -> Task:
    return db.session.scalars(select(Task).where(Task.case_id == case_id, Task.bpmn_id == bpmn_id, Task.status == "open")
                              .execution_options(populate_existing=True)).one()


def finish(case_id: int, bpmn_id: str, username: str, data: dict[str, Any]) -> None:
    complete_task(user(username), open_task(case_id, bpmn_id).id, data)


def refuse_decision(case_id: int) -> Task:
    """Report, then a decision above the report's proposal: the report comes back."""
    finish(case_id, "report", "a_handler1", REPORT)
    finish(case_id, "decide", "a_chief", ABOVE_NOTICE)
    return open_task(case_id, "report")


def issue_decision(case_id: int) -> None:
    finish(case_id, "report", "a_handler1", REPORT)
    finish(case_id, "decide", "a_chief", WITHIN_NOTICE)
    finish(case_id, "issue", "a_handler1", ISSUE)


def documents(case_id: int) -> list[Document]:
    return list(db.session.scalars(select(Document).where(Document.case_id == case_id).order_by(Document.id)
                                   .execution_options(populate_existing=True)))


def events(case_id: int, action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id, AuditEvent.action == action)
                                   .order_by(AuditEvent.seq)))


def spiff_data(task: Task) -> dict[str, Any]:
    from engine.models import ProcessInstance

    instance = db.session.get(ProcessInstance, task.instance_id)
    session = open_session(instance, "test")
    data = dict(find_task(session.workflow, task.id).data)
    db.session.rollback()
    return data


# ------------------------------------------------------------------------------------------ the reason
def test_returned_task_carries_the_rule_it_was_sent_back_under(case_id):
    first = open_task(case_id, "report")
    assert first.returned_because is None
    returned = refuse_decision(case_id)
    assert returned.id != first.id
    assert ART_45 in returned.returned_because and "请重新提出处理意见" in returned.returned_because
    [event] = events(case_id, "task.returned")
    assert event.task_id == returned.id and event.data["reason"] == returned.returned_because
    assert event.data["void_documents"] == ["行政处罚决定审批表", "调查终结报告"]


def test_api_shows_why_a_task_came_back(app, api, returns_bundle, frozen):
    handler = api("a_handler1")
    status, case = handler.post("/cases", {"procedure": "returns_test",
                                           "party": {"type": "organization", "name": "某某食品有限公司"},
                                           "facts": {"violation": "销售过期食品"}})
    assert status == 201, case
    with app.app_context():
        refuse_decision(case["id"])
        returned_id = open_task(case["id"], "report").id
    status, detail = handler.get(f"/tasks/{returned_id}")
    assert status == 200 and ART_45 in detail["returned_because"]
    assert "returned_because" not in detail["data"] and "void_documents" not in detail["data"]
    status, listing = handler.get("/tasks", scope="available")
    [item] = [t for t in listing["items"] if t["id"] == returned_id]
    assert ART_45 in item["returned_because"]
    status, body = handler.get(f"/cases/{case['id']}")
    voided = {d["type"]: d for d in body["documents"] if d["voided"]}
    assert set(voided) == {"调查终结报告", "行政处罚决定审批表"}
    assert ART_45 in voided["调查终结报告"]["void_reason"]


def test_return_variables_are_not_inherited_by_later_steps(case_id):
    returned = refuse_decision(case_id)
    assert not {"returned_because", "void_documents"} & set(spiff_data(returned))
    finish(case_id, "report", "a_handler1", REPORT)
    decide = open_task(case_id, "decide")
    assert decide.returned_because is None
    assert not {"returned_because", "void_documents"} & set(spiff_data(decide))
    finish(case_id, "decide", "a_chief", WITHIN_NOTICE)
    assert open_task(case_id, "issue").returned_because is None
    assert len(events(case_id, "task.returned")) == 1  # returned once, not again at every later step
    assert len(events(case_id, "document.voided")) == 2


def stored_state(case_id: int) -> str:
    from engine.models import ProcessInstance

    return db.session.scalars(select(ProcessInstance.state).where(ProcessInstance.case_id == case_id)
                              .execution_options(populate_existing=True)).one()


def test_return_variables_never_reach_the_stored_state(case_id):
    refuse_decision(case_id)
    state = stored_state(case_id)
    assert "returned_because" not in state and "void_documents" not in state


def test_a_return_on_the_way_in_is_taken_before_the_first_state_is_stored(ctx, people, returns_bundle, frozen):
    case = start_case(user("a_handler1"), "returns_start", {"party_type": "organization", "party_name": "某某食品有限公司"})
    assert "告知承诺制" in open_task(case.id, "redo").returned_because
    assert "returned_because" not in stored_state(case.id)
    assert events(case.id, "document.voided") == []  # nothing of that type was issued: nothing to void


def test_facts_and_forms_cannot_forge_a_return(ctx, people, returns_bundle, frozen):
    with pytest.raises(InvalidInput):
        start_case(user("a_handler1"), "returns_test", {"party_type": "organization", "party_name": "某某食品有限公司"},
                   {"violation": "销售过期食品", "returned_because": "伪造的退回理由"})
    case = start_case(user("a_handler1"), "returns_test", {"party_type": "organization", "party_name": "某某食品有限公司"})
    with pytest.raises(InvalidInput):
        finish(case.id, "report", "a_handler1", {**REPORT, "void_documents": ["立案审批表"]})


# ------------------------------------------------------------------------------------------ 作废
def test_documents_of_the_refused_path_are_void_and_stay_in_the_record(case_id):
    refuse_decision(case_id)
    report, approval = documents(case_id)
    for doc in (report, approval):
        assert doc.voided_at is not None and ART_45 in doc.void_reason
        assert document_hash(doc) == doc.sha256  # the document itself is as issued
    voided = {e.data["number"]: e.data for e in events(case_id, "document.voided")}
    assert set(voided) == {report.number, approval.number}
    assert voided[report.number]["sha256"] == report.sha256
    assert verify_record(case_id) == []
    finish(case_id, "report", "a_handler1", REPORT)
    *_, new_report = documents(case_id)
    assert new_report.doc_type == "调查终结报告" and new_report.voided_at is None


def test_a_void_mark_changed_by_hand_is_found(case_id):
    refuse_decision(case_id)
    report = documents(case_id)[0]
    db.session.execute(update(Document).where(Document.id == report.id).values(voided_at=None, void_reason=None))
    db.session.commit()
    assert any("作废" in f.problem for f in verify_record(case_id))


def test_only_the_void_columns_of_a_document_can_change_and_only_once(case_id):
    refuse_decision(case_id)
    report = documents(case_id)[0]
    report.void_reason = "改写的理由"
    with pytest.raises(RuntimeError, match="immutable"):
        db.session.flush()
    db.session.rollback()
    valid = documents(case_id)
    finish(case_id, "report", "a_handler1", REPORT)
    fresh = documents(case_id)[-1]
    assert fresh not in valid
    fresh.content = "改写"
    with pytest.raises(RuntimeError, match="immutable"):
        db.session.flush()
    db.session.rollback()


def test_voided_decision_is_never_published(case_id):
    issue_decision(case_id)
    finish(case_id, "review", "a_chief", {"approved": False})
    back = open_task(case_id, "issue")
    assert ART_59 in back.returned_because
    [first] = [d for d in documents(case_id) if d.doc_type == "行政处罚决定书"]
    assert first.voided_at is not None
    sweep_publications()
    assert db.session.scalars(select(Publication).where(Publication.case_id == case_id)).all() == []
    finish(case_id, "issue", "a_handler1", ISSUE)
    finish(case_id, "review", "a_chief", {"approved": True})
    sweep_publications()
    [publication] = db.session.scalars(select(Publication).where(Publication.case_id == case_id)).all()
    second = [d for d in documents(case_id) if d.doc_type == "行政处罚决定书"][-1]
    assert publication.document_id == second.id and publication.status == "published"
    assert verify_record(case_id) == []


def test_published_decision_voided_later_is_withdrawn(case_id):
    issue_decision(case_id)
    sweep_publications()
    [publication] = db.session.scalars(select(Publication).where(Publication.case_id == case_id)).all()
    assert publication.status == "published"
    finish(case_id, "review", "a_chief", {"approved": False})
    sweep_publications()
    db.session.refresh(publication)
    assert publication.status == "withdrawn" and "已作废" in publication.withdraw_reason
    assert events(case_id, "publication.withdrawn")


def test_a_registered_decision_voided_before_publication_is_never_published(case_id):
    from engine.publication.publish import _register_new  # the sweep's first step alone: registered, not yet published

    issue_decision(case_id)
    _register_new(db.session.get(Case, case_id).opened_at)
    db.session.commit()
    finish(case_id, "review", "a_chief", {"approved": False})
    sweep_publications()
    [publication] = db.session.scalars(select(Publication).where(Publication.case_id == case_id)).all()
    assert publication.status == "withdrawn" and publication.published_at is None
    assert not events(case_id, "publication.published")


# ------------------------------------------------------------------------------------------ the clock
def test_a_refused_decision_does_not_stop_the_case_clock(case_id):
    refuse_decision(case_id)
    case = db.session.get(Case, case_id)
    db.session.refresh(case)
    assert case.clock_state == "running" and case.decided_at is None
    [reopened] = events(case_id, "case.clock_reopened")
    assert ART_45 in reopened.data["why"]
    finish(case_id, "report", "a_handler1", REPORT)
    finish(case_id, "decide", "a_chief", WITHIN_NOTICE)
    db.session.refresh(case)
    assert case.clock_state == "stopped" and case.decided_at is not None  # the decision that stands
    finish(case_id, "issue", "a_handler1", ISSUE)
    finish(case_id, "review", "a_chief", {"approved": False})  # the 决定书 is redrawn: the decision stands
    db.session.refresh(case)
    assert case.clock_state == "stopped" and len(events(case_id, "case.clock_reopened")) == 1


def test_periods_the_refused_decision_ended_are_open_again(case_id):
    finish(case_id, "report", "a_handler1", REPORT)
    start_excluded_period(user("a_handler1"), case_id, "testing", "2026-03-02", "样品送检")
    finish(case_id, "decide", "a_chief", ABOVE_NOTICE)
    case = db.session.get(Case, case_id)
    db.session.refresh(case)
    assert case.clock_state == "paused"
    [reopened] = events(case_id, "case.clock_reopened")
    assert reopened.data["reopened_periods"] == [1]


# ------------------------------------------------------------------------------------------ pages and export
def login(client, username: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})


def test_task_page_banner_case_page_void_mark_and_timeline(app, people, returns_bundle, frozen):
    with app.app_context():
        case = start_case(user("a_handler1"), "returns_test", {"party_type": "organization", "party_name": "某某食品有限公司"})
        returned_id, case_id = refuse_decision(case.id).id, case.id
    client = app.test_client()
    login(client, "a_handler1")
    page = client.get(f"/tasks/{returned_id}").get_data(as_text=True)
    banner = re.search(r'<div[^>]*id="returned-because"[^>]*>(.*?)</div>', page, re.S)
    assert banner and ART_45 in banner.group(1) and "退回" in banner.group(1)
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    docs = re.search(r'<ul[^>]*id="documents"[^>]*>(.*?)</ul>', page, re.S).group(1)
    assert docs.count("作废") >= 2 and ART_45 in docs
    timeline = re.search(r'<ol[^>]*id="timeline"[^>]*>(.*?)</ol>', page, re.S).group(1)
    assert "退回重办" in timeline and "文书作废" in timeline and "系统记录" not in timeline


def test_case_file_keeps_void_documents_and_the_printable_file_leaves_them_out(app, people, returns_bundle, frozen,
                                                                               tmp_path):
    with app.app_context():
        case = start_case(user("a_handler1"), "returns_test", {"party_type": "organization", "party_name": "某某食品有限公司"})
        refuse_decision(case.id)
        finish(case.id, "report", "a_handler1", REPORT)
        case_id = case.id
        docs = documents(case_id)
        void_numbers = {d.number for d in docs if d.voided_at}
        valid_numbers = {d.number for d in docs if not d.voided_at}
    client = app.test_client()
    login(client, "a_handler1")
    response = client.get(f"/cases/{case_id}/record.zip")
    assert response.status_code == 200
    path = tmp_path / "case.zip"
    path.write_bytes(response.data)
    assert recordcheck.verify_archive(str(path)) == []
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    manifest = json.loads(archive.read("manifest.json"))
    listed = {d["number"]: d for d in manifest["documents"]}
    assert set(listed) == void_numbers | valid_numbers  # the record keeps every document
    assert all(listed[n]["voided"] and ART_45 in listed[n]["void_reason"] for n in void_numbers)
    printable = archive.read("printable.html").decode("utf-8")
    [section] = re.findall(r'<section class="zf-documents">(.*?)</section>', printable, re.S)
    for number in valid_numbers:
        assert number in section
    for number in void_numbers:
        assert number not in section  # left out of the printable file …
        assert number in printable  # … and named in its register of void documents


# ------------------------------------------------------------------------------------------ the ordinary procedure
@pytest.mark.parametrize("run", ["api"], indirect=True)
def test_ordinary_decision_above_the_notice_comes_back_to_the_notice_with_its_reason(run):  # noqa: F811
    to_report(run, 5000)
    run.complete("notify_party", "a_handler1", notice(5000))
    run.complete("record_statement", "a_handler1", STATEMENT)
    run.complete("decide", "a_chief", decision(fine=6000))  # heavier than the 5,000 元 notified (法 Art. 45)
    assert run.ready() == ["notify_party"]
    handler = run.api("a_handler1")
    status, task = handler.get(f"/tasks/{run.task('notify_party').id}")
    assert status == 200 and "第四十五条" in task["returned_because"] and "重新告知" in task["returned_because"]
    status, case = handler.get(f"/cases/{run.case_id}")
    [refused] = [d for d in case["documents"] if d["type"] == "行政处罚决定审批表"]
    assert refused["voided"] and refused["void_reason"] == task["returned_because"]
    assert case["clock"]["state"] == "running"  # a refused decision does not stop the case clock
    [returned] = [e for e in case["history"] if e["action"] == "task.returned"]  # in the case's record
    assert returned["data"]["task"] == "行政处罚事先告知" and returned["data"]["reason"] == task["returned_because"]

    run.complete("notify_party", "a_handler1", notice(6000))  # the party is told of the heavier penalty
    run.complete("record_statement", "a_handler1", STATEMENT)
    run.complete("decide", "a_chief", decision(fine=6000))
    assert run.ready() == ["issue_penalty_decision"]
    status, case = handler.get(f"/cases/{run.case_id}")
    approvals = [d for d in case["documents"] if d["type"] == "行政处罚决定审批表"]
    assert [d["voided"] for d in approvals] == [True, False]
    assert case["clock"]["state"] == "stopped"  # the decision that stands
    status, task = handler.get(f"/tasks/{run.task('issue_penalty_decision').id}")
    assert task["returned_because"] is None
