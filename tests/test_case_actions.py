"""中止、恢复、终止调查, 延长办案期限 and the periods the case clock does not count (法 Art. 60):
who may, what each refusal says, the documents issued, and the clock arithmetic (overlaps once)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from engine import clock
from engine.casefile.verify import verify_record
from engine.deadlines.limits import Deadlines
from engine.errors import Forbidden, InvalidInput, InvalidState, NotFound
from engine.models import AuditEvent, Case, Document, ProcessInstance, Task, db
from engine.runtime import complete_task, fire_due_timers, resume_case, start_case, suspend_case, terminate_case
from engine.runtime.case_clock import (
    ClockEvent,
    apply_events,
    end_excluded_period,
    extend_case_clock,
    pauses_of,
    start_excluded_period,
    union_days,
)
from tests.conftest import user

SH = clock.SHANGHAI
PARTY = {"party_type": "citizen", "party_name": "钱七"}


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


def filed(frozen) -> Case:
    """A case whose clock started on Mon 2026-03-02 and which waits for its notice period (a timer)."""
    return start_case(user("a_handler1"), "mini_timer", PARTY, {"notice_on": "2026-03-02", "start_clock": True})


def reread(case_id: int) -> Case:
    return db.session.scalars(select(Case).where(Case.id == case_id).execution_options(populate_existing=True)).one()


def documents(case_id: int) -> list[str]:
    return list(db.session.scalars(select(Document.doc_type).where(Document.case_id == case_id).order_by(Document.id)))


def open_tasks(case_id: int) -> list[Task]:
    return list(db.session.scalars(select(Task).where(Task.case_id == case_id, Task.status == "open")))


# --- who may --------------------------------------------------------------------------------------

@pytest.mark.parametrize("officer", ["a_handler1", "a_head", "a_reviewer"])
def test_only_the_agency_head_suspends_resumes_terminates_and_extends(ctx, people, mini, frozen, officer):
    case = filed(frozen)
    for refused in (lambda: suspend_case(user(officer), case.id, "等待鉴定", ground="other"),
                    lambda: resume_case(user(officer), case.id, "恢复"),
                    lambda: terminate_case(user(officer), case.id, "终止", ground="other"),
                    lambda: extend_case_clock(user(officer), case.id, 30, "案情复杂")):
        with pytest.raises(Forbidden, match="行政机关负责人") as refusal:
            refused()
        assert "请报行政机关负责人" in refusal.value.message  # what to do next
    case = reread(case.id)
    assert case.status == "open" and case.clock_state == "running" and documents(case.id) == []


def test_another_units_agency_head_is_told_the_case_does_not_exist(ctx, people, mini, frozen):
    from tests.conftest import make_user

    make_user("b_chief", "unit_b", ["agency_head"])
    case = filed(frozen)
    with pytest.raises(NotFound):
        suspend_case(user("b_chief"), case.id, "等待鉴定", ground="other")
    with pytest.raises(NotFound):
        start_excluded_period(user("b_chief"), case.id, "testing", "2026-03-02", "送检")


def test_suspension_and_termination_name_a_legal_ground_and_a_reason(ctx, people, mini, frozen):
    case = filed(frozen)
    with pytest.raises(InvalidInput, match="法定情形"):
        suspend_case(user("a_chief"), case.id, "等待", ground="because")
    with pytest.raises(InvalidInput, match="中止调查理由"):
        suspend_case(user("a_chief"), case.id, "  ", ground="party_missing")
    with pytest.raises(InvalidInput, match="法定情形"):
        terminate_case(user("a_chief"), case.id, "终止", ground="party_missing")  # a suspension ground, not a termination one
    assert reread(case.id).status == "open"


# --- suspend, resume, terminate: state, clock, documents ----------------------------------------------

def test_suspension_pauses_the_clock_and_blocks_the_tasks_and_resumption_counts_it_out(ctx, people, mini, frozen):
    case = filed(frozen)
    frozen.set(at(2026, 3, 10, 9))
    suspend_case(user("a_chief"), case.id, "当事人住院，无法接受询问", ground="party_missing")
    case = reread(case.id)
    assert case.status == "suspended" and case.clock_state == "paused" and case.paused_since == at(2026, 3, 10)
    with pytest.raises(InvalidState, match="先恢复调查"):
        suspend_case(user("a_chief"), case.id, "再次中止", ground="other")
    frozen.set(at(2026, 3, 20, 9))
    assert fire_due_timers().fired == []  # a suspended case's notice timer does not fire
    resume_case(user("a_chief"), case.id, "当事人已出院")
    case = reread(case.id)
    assert case.status == "open" and case.clock_state == "running" and case.paused_days == 10
    assert case.clock_deadline == at(2026, 6, 11)  # 100 days: Wed 06-10, ends 24:00
    with pytest.raises(InvalidState, match="未处于中止状态"):
        resume_case(user("a_chief"), case.id, "再次恢复")
    assert documents(case.id) == ["中止调查决定书", "恢复调查决定书"]
    suspension, resumption = db.session.scalars(select(Document).where(Document.case_id == case.id).order_by(Document.id))
    assert suspension.number == "X市监中止〔2026〕1号" and resumption.number == "X市监恢复〔2026〕1号"
    assert "当事人下落不明" in suspension.content and "当事人住院，无法接受询问" in suspension.content
    assert "2026-03-10至2026-03-20，共10日不计入办案期限" in resumption.content
    assert suspension.number in resumption.content  # the resumption cites the suspension
    assert verify_record(case.id) == []


def test_termination_withdraws_the_tasks_stops_the_clock_and_ends_open_periods(ctx, people, mini, frozen):
    case = filed(frozen)
    frozen.set(at(2026, 3, 5, 9))
    start_excluded_period(user("a_handler1"), case.id, "appraisal", "2026-03-04", "涉案物品送司法鉴定")
    frozen.set(at(2026, 3, 9, 9))
    terminate_case(user("a_chief"), case.id, "当事人已注销且无承受人", ground="no_successor")
    case = reread(case.id)
    assert case.status == "terminated" and case.clock_state == "stopped" and case.paused_since is None
    [period] = pauses_of(case.id)
    assert period.ended_on == dt.date(2026, 3, 9)
    assert documents(case.id) == ["终止调查决定书"]
    with pytest.raises(InvalidState, match="已结束"):
        terminate_case(user("a_chief"), case.id, "再次终止", ground="other")
    with pytest.raises(InvalidState, match="未在计算中"):
        extend_case_clock(user("a_chief"), case.id, 30, "延长")
    with pytest.raises(InvalidState, match="未在计算中"):
        start_excluded_period(user("a_handler1"), case.id, "testing", "2026-03-09", "送检")
    actions = [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id))]
    assert actions[-1] == "case.terminated" and "document.issued" in actions and "case.closed" not in actions


# --- extension ------------------------------------------------------------------------------------

def test_a_second_extension_needs_the_collective_discussion_and_its_record(ctx, people, mini, frozen):
    case = filed(frozen)
    frozen.set(at(2026, 5, 20, 9))
    extend_case_clock(user("a_chief"), case.id, 30, "案情复杂，需补充鉴定")
    assert reread(case.id).clock_deadline == at(2026, 7, 1)  # 120 days: Tue 06-30
    with pytest.raises(Forbidden, match=r"再次延长须经集体讨论决定（《行政处罚法》第六十条）") as refusal:
        extend_case_clock(user("a_chief"), case.id, 15, "仍需时间")
    assert "集体讨论记录的日期和编号" in refusal.value.message  # what to do next
    with pytest.raises(InvalidInput, match="集体讨论日期"):
        extend_case_clock(user("a_chief"), case.id, 15, "仍需时间", collective_discussion=True, discussion_number="集讨2号")
    with pytest.raises(InvalidInput, match="集体讨论记录编号"):
        extend_case_clock(user("a_chief"), case.id, 15, "仍需时间", collective_discussion=True, discussion_on="2026-05-19")
    with pytest.raises(InvalidInput, match="不能晚于今天"):
        extend_case_clock(user("a_chief"), case.id, 15, "仍需时间", collective_discussion=True, discussion_on="2026-05-21",
                          discussion_number="集讨2号")
    extend_case_clock(user("a_chief"), case.id, 15, "经集体讨论继续延期", collective_discussion=True,
                      discussion_on="2026-05-19", discussion_number="X市监集讨〔2026〕2号")
    case = reread(case.id)
    assert case.extensions == 2 and case.clock_deadline == at(2026, 7, 16)  # 135 days: Wed 07-15
    assert documents(case.id) == ["延长办案期限审批表", "延长办案期限审批表"]
    second = db.session.scalars(select(Document).where(Document.case_id == case.id).order_by(Document.id.desc())).first()
    assert "第2次延长" in second.content and "X市监集讨〔2026〕2号" in second.content and "集体讨论决定" in second.content
    with pytest.raises(InvalidInput, match="1–30"):
        extend_case_clock(user("a_chief"), case.id, 31, "太长", collective_discussion=True, discussion_on="2026-05-19",
                          discussion_number="X市监集讨〔2026〕3号")
    assert verify_record(case.id) == []


# --- excluded periods -------------------------------------------------------------------------------

def test_an_excluded_period_pauses_the_clock_without_blocking_the_tasks(ctx, people, mini, frozen):
    case = filed(frozen)
    frozen.set(at(2026, 3, 5, 9))
    period = start_excluded_period(user("a_handler1"), case.id, "testing", "2026-03-05", "样品送市质检所检测")
    assert period.seq == 1
    case = reread(case.id)
    assert case.status == "open" and case.clock_state == "paused"
    instance = db.session.scalars(select(ProcessInstance).where(ProcessInstance.case_id == case.id)).one()
    assert instance.status == "running"  # unlike 中止
    frozen.set(at(2026, 3, 12, 0, 0, 1))
    assert len(fire_due_timers().fired) == 1  # the notice period runs on: only the case clock is paused
    [task] = open_tasks(case.id)
    frozen.set(at(2026, 3, 12, 9))
    complete_task(user("a_handler1"), task.id, {"decision": "举行听证"})  # a suspended case would refuse this
    frozen.set(at(2026, 3, 16, 9))
    end_excluded_period(user("a_handler2"), case.id, 1, "2026-03-15")
    case = reread(case.id)
    assert case.paused_days == 10 and case.clock_state == "running" and case.clock_deadline == at(2026, 6, 11)
    actions = [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id))]
    assert {"case.excluded_period_started", "case.excluded_period_ended", "case.clock_pause", "case.clock_resume"} <= set(actions)
    assert verify_record(case.id) == []


def test_a_suspension_overlapping_an_excluded_period_is_not_counted_twice(ctx, people, mini, frozen):
    case = filed(frozen)
    frozen.set(at(2026, 3, 5, 9))
    start_excluded_period(user("a_handler1"), case.id, "inspection", "2026-03-05", "样品送检验")  # 03-05 → 03-15
    frozen.set(at(2026, 3, 10, 9))
    suspend_case(user("a_chief"), case.id, "需请示上级机关解释", ground="legal_interpretation")  # 03-10 → 03-20
    frozen.set(at(2026, 3, 15, 9))
    end_excluded_period(user("a_handler1"), case.id, 1, "2026-03-15")
    case = reread(case.id)
    assert case.clock_state == "paused"  # the suspension still runs
    assert case.paused_days == 10  # 03-05 → 03-15 so far
    frozen.set(at(2026, 3, 20, 9))
    resume_case(user("a_chief"), case.id, "已得到答复")
    case = reread(case.id)
    # The union 03-05 → 03-20 is 15 days, not 10 + 10.
    assert case.paused_days == 15 and case.clock_state == "running"
    assert case.clock_deadline == at(2026, 6, 16)  # 105 days: Mon 06-15, ends 24:00


def test_a_hearing_resumes_only_its_own_pause(ctx, people, mini, frozen):
    """The hearing procedure's case_clock('resume') leaves an officer's open testing period paused."""
    case = filed(frozen)
    frozen.set(at(2026, 3, 5, 9))
    start_excluded_period(user("a_handler1"), case.id, "testing", "2026-03-05", "送检")
    case = reread(case.id)
    apply_events(case, [ClockEvent("pause", dt.date(2026, 3, 8), "hearing")], Deadlines(), "system")
    apply_events(case, [ClockEvent("resume", dt.date(2026, 3, 18), "hearing")], Deadlines(), "system")
    db.session.commit()
    case = reread(case.id)
    assert case.clock_state == "paused" and case.paused_days == 10  # the hearing's 03-08 → 03-18
    frozen.set(at(2026, 3, 20, 9))
    end_excluded_period(user("a_handler1"), case.id, 1, "2026-03-12")
    case = reread(case.id)
    assert case.clock_state == "running" and case.paused_days == 13  # 03-05 → 03-18, once


def test_excluded_period_refusals_say_what_to_do(ctx, people, mini, frozen):
    case = filed(frozen)
    frozen.set(at(2026, 3, 10, 9))
    with pytest.raises(InvalidInput, match="检测、检验、检疫、鉴定或公告"):
        start_excluded_period(user("a_handler1"), case.id, "suspension", "2026-03-10", "中止")
    with pytest.raises(InvalidInput, match="不能晚于今天"):
        start_excluded_period(user("a_handler1"), case.id, "testing", "2026-03-11", "送检")
    with pytest.raises(InvalidInput, match="请说明"):
        start_excluded_period(user("a_handler1"), case.id, "testing", "2026-03-10", " ")
    with pytest.raises(Forbidden):
        start_excluded_period(user("designer"), case.id, "testing", "2026-03-10", "送检")
    start_excluded_period(user("a_handler1"), case.id, "public_notice", "2026-03-06", "公告送达")
    with pytest.raises(InvalidInput, match="不得早于开始日期"):
        end_excluded_period(user("a_handler1"), case.id, 1, "2026-03-05")
    with pytest.raises(NotFound):
        end_excluded_period(user("a_handler1"), case.id, 9, "2026-03-10")
    suspend_case(user("a_chief"), case.id, "不可抗力", ground="force_majeure")
    with pytest.raises(InvalidState, match="恢复调查"):
        end_excluded_period(user("a_handler1"), case.id, 2, "2026-03-10")  # the suspension ends with 恢复
    end_excluded_period(user("a_handler1"), case.id, 1, "2026-03-10")
    with pytest.raises(InvalidState, match="已于 2026-03-10 结束"):
        end_excluded_period(user("a_handler1"), case.id, 1, "2026-03-10")


def test_an_excluded_period_before_filing_counts_from_the_filing_date_only():
    filed_on = dt.date(2026, 3, 3)
    assert union_days([(dt.date(2026, 2, 20), dt.date(2026, 3, 10))], filed_on) == 7
    assert union_days([(dt.date(2026, 3, 5), dt.date(2026, 3, 15)), (dt.date(2026, 3, 10), dt.date(2026, 3, 20))]) == 15
    assert union_days([(dt.date(2026, 3, 5), dt.date(2026, 3, 8)), (dt.date(2026, 3, 8), dt.date(2026, 3, 9))]) == 4
    assert union_days([(dt.date(2026, 3, 5), dt.date(2026, 3, 20)), (dt.date(2026, 3, 6), dt.date(2026, 3, 7))]) == 15
    assert union_days([(dt.date(2026, 3, 5), dt.date(2026, 3, 5))]) == 0


# --- the API ----------------------------------------------------------------------------------------

def test_api_suspends_resumes_records_periods_extends_and_terminates(app, api, mini, frozen):
    with app.app_context():
        case_id = filed(frozen).id
        db.session.remove()
    chief, handler = api("a_chief"), api("a_handler1")
    status, body = handler.post(f"/cases/{case_id}/suspend", {"ground": "other", "reason": "等待"})
    assert status == 403 and "行政机关负责人" in body["message"]
    status, body = chief.post(f"/cases/{case_id}/suspend", {"ground": "nonsense", "reason": "等待"})
    assert status == 422 and body["details"] == [{"field": "ground", "message": "必选"}]
    status, body = chief.post(f"/cases/{case_id}/suspend", {"ground": "party_missing", "reason": "当事人下落不明"})
    assert status == 200 and body["status"] == "suspended" and body["clock"]["state"] == "paused"
    assert [p["kind"] for p in body["clock"]["periods"]] == ["suspension"]
    assert [d["type"] for d in body["documents"]] == ["中止调查决定书"]
    status, body = handler.post(f"/cases/{case_id}/excluded-periods",
                                {"kind": "appraisal", "started_on": "2026-03-02", "description": "送司法鉴定"})
    assert status == 201 and body["period"]["n"] == 2 and body["period"]["ended_on"] is None
    status, body = chief.post(f"/cases/{case_id}/resume", {"reason": "已找到当事人"})
    assert status == 200 and body["status"] == "open" and body["clock"]["state"] == "paused"  # the appraisal is still open
    status, body = handler.post(f"/cases/{case_id}/excluded-periods/2/end", {"ended_on": "2026-03-02"})
    assert status == 200 and body["clock"]["state"] == "running" and body["period"]["days"] == 0
    status, body = chief.post(f"/cases/{case_id}/clock/extend", {"days": 30, "reason": "案情复杂"})
    assert status == 200 and body["clock"]["extensions"] == 1
    status, body = chief.post(f"/cases/{case_id}/clock/extend", {"days": 10, "reason": "再延"})
    assert status == 403 and "集体讨论" in body["message"]
    status, body = chief.post(f"/cases/{case_id}/terminate", {"ground": "time_barred", "reason": "已过追责时效"})
    assert status == 200 and body["status"] == "terminated" and body["clock"]["state"] == "stopped"
    assert [d["type"] for d in body["documents"]] == ["中止调查决定书", "恢复调查决定书", "延长办案期限审批表", "终止调查决定书"]
    spec = app.test_client().get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/cases/{case_id}/suspend", "/cases/{case_id}/resume", "/cases/{case_id}/terminate",
                 "/cases/{case_id}/excluded-periods", "/cases/{case_id}/excluded-periods/{n}/end"):
        assert "post" in spec[path], path


# --- the case page ------------------------------------------------------------------------------------

def test_case_page_actions_need_the_csrf_token_and_termination_its_confirmation(app, people, mini, frozen):
    import re

    from tests.conftest import PASSWORD

    with app.app_context():
        case_id = filed(frozen).id
        db.session.remove()
    client = app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"username": "a_chief", "password": PASSWORD, "csrf_token": token})
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    for form in ("suspend-form", "extend-form", "terminate-form"):
        assert f'id="{form}"' in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    body = {"ground": "time_barred", "reason": "已过追责时效"}
    assert client.post(f"/cases/{case_id}/terminate", data=body).status_code == 400  # no CSRF token: refused
    r = client.post(f"/cases/{case_id}/terminate", data={**body, "csrf_token": token}, follow_redirects=True)
    assert "请勾选确认" in r.get_data(as_text=True)  # no confirmation: nothing terminated
    with app.app_context():
        assert reread(case_id).status == "open"
    r = client.post(f"/cases/{case_id}/clock/extend", data={"days": "31", "reason": "延长", "csrf_token": token},
                    follow_redirects=True)
    assert "延长天数须为 1–30 日" in r.get_data(as_text=True)  # the engine's refusal, shown on the page
    r = client.post(f"/cases/{case_id}/terminate", data={**body, "confirm": "1", "csrf_token": token}, follow_redirects=True)
    assert "已终止调查" in r.get_data(as_text=True)
    with app.app_context():
        assert reread(case_id).status == "terminated" and documents(case_id) == ["终止调查决定书"]


# --- the migration --------------------------------------------------------------------------------------

def test_migration_rebuilds_each_cases_uncounted_periods_from_its_audit_chain(tmp_path):
    """Cases paused and resumed before intervals existed get them back from the recorded clock events."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from webui import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.db'}", "SECRET_KEY": "x"})
    directory = app.extensions["migrate"].directory
    with app.app_context():
        upgrade(directory=directory, revision="0008")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO org_unit (id, code, name, agency_short_name) VALUES (1, 'u', '一科', 'X')"))
            for case_id in (1, 2):
                conn.execute(text(
                    "INSERT INTO \"case\" (id, case_number, procedure, unit_id, party_type, party_name, party_id_masked, facts,"
                    " status, opened_at, paused_days, extension_days, extensions, clock_provisional)"
                    " VALUES (:id, :n, 'ordinary', 1, 'citizen', '甲', '', '{}', 'open', '2026-03-02 01:00:00.000000', 0, 0, 0, 0)"),
                    {"id": case_id, "n": f"X案{case_id}"})
            events = [(1, "case.clock_pause", "2026-03-10", "中止 (suspension)"), (1, "case.clock_resume", "2026-03-20", ""),
                      (1, "case.clock_pause", "2026-04-01", ""), (2, "case.clock_pause", "2026-03-05", ""),
                      (2, "case.clock_resume", "2026-03-07", ""), (2, "case.clock_start", "2026-03-02", "")]
            for seq, (case_id, action, on, why) in enumerate(events, start=1):
                conn.execute(text(
                    "INSERT INTO audit_event (chain, seq, case_id, actor, action, at, data, prev_hash, hash)"
                    " VALUES (:chain, :seq, :case_id, 'a_chief', :action, '2026-03-02 01:00:00.000000', :data, '', '')"),
                    {"chain": f"case:{case_id}", "seq": seq, "case_id": case_id, "action": action,
                     "data": f'{{"on": "{on}", "why": "{why}"}}'})
        upgrade(directory=directory)
        rows = db.session.execute(text("SELECT case_id, seq, kind, started_on, ended_on FROM clock_pause ORDER BY case_id, seq")).all()
        db.session.remove()
        db.engine.dispose()
    assert [tuple(r) for r in rows] == [(1, 1, "suspension", "2026-03-10", "2026-03-20"), (1, 2, "procedure", "2026-04-01", None),
                                        (2, 1, "procedure", "2026-03-05", "2026-03-07")]
