"""Demo cases in different states, worked through the same commands officers use."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from engine import clock
from engine.deadlines.limits import Deadlines
from engine.documents.numbering import allocate_range
from engine.models import Case, Task, User, db
from engine.runtime import claim_task, complete_task, start_case

# The parties with what their documents are served with (engine/runtime/party.py); numbers with valid check characters.
PARTIES: dict[str, dict[str, object]] = {
    "张三": {"party_type": "citizen", "party_name": "张三", "party_id_type": "居民身份证", "party_id_number": "110101199001011237",
           "party_address": "X市东城区和平里东街12号院3号楼502室", "party_phone": "13800138000"},
    "李四": {"party_type": "citizen", "party_name": "李四", "party_id_type": "居民身份证", "party_id_number": "110105198507153217",
           "party_address": "X市朝阳区光华路8号", "party_phone": "13900139000", "e_service_consent": True,
           "e_service_address": "lisi@example.com"},
    "王五": {"party_type": "citizen", "party_name": "王五", "party_id_type": "居民身份证", "party_id_number": "110108197912304415",
           "party_address": "X市海淀区中关村大街27号"},
    "某某餐饮管理有限公司": {"party_type": "organization", "party_name": "某某餐饮管理有限公司", "party_credit_code": "91110101MA01ABCD19",
                     "party_address": "X市东城区东直门内大街5号", "party_legal_rep": "赵六", "party_contact": "钱七 13700137000"},
    "某某超市有限公司": {"party_type": "organization", "party_name": "某某超市有限公司", "party_credit_code": "91110105MA02EFGH2F",
                   "party_address": "X市朝阳区建国路88号", "party_legal_rep": "孙八", "party_contact": "周九 13600136000",
                   "e_service_consent": True, "e_service_address": "legal@example.com"},
    "某某便利店": {"party_type": "organization", "party_name": "某某便利店", "party_credit_code": "91110108MA03JKLM37",
              "party_address": "X市海淀区学院路15号", "party_legal_rep": "吴十"},
}


def load_demo_cases() -> None:
    if db.session.scalars(select(Case.id).limit(1)).first() is not None:
        return
    handler = _user("a_handler1")
    today = clock.today_shanghai().isoformat()
    _number_ranges()
    # 1. 简易程序, waiting for the on-the-spot decision.
    start_case(handler, "simplified", PARTIES["张三"],
               {"violation": "占道经营", "penalty_kind": "fine", "proposed_fine": 100})
    # 2. 简易程序 refused: the fine is over the threshold, so the case ends at once (转普通程序).
    start_case(handler, "simplified", PARTIES["李四"],
               {"violation": "销售过期食品", "penalty_kind": "fine", "proposed_fine": 5000})
    # 3. 普通程序 at its first step.
    start_case(handler, "ordinary", PARTIES["某某餐饮管理有限公司"],
               {"violation": "未按规定公示食品经营许可证", "penalty_kind": "fine", "proposed_fine": 20000})
    # 4. 普通程序 whose lead was registered: waiting for the unit head's filing decision.
    case = start_case(handler, "ordinary", PARTIES["某某超市有限公司"],
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
    start_case(_user("b_handler1"), "ordinary", PARTIES["王五"],
               {"violation": "无照经营", "penalty_kind": "fine", "proposed_fine": 8000})
    _commitment_case(today)


def _commitment_case(today: str) -> None:
    """6. 告知承诺制: the party signed the commitment and is rectifying (timer at the deadline)."""
    case = start_case(_user("a_handler1"), "commitment_notice", PARTIES["某某便利店"],
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
