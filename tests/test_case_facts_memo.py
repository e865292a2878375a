"""The case facts (designations, recusals) are read once per transaction, and never stale.

A completion checks the officer and then routes the next step: both read who is designated and who is
recused. The second read comes from a per-transaction memo (engine/policy/case_facts.py); these tests
show the memo is dropped by every way this transaction can change those rows.
"""

from __future__ import annotations

from sqlalchemy import event, select, update

from engine import clock
from engine.models import CaseOfficer, Recusal, db
from engine.policy.case_facts import DESIGNATED, case_facts
from engine.runtime import start_case
from tests.conftest import ROOT, deploy_dir, user
from tests.support.scenarios import COMPANY


def _case(ctx) -> int:
    deploy_dir(ROOT)
    return start_case(user("a_handler1"), "ordinary", COMPANY, {"violation": "未明码标价"}).id


def _reads() -> list[str]:
    seen: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


def test_a_second_check_in_the_transaction_reads_nothing(ctx, people, frozen):
    case_id = _case(ctx)
    case_facts([case_id])
    seen = _reads()
    assert case_facts([case_id]).handlers == {}
    assert not [s for s in seen if "case_officer" in s or "recusal" in s]
    db.session.commit()
    case_facts([case_id])  # a new transaction reads again
    assert [s for s in seen if "case_officer" in s]


def test_an_added_designation_is_seen_before_and_after_a_flush(ctx, people, frozen):
    case_id = _case(ctx)
    assert case_facts([case_id]).handler_order == {}
    one, two = user("a_handler1"), user("a_handler2")
    db.session.add(CaseOfficer(case_id=case_id, field=DESIGNATED, user_id=one.id, task_id="", designated_at=clock.now()))
    assert case_facts([case_id]).handler_order == {case_id: [one.id]}  # pending, not flushed
    db.session.add(CaseOfficer(case_id=case_id, field=DESIGNATED, user_id=two.id, task_id="", designated_at=clock.now()))
    db.session.flush()  # flushed by something else first: the memo must not survive it
    assert case_facts([case_id]).handler_order == {case_id: [one.id, two.id]}


def test_a_bulk_update_drops_the_memo(ctx, people, frozen):
    case_id = _case(ctx)
    one = user("a_handler1")
    db.session.add(CaseOfficer(case_id=case_id, field=DESIGNATED, user_id=one.id, task_id="", designated_at=clock.now()))
    assert case_facts([case_id]).handlers == {case_id: {one.id}}
    db.session.execute(update(CaseOfficer).where(CaseOfficer.case_id == case_id).values(ended_at=clock.now())
                       .execution_options(synchronize_session=False))
    assert case_facts([case_id]).handlers == {}


def test_a_granted_recusal_is_seen_at_once(ctx, people, frozen):
    case_id = _case(ctx)
    one = user("a_handler1")
    assert case_facts([case_id]).recused == {}
    db.session.add(Recusal(case_id=case_id, seq=1, officer_id=one.id, source="self", reason="亲属", requested_by="a_handler1",
                           requested_at=clock.now(), status="pending", collective=False))
    db.session.flush()
    assert case_facts([case_id]).recused == {}
    recusal = db.session.scalars(select(Recusal).where(Recusal.case_id == case_id)).one()
    recusal.status, recusal.document_number = "granted", "回避〔2026〕1号"  # dirty, not flushed
    assert case_facts([case_id]).recused == {(case_id, one.id): "回避〔2026〕1号"}
