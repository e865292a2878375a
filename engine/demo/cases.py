"""Demo cases in different states, worked through the same commands officers use."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from engine import clock
from engine.deadlines.limits import Deadlines
from engine.documents.numbering import allocate_range
from engine.models import Case, Task, User, db
from engine.runtime import claim_task, complete_task, start_case


def load_demo_cases() -> None:
    if db.session.scalars(select(Case.id).limit(1)).first() is not None:
        return
    handler = _user("a_handler1")
    today = clock.today_shanghai().isoformat()
    _number_ranges()
    # 1. 简易程序, waiting for the on-the-spot decision.
    start_case(handler, "simplified", {"party_type": "citizen", "party_name": "张三", "party_id_number": "110101199001011234"},
               {"violation": "占道经营", "penalty_kind": "fine", "proposed_fine": 100})
    # 2. 简易程序 refused: the fine is over the threshold, so the case ends at once (转普通程序).
    start_case(handler, "simplified", {"party_type": "citizen", "party_name": "李四"},
               {"violation": "销售过期食品", "penalty_kind": "fine", "proposed_fine": 5000})
    # 3. 普通程序 at its first step.
    start_case(handler, "ordinary", {"party_type": "organization", "party_name": "某某餐饮管理有限公司"},
               {"violation": "未按规定公示食品经营许可证", "penalty_kind": "fine", "proposed_fine": 20000})
    # 4. 普通程序 whose lead was registered: waiting for the unit head's filing decision.
    case = start_case(handler, "ordinary", {"party_type": "organization", "party_name": "某某超市有限公司"},
                      {"violation": "销售不符合食品安全标准的食品", "penalty_kind": "fine", "proposed_fine": 150000})
    task = _open_task(case.id)
    claim_task(handler, task.id)
    complete_task(handler, task.id, {
        "lead_source": "inspection", "lead_received_on": today,
        "lead_summary": "日常检查发现货架上有超过保质期的预包装食品。",
        "verification_findings": "现场核查属实，涉及12件商品。",
        "filing_recommendation": "file", "recommendation_reason": "有违法事实，需要给予行政处罚。",
    })
    # 5. A case in the second unit (invisible to the first).
    start_case(_user("b_handler1"), "ordinary", {"party_type": "citizen", "party_name": "王五"},
               {"violation": "无照经营", "penalty_kind": "fine", "proposed_fine": 8000})
    _commitment_case(today)


def _commitment_case(today: str) -> None:
    """6. 告知承诺制: the party signed the commitment and is rectifying (timer at the deadline)."""
    case = start_case(_user("a_handler1"), "commitment_notice", {"party_type": "organization", "party_name": "某某便利店"},
                      {"violation": "未在经营场所显著位置公示营业执照"})
    _work(case.id, "a_handler1", {
        "violation_found_on": today, "violation_description": "营业执照未在显著位置公示。", "on_commitment_list": True,
        "first_offence": True, "minor_harm": True, "correctable": True})
    _work(case.id, "a_handler1", {
        "commitment_notified_on": today, "rectification_required": "在经营场所显著位置公示营业执照。",
        "party_decision": "commit", "commitment_signed_on": today, "rectification_deadline": _last_day(today)})


def _number_ranges() -> None:
    """号段: each handler holds a block of pre-numbered on-the-spot decision forms (法 Art. 52)."""
    admin = _user("admin")
    for i, username in enumerate(("a_handler1", "a_handler2", "a_head", "b_handler1", "b_handler2", "b_head")):
        allocate_range(admin, username, "X市监当罚", f"{i * 50 + 1:04d}", f"{i * 50 + 50:04d}", "演示号段")


def _last_day(notified_on: str) -> str:
    """The latest rectification deadline the registry's limit allows from the notice date."""
    end = Deadlines().deadline("commitment_rectification", notified_on) - dt.timedelta(microseconds=1)
    return end.astimezone(clock.SHANGHAI).date().isoformat()


def _work(case_id: int, username: str, data: dict) -> None:
    actor = _user(username)
    task = _open_task(case_id)
    claim_task(actor, task.id)
    complete_task(actor, task.id, data)


def _user(username: str) -> User:
    return db.session.scalars(select(User).where(User.username == username)).one()


def _open_task(case_id: int) -> Task:
    return db.session.scalars(select(Task).where(Task.case_id == case_id, Task.status == "open")).first()  # type: ignore[return-value]
