"""案件列表 and its search (issue 17): scope per role, substring search in Chinese, filters, pages."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select, text

from engine import clock
from engine.errors import InvalidInput
from engine.models import Case, CaseOfficer, CaseSearch, OrgUnit, db
from engine.models.search import catch_up
from engine.queries.case_search import matching, search_cases
from tests.conftest import PASSWORD, make_user, user

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=clock.SHANGHAI)


def add_case(number: str, party: str, unit: str = "unit_a", violation: str = "未明码标价", status: str = "open",
             procedure: str = "ordinary", opened: dt.datetime = START, opened_by: str | None = None) -> int:
    unit_id = db.session.scalars(select(OrgUnit.id).where(OrgUnit.code == unit)).one()
    case = Case(case_number=number, procedure=procedure, unit_id=unit_id, party_type="citizen", party_name=party,
                party_id_masked="", facts={"violation": violation}, status=status, opened_at=opened,
                opened_by=user(opened_by).id if opened_by else None, paused_days=0, extension_days=0, extensions=0)
    db.session.add(case)
    db.session.commit()
    return case.id


def numbers(page) -> list[str]:
    return [c.case_number for c in page.items]


@pytest.fixture
def cases(app, people):
    with app.app_context():
        make_user("sup", "unit_b", ["supervisor"], ())
        ids = {
            "zhang": add_case("X案〔2026〕1号", "张三丰", violation="无照经营", opened_by="a_handler1"),
            "li": add_case("X案〔2026〕2号", "李四", violation="虚假宣传", opened=START + dt.timedelta(days=1)),
            "shop": add_case("X案〔2026〕3号", "某某食品有限公司", violation="销售过期食品", status="closed",
                             procedure="simplified", opened=START + dt.timedelta(days=2)),
            "other_unit": add_case("X案〔2026〕4号", "张三", unit="unit_b", opened=START + dt.timedelta(days=3)),
        }
        yield ids


def test_a_two_character_substring_of_a_chinese_name_is_found(cases):
    assert numbers(search_cases(user("a_head"), q="三丰")) == ["X案〔2026〕1号"]
    assert numbers(search_cases(user("a_head"), q="张三")) == ["X案〔2026〕1号"]  # the other 张三 is another unit's
    assert numbers(search_cases(user("sup"), q="张三")) == ["X案〔2026〕4号", "X案〔2026〕1号"]
    assert numbers(search_cases(user("a_head"), q="张三丰")) == ["X案〔2026〕1号"]  # 3+ characters: trigrams
    assert numbers(search_cases(user("a_head"), q="丰")) == ["X案〔2026〕1号"]  # one character still matches
    assert numbers(search_cases(user("a_head"), q="三李")) == []  # not a substring of anything


def test_the_query_is_answered_by_an_index(cases):
    """SQLite: 2 characters from the gram index, 3+ from the trigram index. PostgreSQL: the pg_trgm GIN index."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL enable_seqscan = off"))  # a 4-row table would be scanned anyway

        def plan_of(q: str) -> str:
            compiled = matching(user("sup"), "all", q=q).compile(db.engine)
            return " ".join(row[0] for row in db.session.connection().exec_driver_sql(f"EXPLAIN {compiled}", compiled.params))

        plan = plan_of("张三丰")
        assert "ix_case_search_text_trgm" in plan or "ix_case_search_grams" in plan, plan
        assert "ix_case_search_grams" in plan_of("张三")
        return
    query = matching(user("a_head"), "unit", q="张三")
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    plan = " ".join(str(row[-1]) for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "case_search_grams VIRTUAL TABLE INDEX" in plan, plan
    compiled = matching(user("a_head"), "unit", q="张三丰").compile(db.engine, compile_kwargs={"literal_binds": True})
    plan = " ".join(str(row[-1]) for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "case_search_fts VIRTUAL TABLE INDEX" in plan, plan


def test_search_by_case_number_violation_and_officer(cases):
    head = user("a_head")
    assert numbers(search_cases(head, q="〔2026〕2号")) == ["X案〔2026〕2号"]
    assert numbers(search_cases(head, q="宣传")) == ["X案〔2026〕2号"]  # 案由 / violation, 2 characters
    assert numbers(search_cases(head, q="过期食品")) == ["X案〔2026〕3号"]
    db.session.add(CaseOfficer(case_id=cases["li"], field="assigned_handlers", user_id=user("a_handler2").id, task_id="",
                               designated_at=START))
    db.session.commit()  # the projection follows the designation in the same transaction
    assert numbers(search_cases(head, q="a_handler2")) == ["X案〔2026〕2号"]
    assert numbers(search_cases(head, q="HANDLER2")) == ["X案〔2026〕2号"]  # case-insensitive


def test_each_role_sees_its_list(cases):
    assert numbers(search_cases(user("a_head"))) == ["X案〔2026〕3号", "X案〔2026〕2号", "X案〔2026〕1号"]  # 本单位案件
    assert numbers(search_cases(user("a_handler1"))) == ["X案〔2026〕1号"]  # 我参与的案件: registered it
    assert numbers(search_cases(user("a_handler2"))) == []
    assert numbers(search_cases(user("a_handler2"), scope="unit")) == ["X案〔2026〕3号", "X案〔2026〕2号", "X案〔2026〕1号"]
    # Asking for more than the role allows gives what it allows, never another unit's cases.
    assert numbers(search_cases(user("a_handler1"), scope="all")) == ["X案〔2026〕1号"]
    assert numbers(search_cases(user("b_handler1"), scope="unit")) == ["X案〔2026〕4号"]
    assert search_cases(user("sup")).total == 4  # supervisors: all cases
    with pytest.raises(InvalidInput, match="未知的范围"):
        search_cases(user("a_head"), scope="everything")


def test_filters_by_procedure_status_and_local_dates(cases):
    head = user("a_head")
    assert numbers(search_cases(head, procedure="simplified")) == ["X案〔2026〕3号"]
    assert numbers(search_cases(head, status="closed")) == ["X案〔2026〕3号"]
    assert numbers(search_cases(head, status="open", procedure="ordinary")) == ["X案〔2026〕2号", "X案〔2026〕1号"]
    day = START.date() + dt.timedelta(days=1)
    assert numbers(search_cases(head, opened_from=day, opened_to=day)) == ["X案〔2026〕2号"]
    # A case registered at 07:00 Shanghai time (23:00 UTC the day before) belongs to its Shanghai date.
    early = add_case("X案〔2026〕5号", "王五", opened=dt.datetime(2026, 3, 10, 7, 0, tzinfo=clock.SHANGHAI))
    assert early and numbers(search_cases(head, opened_from=dt.date(2026, 3, 10))) == ["X案〔2026〕5号"]
    with pytest.raises(InvalidInput, match="起始日期晚于截止日期"):
        search_cases(head, opened_from=day, opened_to=START.date())
    with pytest.raises(InvalidInput, match="未知的案件状态"):
        search_cases(head, status="archived")


def test_pages_of_25_newest_first(app, people):
    with app.app_context():
        for i in range(30):
            add_case(f"X案〔2026〕{100 + i}号", f"当事人{i}", opened=START + dt.timedelta(hours=i))
        first = search_cases(user("a_head"))
        assert first.total == 30 and len(first.items) == 25 and first.has_next
        assert first.items[0].case_number == "X案〔2026〕129号"
        second = search_cases(user("a_head"), page=2)
        assert numbers(second) == [f"X案〔2026〕{100 + i}号" for i in range(4, -1, -1)] and not second.has_next
        with pytest.raises(InvalidInput):
            search_cases(user("a_head"), per_page=500)


def test_the_projection_changes_with_the_case_and_not_without_its_commit(cases):
    case = db.session.get(Case, cases["li"])
    case.status = "closed"
    db.session.rollback()
    catch_up()  # the pending rows of the cases the fixture started: built before any search reads them
    assert db.session.get(CaseSearch, cases["li"]).status == "open"
    case = db.session.get(Case, cases["li"])
    case.status, case.party_name = "closed", "李四光"
    db.session.commit()
    assert numbers(search_cases(user("a_head"), q="四光", status="closed")) == ["X案〔2026〕2号"]


def test_the_case_list_page(app, cases):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/login", data={"username": "a_head", "password": PASSWORD, "csrf_token": token}).status_code == 302
    body = client.get("/cases").get_data(as_text=True)
    assert re.search(r'class="nav-link active" data-scope="unit"\s+aria-current="page"', body)
    assert "本单位案件" in body and "我参与的案件" in body
    assert "X案〔2026〕1号" in body and "X案〔2026〕4号" not in body
    body = client.get("/cases", query_string={"q": "张三", "status": "open"}).get_data(as_text=True)
    assert "张三丰" in body and "李四" not in body
    response = client.get("/cases", query_string={"from": "2026-03-05", "to": "2026-03-01"})
    assert response.status_code == 422 and "起始日期晚于截止日期" in response.get_data(as_text=True)


def test_a_search_page_past_the_end_still_counts_and_a_page_counts_every_match(cases):
    """PostgreSQL reads a text search's page and total in one statement (engine/queries/case_search.py
    ``_matched_page``); a page past the last still says how many match, on both databases."""
    head = user("a_head")
    first = search_cases(head, q="2026", per_page=1)
    assert first.total == 3 and first.has_next and len(first.items) == 1
    assert numbers(search_cases(head, q="2026", per_page=1, page=3)) == ["X案〔2026〕1号"]
    beyond = search_cases(head, q="2026", per_page=1, page=9)
    assert beyond.items == [] and beyond.total == 3 and not beyond.has_next
