"""号段: the on-the-spot decision's number comes from the officer's own block and is spent once, used
or voided; administrators hand out and withdraw blocks at /admin/form_numbers/ (法 Art. 52).

Every scenario runs by engine command and through the HTTP API (the ``run`` driver); the driver's
fixture gives a_handler1 the block 当场〔2026〕0001–0100.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.documents.numbering import allocate_range, withdraw_range
from engine.errors import Forbidden, InvalidInput
from engine.models import AuditEvent, Document, FormNumber, FormNumberRange, Task, db
from tests.conftest import user
from tests.support.driver import run  # noqa: F401  (the scenario fixture)
from tests.support.scenarios import CITIZEN, onspot
from tests.support.web import client_csrf as csrf
from tests.support.web import logged_in

NOT_HELD = "不在您领用的号段内，请使用本人号段内的编号或联系管理员分配号段"


def start(run) -> None:  # noqa: F811 - the fixture
    run.start("simplified", CITIZEN, {"violation": "占道经营", "penalty_kind": "fine", "proposed_fine": 100})


def decide(run, number: str, username: str = "a_handler1", **extra) -> tuple[int, dict]:  # noqa: F811
    return run.attempt("onspot_decision", username, onspot("fine", 100, decision_number=number, **extra))


def spent() -> list[tuple[str, str, int, str]]:
    db.session.remove()
    return [(n.number, n.status, n.case_id, n.reason) for n in db.session.scalars(select(FormNumber).order_by(FormNumber.id))]


def test_a_number_outside_the_officers_blocks_is_refused_and_nothing_is_applied(run):  # noqa: F811
    allocate_range(user("admin"), "a_handler2", "当场〔2026〕", "0101", "0200")  # someone else's block
    start(run)
    for number in ("当场〔2026〕0101", "当场〔2026〕0300", "其他〔2026〕0001", "0001"):
        status, body = decide(run, number)
        assert status == 422, number
        assert body["message"].startswith(f"决定书编号 {number} {NOT_HELD}")
        assert body["details"][0]["field"] == "decision_number"
    assert run.ready() == ["onspot_decision"] and spent() == []
    assert db.session.scalars(select(Document)).all() == []  # no 当场行政处罚决定书 issued on a refused number


def test_an_officer_without_a_block_cannot_decide_on_the_spot(run):  # noqa: F811
    start(run)
    status, body = decide(run, "当场〔2026〕0001", username="a_handler2", co_handlers=["a_handler1"])
    assert status == 422 and NOT_HELD in body["message"]


def test_a_used_number_is_refused_naming_the_case_that_used_it(run):  # noqa: F811
    start(run)
    assert decide(run, "当场〔2026〕0001")[0] == 200
    first_case = run.case.case_number
    assert spent() == [("当场〔2026〕0001", "used", run.case_id, "")]
    start(run)
    status, body = decide(run, "当场〔2026〕1")  # typed without the printed zeros: the same form
    assert status == 422
    assert body["message"].startswith(f"编号 当场〔2026〕0001 已使用（案件 {first_case}）")
    assert decide(run, "当场〔２０２６〕０００２")[0] == 200  # full-width digits are the printed number too
    assert [n for n, *_ in spent()] == ["当场〔2026〕0001", "当场〔2026〕0002"]


def test_voided_forms_are_recorded_with_the_case_and_can_never_be_used(run):  # noqa: F811
    start(run)
    voided = [{"number": "当场〔2026〕0001", "reason": "填写错误"}, {"number": "当场〔2026〕0002", "reason": "污损"}]
    assert decide(run, "当场〔2026〕0003", voided_forms=voided)[0] == 200
    case_id = run.case_id
    assert spent() == [("当场〔2026〕0003", "used", case_id, ""), ("当场〔2026〕0001", "voided", case_id, "填写错误"),
                       ("当场〔2026〕0002", "voided", case_id, "污损")]
    actions = [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id))]
    assert actions.count("form_number.used") == 1 and actions.count("form_number.voided") == 2
    start(run)
    status, body = decide(run, "当场〔2026〕0001")
    assert status == 422 and body["message"].startswith("编号 当场〔2026〕0001 已作废")
    status, body = decide(run, "当场〔2026〕0004", voided_forms=[{"number": "当场〔2026〕0003", "reason": "x"}])
    assert status == 422 and body["message"].startswith("编号 当场〔2026〕0003 已使用")
    assert body["details"][0]["field"] == "voided_forms.0.number"
    status, body = decide(run, "当场〔2026〕0004", voided_forms=[{"number": "当场〔2026〕0999", "reason": "x"}])
    assert status == 422 and body["message"].startswith(f"作废的决定书编号 当场〔2026〕0999 {NOT_HELD}")


def test_one_number_cannot_be_both_used_and_voided_in_one_decision(run):  # noqa: F811
    start(run)
    status, body = decide(run, "当场〔2026〕0005", voided_forms=[{"number": "当场〔2026〕0005", "reason": "x"}])
    assert status == 422 and "重复" in body["message"] and spent() == []


def test_a_withdrawn_block_can_no_longer_be_used_and_may_be_handed_out_again(run):  # noqa: F811
    block = db.session.scalars(select(FormNumberRange)).one()
    start(run)
    assert decide(run, "当场〔2026〕0001")[0] == 200
    withdraw_range(user("admin"), block.id, "调离执法岗位")
    start(run)
    status, body = decide(run, "当场〔2026〕0002")
    assert status == 422 and NOT_HELD in body["message"]
    allocate_range(user("admin"), "a_handler2", "当场〔2026〕", "0001", "0100", "转交")
    start(run)
    status, body = decide(run, "当场〔2026〕0001", username="a_handler2", co_handlers=["a_handler1"])
    assert status == 422 and "已使用" in body["message"]  # spent numbers stay spent
    assert decide(run, "当场〔2026〕0002", username="a_handler2", co_handlers=["a_handler1"])[0] == 200


def test_the_table_itself_refuses_a_number_spent_twice(ctx, people, mini, frozen):
    """The unique (prefix, serial) holds even if two completions pass their checks at the same moment."""
    from engine.runtime import start_case

    allocate_range(user("admin"), "a_handler1", "当场〔2026〕", "0001", "0010")
    block = db.session.scalars(select(FormNumberRange)).one()
    case = start_case(user("a_handler1"), "mini", CITIZEN, {"proposed_fine": 1})  # any case will do
    for status in ("used", "voided"):
        db.session.add(FormNumber(range_id=block.id, prefix=block.prefix, serial=7, number="当场〔2026〕0007",
                                  status=status, case_id=case.id, user_id=block.holder_id, reason="",
                                  recorded_at=case.opened_at))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_two_decisions_submitted_at_once_with_one_number_spend_it_once(app, people, frozen):
    """Four cases decided at the same moment on one number: one is decided, the others are told it was used."""
    from engine.runtime import complete_task, start_case
    from tests.conftest import ROOT, at_once, deploy_dir

    with app.app_context():
        deploy_dir(ROOT)
        allocate_range(user("admin"), "a_handler1", "当场〔2026〕", "0001", "0010")
        tasks = []
        for _ in range(4):
            case = start_case(user("a_handler1"), "simplified", CITIZEN,
                              {"violation": "占道经营", "penalty_kind": "fine", "proposed_fine": 100})
            tasks.append(db.session.scalars(select(Task.id).where(Task.case_id == case.id)).one())
        db.session.remove()

    def submit(i: int):  # noqa: ANN202
        me = user("a_handler1")
        data = {**onspot("fine", 100, decision_number="当场〔2026〕0001"), "co_handlers": ["a_handler2"]}
        return lambda: complete_task(me, tasks[i], data)

    outcomes = at_once(app, 4, submit, timeout=120)
    assert outcomes.count("ok") == 1, outcomes
    assert all(o.startswith("error:InvalidInput:编号 当场〔2026〕0001 已使用") for o in outcomes if o != "ok"), outcomes
    with app.app_context():
        assert len(spent()) == 1


# ------------------------------------------------------------------------------------------ administration
def test_blocks_are_refused_when_they_overlap_or_are_malformed(ctx, people, frozen):
    admin = user("admin")
    allocate_range(admin, "a_handler1", "X市监当罚", "0001", "0050")
    with pytest.raises(InvalidInput, match="重叠"):
        allocate_range(admin, "a_handler2", "X市监当罚", "0050", "0100")
    allocate_range(admin, "a_handler2", "X市监当罚", "0051", "0100")  # the next block is fine
    allocate_range(admin, "a_handler2", "Y市监当罚", "0001", "0050")  # so is another prefix
    for holder, prefix, first, last, problem in (
            ("a_handler1", "当罚2026", "1", "9", "不以数字结尾"),
            ("a_handler1", "当罚", "0100", "0001", "不能小于起始号"),
            ("a_handler1", "当罚", "1", "20000", "最多"),
            ("a_handler1", "当罚", "一", "9", "起始号须为数字"),
            ("designer", "当罚", "1", "9", "须为承办人"),
            ("nobody", "当罚", "1", "9", "不存在")):
        with pytest.raises(InvalidInput, match=problem):
            allocate_range(admin, holder, prefix, first, last)
    with pytest.raises(Forbidden):
        allocate_range(user("a_head"), "a_handler1", "Z当罚", "1", "9")


def test_administrator_allocates_a_block_on_the_admin_page_and_sees_its_numbers(app, people, frozen):
    assert logged_in(app, "a_head").get("/admin/form_numbers/").status_code == 403
    admin = logged_in(app, "admin")
    token = csrf(admin, "/admin/form_numbers/")
    form = {"holder": "a_handler1", "prefix": "X市监当罚", "first": "0001", "last": "0050", "note": "第1批", "csrf_token": token}
    assert admin.post("/admin/form_numbers/", data=form).status_code == 302
    page = admin.get("/admin/form_numbers/").get_data(as_text=True)
    assert "X市监当罚0001 – X市监当罚0050" in page and "a_handler1" in page and "第1批" in page
    r = admin.post("/admin/form_numbers/", data={**form, "holder": "a_handler2", "first": "0040", "last": "0060"})
    body = r.get_data(as_text=True)
    assert r.status_code == 422 and "重叠" in body and 'value="0040"' in body  # refused beside the form, input kept
    with app.app_context():
        block = db.session.scalars(select(FormNumberRange)).one()
        actions = [e.action for e in db.session.scalars(select(AuditEvent))]
        assert "form_numbers.allocated" in actions
    r = admin.post(f"/admin/form_numbers/{block.id}/withdraw", data={"reason": "", "csrf_token": token})
    assert r.status_code == 422 and "收回理由" in r.get_data(as_text=True)
    r = admin.post(f"/admin/form_numbers/{block.id}/withdraw", data={"reason": "调岗", "csrf_token": token})
    assert r.status_code == 302
    detail = admin.get(f"/admin/form_numbers/{block.id}").get_data(as_text=True)
    assert "已收回" in detail and "调岗" in detail
    assert admin.get("/admin/form_numbers/999").status_code == 404
