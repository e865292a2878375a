"""送达 and 执行 of an ordinary-procedure fine: when service takes effect, partial payments, 加处罚款,
暂缓/分期, 催告 and 申请人民法院强制执行, and 结案 only when paid or on a recorded legal ground.

The arithmetic is tested on engine/runtime/execution.py alone; the procedure by officers working real cases,
by engine command and through the HTTP API (the ``run`` driver of tests/support/driver.py).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import delete, select

from engine.deadlines.limits import seed_reference_data
from engine.errors import Forbidden, InvalidInput
from engine.models import Document, TimeLimit, db
from engine.runtime import claim_task, complete_task
from engine.runtime.execution import (
    add_months,
    balance,
    check_closing,
    check_execution,
    fine_execution,
    service_dates,
    surcharge,
)
from tests.conftest import user
from tests.support import driver as support
from tests.support.driver import Driver
from tests.support.sample_forms import CLOSE, SERVE, STATEMENT, decision, notice
from tests.support.scenarios import ISSUE, SH, at, to_report
from tests.support.web import login

# The scenario driver fixture: every procedure test runs by engine command and through the API.
run = support.run

DUE = dt.date(2026, 4, 17)  # served Thu 04-02: the 15th day is Fri 04-17 (法 Art. 67)


def days(n: int) -> dt.date:
    return DUE + dt.timedelta(days=n)


# ------------------------------------------------------------------------------------------ arithmetic
def test_surcharge_is_three_percent_of_the_fine_a_day_from_the_day_after_the_due_date():
    assert surcharge(Decimal(5000), DUE, DUE, []) == 0
    assert surcharge(Decimal(5000), DUE, days(1), []) == Decimal("150.00")
    assert surcharge(Decimal(5000), DUE, days(10), []) == Decimal("1500.00")


def test_surcharge_stops_at_the_fine_itself():
    assert surcharge(Decimal(5000), DUE, days(33), []) == Decimal("4950.00")
    assert surcharge(Decimal(5000), DUE, days(34), []) == Decimal("5000.00")  # 法 Art. 72: at most the fine
    assert surcharge(Decimal(5000), DUE, days(400), []) == Decimal("5000.00")
    assert balance(Decimal(5000), DUE, days(400), []) == Decimal("10000.00")


def test_a_payment_on_time_lowers_the_base_from_the_first_overdue_day():
    paid = [(dt.date(2026, 4, 10), Decimal(2000))]
    assert balance(Decimal(5000), DUE, DUE, paid) == Decimal("3000.00")
    assert surcharge(Decimal(5000), DUE, days(10), paid) == Decimal("900.00")  # 3 % × 3,000 × 10
    assert balance(Decimal(5000), DUE, days(10), paid) == Decimal("3900.00")


def test_a_late_payment_lowers_the_base_from_the_day_it_was_made():
    paid = [(days(5), Decimal(2000))]
    # days 1–4 on 5,000 (600), days 5–10 on 3,000 (540)
    assert surcharge(Decimal(5000), DUE, days(10), paid) == Decimal("1140.00")


def test_payments_beyond_the_fine_pay_the_surcharge():
    paid = [(days(10), Decimal("6500.00"))]
    assert surcharge(Decimal(5000), DUE, days(30), paid) == Decimal("1350.00")  # days 1–9 accrue
    assert balance(Decimal(5000), DUE, days(30), paid) == Decimal("0.00")


def test_no_surcharge_during_reconsideration_or_litigation():
    """法 Art. 73(3): 复议、诉讼期间加处罚款不予计算."""
    assert surcharge(Decimal(5000), DUE, days(10), [], excluded=[(days(3), days(8))]) == Decimal("600.00")
    assert surcharge(Decimal(5000), DUE, days(10), [], excluded=[(days(3), None)]) == Decimal("300.00")


def test_an_instalment_plan_accrues_only_on_the_overdue_instalments():
    plan = [(dt.date(2026, 5, 31), Decimal(2500)), (dt.date(2026, 6, 30), Decimal(2500))]
    assert surcharge(Decimal(5000), DUE, dt.date(2026, 5, 31), [], schedule=plan) == 0
    assert surcharge(Decimal(5000), DUE, dt.date(2026, 6, 2), [], schedule=plan) == Decimal("150.00")  # 2 × 75
    assert surcharge(Decimal(5000), DUE, dt.date(2026, 6, 2), [(dt.date(2026, 5, 30), Decimal(2500))],
                     schedule=plan) == 0


def test_periods_in_months_end_on_the_corresponding_day_or_the_last_of_the_month():
    assert add_months(dt.date(2026, 4, 2), 6) == dt.date(2026, 10, 2)
    assert add_months(dt.date(2026, 8, 31), 6) == dt.date(2027, 2, 28)
    assert add_months(dt.date(2027, 8, 31), 6) == dt.date(2028, 2, 29)
    assert add_months(dt.date(2026, 11, 30), 3) == dt.date(2027, 2, 28)


def test_service_takes_effect_on_the_receipt_or_thirty_days_after_publication():
    assert service_dates("direct", "2026-04-02") == {
        "effective_served_on": "2026-04-02", "reconsideration_until": "2026-06-01", "litigation_until": "2026-10-02"}
    assert service_dates("postal", "2026-04-02", postal_receipt_on="2026-04-07")["effective_served_on"] == "2026-04-07"
    assert service_dates("public_notice", "2026-04-03", public_notice_on="2026-04-03")["effective_served_on"] == "2026-05-03"
    with pytest.raises(InvalidInput, match="电子送达须经当事人同意"):
        service_dates("electronic", "2026-04-02", electronic_consent=False)
    with pytest.raises(InvalidInput, match="回执"):
        service_dates("postal", "2026-04-02")


def test_the_status_says_when_the_next_instalment_is_due():
    status = fine_execution(5000, "2026-04-17", [{"paid_on": "2026-04-10", "amount": 2000}],
                            [{"due_on": "2026-06-30", "amount": 3000}], litigation_until="2026-10-02", as_of="2026-05-10")
    assert status["due_on"] == "2026-06-30" and status["balance"] == 3000 and status["surcharge"] == 0
    assert status["period_from"] == "2026-06-15"  # the 15-day payment period counted from here ends on 06-30
    assert status["enforcement_apply_by"] == "2027-01-02" and status["periods_ended"] is False


def refusal(action: str, when: str = "2026-05-10", **kwargs) -> str:
    """The message check_execution refuses with (a fine of 5,000 due 04-17, 2,000 paid on 04-10)."""
    rows = kwargs.pop("payments", [{"paid_on": "2026-04-10", "amount": 2000}])
    status = fine_execution(5000, "2026-04-17", rows, litigation_until="2026-10-02", as_of=when)
    with pytest.raises(InvalidInput) as exc:
        check_execution(action, status, rows, kwargs.pop("recorded", []), when, **kwargs)
    return exc.value.message


def test_payment_step_entries_the_law_does_not_allow_are_refused_with_their_rule():
    assert "超过应缴" in refusal("record", payments=[{"paid_on": "2026-04-10", "amount": 9000}])
    assert "已送达催告书的，不再受理" in refusal("deferral", demand_served_on="2026-10-09")
    plan = [{"due_on": "2026-06-30", "amount": 1500}, {"due_on": "2026-07-31", "amount": 1500}]
    assert "暂缓缴纳只登记一个" in refusal("deferral", deferral_kind="deferred", proposed_schedule=plan)
    assert "分期缴纳至少登记两期" in refusal("deferral", deferral_kind="instalments", proposed_schedule=plan[:1])
    assert "必须晚于申请日期" in refusal("deferral", deferral_kind="instalments", deferral_applied_on="2026-07-01",
                                  proposed_schedule=plan)
    assert "审结日期不能早于申请日期" in refusal("remedy", remedy_filed_on="2026-05-01", remedy_concluded_on="2026-04-30")
    assert "无需催告" in refusal("demand", payments=[{"paid_on": "2026-04-10", "amount": 5000}])
    assert "已于 2026-10-09 送达" in refusal("demand", when="2026-10-12", demand_served_on="2026-10-09")
    assert check_execution("deferral", fine_execution(5000, "2026-04-17", [], as_of="2026-04-10"), [], [], "2026-04-10",
                           deferral_kind="instalments", deferral_applied_on="2026-04-10",
                           proposed_schedule=[{"due_on": "2026-06-30", "amount": 2500},
                                              {"due_on": "2026-07-31", "amount": 2500}]) is True


def test_closing_reasons_must_match_the_execution():
    unpaid = fine_execution(5000, "2026-04-17", [], as_of="2026-04-20")
    paid_up = fine_execution(5000, "2026-04-17", [{"paid_on": "2026-04-16", "amount": 5000}], as_of="2026-04-20")
    with pytest.raises(InvalidInput, match="终结执行的法定理由"):
        check_closing("terminated", unpaid)
    with pytest.raises(InvalidInput, match="本案作出了罚款决定"):
        check_closing("no_penalty", paid_up)
    assert check_closing("executed", paid_up) is True
    assert check_closing("terminated", unpaid, termination_ground="party_deceased") is True
    assert check_closing("enforcement", unpaid, enforcement_applied_on="2026-10-26") is True
    assert check_closing("no_penalty", None) is True  # no fine decided


# ------------------------------------------------------------------------------------------ the procedure
def paid(*rows: tuple[str, float]) -> dict:
    return {"execution_action": "record",
            "payments": [{"paid_on": on, "amount": amount, "method": "bank", "receipt_no": f"R{i}"}
                         for i, (on, amount) in enumerate(rows, 1)]}


def to_payment(run: Driver, fine: float = 5000, serve: dict | None = None) -> None:
    """An ordinary case decided with a fine and served: the payment step is open."""
    for name in ("a_handler1", "a_handler2", "a_head", "a_chief"):
        run.api(name)  # tokens held before the case starts
    to_report(run, fine)
    run.complete("notify_party", "a_handler1", notice(fine))
    run.complete("record_statement", "a_handler1", {**STATEMENT, "statement_adopted": "rejected"})
    run.complete("decide", "a_chief", decision(fine=fine))
    run.complete("issue_penalty_decision", "a_handler1", ISSUE)
    run.complete("serve_decision", "a_handler2", serve or SERVE)


def execution(run: Driver) -> dict:
    status, body = run.api("a_handler1").get(f"/cases/{run.case_id}")
    assert status == 200, body
    return body["execution"]


def refused(run: Driver, bpmn_id: str, username: str, data: dict) -> str:
    """Complete a task that must be refused; the refusal's message, nothing applied."""
    task_id = run.task(bpmn_id).id
    if run.mode == "engine":
        claim_task(user(username), task_id)
        with pytest.raises(InvalidInput) as exc:
            complete_task(user(username), task_id, data)
        message = exc.value.message
    else:
        client = run.api(username)
        assert client.post(f"/tasks/{task_id}/claim")[0] == 200
        status, body = client.post(f"/tasks/{task_id}/complete", {"data": data})
        assert status == 422, body
        message = body["message"]
    assert run.task(bpmn_id).id == task_id  # still open, unchanged
    return message


def test_a_partial_payment_leaves_the_fine_open_with_its_balance(run, app):
    to_payment(run)
    run.frozen.set(at("2026-04-10"))
    run.complete("record_payment", "a_handler1", paid(("2026-04-10", 2000)))
    assert run.ready() == ["record_payment"]  # the step comes back until the fine is paid
    state = execution(run)
    assert (state["fine"], state["paid"], state["balance"], state["surcharge"]) == (5000, 2000, 3000, 0)
    assert state["due_on"] == "2026-04-17" and state["stage"] == "payment" and not state["settled"]
    client = app.test_client()
    login(client, "a_handler1")
    page = client.get(f"/tasks/{run.task('record_payment').id}").get_data(as_text=True)
    assert "<strong>尚欠 3000.00 元</strong>" in page and 'value="2026-04-10"' in page  # the recorded row is shown
    run.frozen.set(at("2026-04-16"))
    run.complete("record_payment", "a_handler1", paid(("2026-04-10", 2000), ("2026-04-16", 3000)))
    assert run.ready() == ["close_case"]
    assert execution(run)["settled"] is True
    run.complete("close_case", "a_head", CLOSE)
    assert run.case.status == "closed"


def test_the_task_page_records_a_payment_row_and_ignores_the_blank_plan_row(run, app):
    """The officer's form: one payment row filled in, the deferral plan's blank row left as rendered."""
    to_payment(run)
    run.frozen.set(at("2026-04-10"))
    task_id = run.task("record_payment").id
    client = app.test_client()
    with app.app_context():  # a request's own g (Flask-WTF keeps the CSRF token there), as in a browser
        login(client, "a_handler1")
    with app.app_context():
        page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'name="proposed_schedule-0-due_on"' in page  # a blank row is rendered for the plan
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    version = page.split('name="version" value="')[1].split('"')[0]
    with app.app_context():
        response = client.post(f"/tasks/{task_id}", data={
            "csrf_token": token, "version": version, "execution_action": "record",
            "payments-0-paid_on": "2026-04-10", "payments-0-amount": "2,000.00", "payments-0-method": "bank",
            "payments-0-receipt_no": "", "proposed_schedule-0-due_on": "", "proposed_schedule-0-amount": ""})
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    assert run.ready() == ["record_payment"] and execution(run)["balance"] == 3000


def test_recorded_payments_cannot_be_changed(run):
    to_payment(run)
    run.frozen.set(at("2026-04-10"))
    run.complete("record_payment", "a_handler1", paid(("2026-04-10", 2000)))
    assert "只增不改" in refused(run, "record_payment", "a_handler1", paid(("2026-04-10", 200), ("2026-04-10", 1800)))
    assert "不能晚于今天" in refused(run, "record_payment", "a_handler1", paid(("2026-04-10", 2000), ("2026-04-30", 10)))


def test_ten_days_late_shows_1500_and_the_surcharge_stops_at_the_fine(run, app):
    to_payment(run)
    run.frozen.set(at("2026-04-27"))  # due 04-17: ten days late
    state = execution(run)
    assert (state["surcharge"], state["balance"], state["overdue_days"], state["stage"]) == (1500, 6500, 10, "overdue")
    run.frozen.set(at("2026-05-21"))  # the 34th day
    state = execution(run)
    assert (state["surcharge"], state["balance"], state["surcharge_capped"]) == (5000, 10000, True)
    client = app.test_client()
    login(client, "a_handler1")
    page = client.get(f"/cases/{run.case_id}").get_data(as_text=True)
    assert 'id="execution-surcharge">5,000.00' in page and 'id="execution-balance">10,000.00' in page


def test_a_deferral_approved_by_the_agency_head_moves_the_due_date(run):
    to_payment(run)
    run.frozen.set(at("2026-04-10"))
    application = {**paid(("2026-04-10", 2000)), "execution_action": "deferral", "deferral_kind": "deferred",
                   "deferral_applied_on": "2026-04-10", "deferral_reason": "经营困难",
                   "proposed_schedule": [{"due_on": "2026-06-30", "amount": 3000}]}
    wrong = {**application, "proposed_schedule": [{"due_on": "2026-06-30", "amount": 5000}]}
    assert "应等于尚未缴纳的罚款 3,000.00 元" in refused(run, "record_payment", "a_handler1", wrong)
    run.complete("record_payment", "a_handler1", application)
    assert run.ready() == ["approve_deferral"]
    assert run.task("approve_deferral").role == "agency_head"
    if run.mode == "engine":  # a handler may not approve it
        with pytest.raises(Forbidden):
            claim_task(user("a_handler1"), run.task("approve_deferral").id)
    else:
        assert run.api("a_handler1").post(f"/tasks/{run.task('approve_deferral').id}/claim")[0] == 403
    run.complete("approve_deferral", "a_chief",
                 {"deferral_decision": "approve", "deferral_opinion": "确有困难", "deferral_decided_on": "2026-04-13"})
    assert run.ready() == ["record_payment"]
    run.frozen.set(at("2026-05-10"))  # past the statutory date, within the approved one
    state = execution(run)
    assert (state["due_on"], state["surcharge"], state["balance"], state["stage"]) == ("2026-06-30", 0, 3000, "scheduled")
    # The payment step is due on the approved date (24:00), not 15 days after service.
    assert run.task("record_payment").due_at.astimezone(SH) == dt.datetime(2026, 7, 1, tzinfo=SH)
    run.frozen.set(at("2026-07-02"))
    assert execution(run)["surcharge"] == 180  # 3 % × 3,000 × 2 days after 06-30


def test_a_deferral_without_a_plan_is_refused_by_the_form(run):
    to_payment(run)
    message = refused(run, "record_payment", "a_handler1", {
        "execution_action": "deferral", "deferral_kind": "deferred", "deferral_applied_on": "2026-03-02",
        "deferral_reason": "经营困难", "proposed_schedule": []})
    assert "“申请的缴纳计划”至少需要 1 项" in message


def test_a_rejected_deferral_keeps_the_statutory_due_date(run):
    to_payment(run)
    run.complete("record_payment", "a_handler1", {
        "execution_action": "deferral", "deferral_kind": "instalments", "deferral_applied_on": "2026-04-03",
        "deferral_reason": "经营困难", "proposed_schedule": [{"due_on": "2026-05-31", "amount": 2500},
                                                             {"due_on": "2026-06-30", "amount": 2500}]})
    run.complete("approve_deferral", "a_chief",
                 {"deferral_decision": "reject", "deferral_opinion": "不符合条件", "deferral_decided_on": "2026-04-08"})
    assert run.ready() == ["record_payment"]
    run.frozen.set(at("2026-04-20"))
    assert execution(run)["due_on"] == "2026-04-17" and execution(run)["surcharge"] == 450


def test_unpaid_after_the_periods_demand_then_court_enforcement_then_closing(run):
    to_payment(run)
    demand = {"execution_action": "demand"}
    run.frozen.set(at("2026-05-20"))
    message = refused(run, "record_payment", "a_handler1", demand)
    assert "2026-10-02 届满" in message and "第五十三条" in message  # 6 months after service on 04-02
    run.frozen.set(at("2026-10-06"))
    run.complete("record_payment", "a_handler1", demand)
    assert run.ready() == ["serve_demand"]
    run.complete("serve_demand", "a_handler1", {"demand_issued_on": "2026-10-08", "demand_service_method": "direct",
                                                "demand_served_on": "2026-10-09", "demand_recipient": "张三"})
    assert run.ready() == ["await_demand"]
    [document] = [d for d in run.api("a_handler1").get(f"/cases/{run.case_id}")[1]["documents"] if d["type"] == "催告书"]
    assert document["number"].startswith("X市监催告〔2026〕")
    content = db.session.get(Document, document["id"]).content
    # 行政强制法 Art. 35: the amount as of the demand's date (the surcharge reached the fine), the period, the rights.
    assert "加处罚款人民币5,000元" in content and "尚欠罚款和加处罚款合计人民币10,000元（大写：壹万元整）" in content
    assert "自收到本催告书之日起十日内（至2026年10月22日）" in content and "陈述和申辩" in content
    run.tick(at("2026-10-22", 23))  # ten working days from Fri 10-09 (Sat 10-10 is a make-up working day)
    assert run.ready() == ["await_demand"]
    run.tick(dt.datetime(2026, 10, 23, 0, 0, 1, tzinfo=SH))
    assert run.ready() == ["apply_enforcement"]
    state = execution(run)
    assert state["enforcement_apply_by"] == "2027-01-02" and state["surcharge"] == 5000 and state["stage"] == "demand"
    run.complete("apply_enforcement", "a_handler1", {"enforcement_court": "某区人民法院", "enforcement_applied_on": "2026-10-26",
                                                     "enforcement_materials": "强制执行申请书、行政处罚决定书、催告书及送达回证"})
    message = refused(run, "close_case", "a_head", CLOSE)
    assert "罚款未缴清不能以“执行完毕”结案" in message and "尚欠 10,000.00 元" in message
    run.complete("close_case", "a_head", {**CLOSE, "closing_reason": "enforcement"})
    assert run.case.status == "closed"


def test_closing_is_refused_while_unpaid_and_allowed_on_a_recorded_ground(run):
    to_payment(run)
    run.complete("record_payment", "a_handler1", {"execution_action": "terminate", "termination_ground": "organization_terminated",
                                                  "execution_note": "当事人已注销，无财产可供执行"})
    assert run.ready() == ["close_case"]
    assert "尚欠 5,000.00 元" in refused(run, "close_case", "a_head", CLOSE)
    assert "尚未登记申请人民法院强制执行" in refused(run, "close_case", "a_head", {**CLOSE, "closing_reason": "enforcement"})
    run.complete("close_case", "a_head", {**CLOSE, "closing_reason": "terminated"})
    assert run.case.status == "closed"


def test_demand_is_refused_while_a_reconsideration_is_pending(run):
    to_payment(run)
    run.frozen.set(at("2026-04-20"))
    run.complete("record_payment", "a_handler1", {"execution_action": "remedy", "remedy_kind": "reconsideration",
                                                  "remedy_filed_on": "2026-04-20"})
    run.frozen.set(at("2026-10-06"))
    assert "尚未审结" in refused(run, "record_payment", "a_handler1", {"execution_action": "demand"})
    assert execution(run)["surcharge"] == 300  # 04-18 and 04-19 only (法 Art. 73(3))


def test_public_notice_is_served_thirty_days_after_publication_and_starts_the_payment_period(run):
    to_payment(run, serve={"service_method": "public_notice", "served_on": "2026-04-03", "public_notice_on": "2026-04-03"})
    state = execution(run)
    # Deemed served Sun 05-03; the 15th day after is Mon 05-18.
    assert (state["effective_served_on"], state["due_on"], state["litigation_until"]) == ("2026-05-03", "2026-05-18", "2026-11-03")
    assert run.task("record_payment").due_at.astimezone(SH) == dt.datetime(2026, 5, 19, tzinfo=SH)
    run.frozen.set(at("2026-05-18"))
    assert execution(run)["surcharge"] == 0


def test_postal_service_counts_from_the_date_on_the_receipt(run):
    postal = {"service_method": "postal", "served_on": "2026-04-02", "service_address": "某市某路1号"}
    for name in ("a_handler1", "a_handler2", "a_head", "a_chief"):
        run.api(name)
    to_report(run, 5000)
    run.complete("notify_party", "a_handler1", notice(5000))
    run.complete("record_statement", "a_handler1", {**STATEMENT, "statement_adopted": "rejected"})
    run.complete("decide", "a_chief", decision(fine=5000))
    run.complete("issue_penalty_decision", "a_handler1", ISSUE)
    assert "邮寄回执签收日期" in refused(run, "serve_decision", "a_handler2", postal)
    assert "不能早于寄出日期" in refused(run, "serve_decision", "a_handler2", {**postal, "postal_receipt_on": "2026-04-01"})
    run.complete("serve_decision", "a_handler2", {**postal, "postal_receipt_on": "2026-04-07"})
    state = execution(run)
    assert (state["effective_served_on"], state["due_on"]) == ("2026-04-07", "2026-04-22")


def test_electronic_service_is_refused_without_the_party_s_consent(run):
    electronic = {"service_method": "electronic", "served_on": "2026-04-02", "service_address": "party@example.cn"}
    for name in ("a_handler1", "a_handler2", "a_head", "a_chief"):
        run.api(name)
    to_report(run, 5000)
    run.complete("notify_party", "a_handler1", notice(5000))
    run.complete("record_statement", "a_handler1", {**STATEMENT, "statement_adopted": "rejected"})
    run.complete("decide", "a_chief", decision(fine=5000))
    run.complete("issue_penalty_decision", "a_handler1", ISSUE)
    message = refused(run, "serve_decision", "a_handler2", {**electronic, "electronic_consent": False})
    assert "电子送达必须经当事人同意" in message
    run.complete("serve_decision", "a_handler2", {**electronic, "electronic_consent": True})
    assert run.ready() == ["record_payment"] and execution(run)["effective_served_on"] == "2026-04-02"


def test_time_limits_added_in_a_new_version_reach_an_existing_database(ctx):
    """催告 and 强制执行 brought new keys: a database seeded before them gets them at its next start,
    and keeps the values its administrators set."""
    db.session.execute(delete(TimeLimit).where(TimeLimit.key.in_(["enforcement_demand", "enforcement_application"])))
    db.session.get(TimeLimit, "investigation").amount = 20
    db.session.commit()
    assert seed_reference_data() is True
    db.session.commit()
    limits = {t.key: t for t in db.session.scalars(select(TimeLimit))}
    assert (limits["enforcement_demand"].amount, limits["enforcement_demand"].unit) == (10, "working_days")
    assert limits["enforcement_application"].legal_basis == "《行政强制法》第五十三条"
    assert limits["investigation"].amount == 20
    assert seed_reference_data() is False  # nothing left to add
