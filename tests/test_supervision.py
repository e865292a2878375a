"""The supervision dashboard: figures on a small known fixture, unit scope, CSV export, access."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid

import pytest
from sqlalchemy import select

from engine import clock
from engine.errors import Forbidden
from engine.models import Case, OrgUnit, Task, db
from engine.queries import supervision as sv
from engine.record import audit
from engine.runtime import start_case
from tests.conftest import PASSWORD, make_user, user

PARTY = {"party_type": "organization", "party_name": "某某餐饮有限公司"}
MARCH_1, MARCH_31 = dt.date(2026, 3, 1), dt.date(2026, 3, 31)
NOW = dt.datetime(2026, 3, 20, 10, 0, tzinfo=clock.SHANGHAI)


def at(day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, 0, tzinfo=clock.SHANGHAI)


def add_task(case: Case, process_id: str, bpmn_id: str, name: str, created: dt.datetime, completed: dt.datetime | None = None,
             due: dt.datetime | None = None, warn: dt.datetime | None = None) -> Task:
    """A projection row as the runtime writes it (the figures read only the projection)."""
    opened = db.session.scalars(select(Task).where(Task.case_id == case.id)).first()
    assert opened is not None
    task = Task(id=str(uuid.uuid4()), instance_id=opened.instance_id, case_id=case.id, process_id=process_id, bpmn_id=bpmn_id,
                name=name, role="handler", unit_id=case.unit_id, created_at=created, due_at=due, warn_at=warn,
                status="completed" if completed else "open", completed_at=completed)
    db.session.add(task)
    db.session.flush()
    return task


def review(case: Case, outcome: str, completed: dt.datetime) -> None:
    task = add_task(case, "legal_review", "review", "法制审核", completed - dt.timedelta(days=1), completed)
    audit.record("task.completed", "a_reviewer", {"task": "法制审核", "bpmn_id": "review", "data": {"review_outcome": outcome}},
                 case_id=case.id, task_id=task.id)


@pytest.fixture
def figures(app, people, mini, frozen):
    """unit_a: three open cases (one overdue, one near, one in time), ten completed 调查取证 steps of
    1..10 days against a 5-day limit, reviews 2 approved + 1 returned, two ordinary cases decided
    (one heard). unit_b: one open case, overdue, and one returned review."""
    with app.app_context():
        make_user("supervisor", "unit_a", ["supervisor"], ())
        frozen.set(at(2))
        a = [start_case(user("a_handler1"), "mini", PARTY, {"violation": "未按规定公示"}) for _ in range(3)]
        b = start_case(user("b_handler1"), "mini", {**PARTY, "party_name": "王五"}, {"violation": "无照经营"})
        deadlines = [(at(10), at(8)), (at(25), at(19)), (at(30), at(27))]  # overdue, near, normal at NOW
        for case, (due, warn) in zip(a, deadlines, strict=True):
            first = db.session.scalars(select(Task).where(Task.case_id == case.id)).one()
            first.due_at, first.warn_at = due, warn
        first_b = db.session.scalars(select(Task).where(Task.case_id == b.id)).one()
        first_b.due_at, first_b.warn_at = at(5), at(4)
        first_b.created_at = at(1)  # the longest-waiting case
        for days in range(1, 11):
            add_task(a[0], "ordinary", "investigate", "调查取证", at(3), at(3) + dt.timedelta(days=days), due=at(8))
        early = at(3) - dt.timedelta(days=40)
        add_task(a[0], "ordinary", "investigate", "调查取证", early, early + dt.timedelta(days=10))  # before the period
        review(a[0], "approve", at(10))
        review(a[1], "approve", at(11))
        review(a[1], "return", at(12))
        review(b, "return", at(12))
        for case in a[1:]:
            case.procedure, case.decided_at = "ordinary", at(15)
        add_task(a[2], "hearing", "conduct_hearing", "举行听证", at(12), at(13))
        db.session.commit()
        frozen.set(NOW)
        ids = {"a": [c.id for c in a], "b": b.id}
        db.session.remove()
    return ids


def march(username: str, unit: str | None = None) -> sv.Filters:
    unit_id = db.session.scalars(select(OrgUnit.id).where(OrgUnit.code == unit)).one() if unit else None
    return sv.make_filters(user(username), unit_id, MARCH_1, MARCH_31)


def test_open_cases_and_deadline_states_now(ctx, figures):
    f = march("supervisor")
    assert {(r.procedure, r.unit_name): r.count for r in sv.open_cases(f)} == {
        ("mini", "执法一科"): 1, ("ordinary", "执法一科"): 2, ("mini", "执法二科"): 1}
    by_unit = {r.unit_name: (r.open, r.near, r.overdue) for r in sv.deadlines_by_unit(f)}
    assert by_unit == {"执法一科": (3, 1, 1), "执法二科": (1, 0, 1)}
    late = sv.late_tasks(f)
    assert [(t.case_id, t.state) for t in late] == [(figures["b"], "overdue"), (figures["a"][0], "overdue"), (figures["a"][1], "near")]


def test_step_mean_p90_and_on_time_share_over_the_period(ctx, figures):
    [step] = [s for s in sv.step_durations(march("supervisor")) if s.bpmn_id == "investigate"]
    assert step.completed == 10  # the step finished in February is outside the period
    assert step.avg_days == 5.5
    assert step.p90_days == 9.0  # nearest rank: the 9th of 10 sorted durations
    assert step.limit_days == 5.0
    assert (step.on_time, step.with_limit, step.on_time_share) == (5, 10, 0.5)


def test_review_return_rate_and_hearing_rate(ctx, figures):
    reviews = sv.review_return_rate(march("supervisor", "unit_a"))
    assert (reviews.numerator, reviews.denominator) == (1, 3)
    everywhere = sv.review_return_rate(march("supervisor"))
    assert (everywhere.numerator, everywhere.denominator, everywhere.value) == (2, 4, 0.5)
    hearings = sv.hearing_rate(march("supervisor"))
    assert (hearings.numerator, hearings.denominator, hearings.value) == (1, 2, 0.5)
    assert "尚未部署" in hearings.note  # the mini bundle has no hearing procedure


def test_period_excludes_completions_outside_it(ctx, figures):
    f = sv.make_filters(user("supervisor"), None, dt.date(2026, 3, 13), dt.date(2026, 3, 31))
    [step] = [s for s in sv.step_durations(f) if s.bpmn_id == "investigate"]
    assert step.completed == 1 and step.avg_days == 10.0  # completed on the 13th: the last of the ten
    assert (sv.review_return_rate(f).denominator, sv.hearing_rate(f).denominator) == (0, 2)


def test_longest_waiting_case_first(ctx, figures):
    waiting = sv.longest_waiting(march("supervisor"))
    assert waiting[0].case_id == figures["b"] and waiting[0].task_name == "登记"
    assert waiting[0].waiting_days == 19.0


def test_agency_head_sees_only_their_unit(ctx, figures):
    f = march("a_chief")
    assert [u.code for u in sv.visible_units(user("a_chief"))] == ["unit_a"]
    assert {r.unit_name for r in sv.open_cases(f)} == {"执法一科"}
    assert sv.review_return_rate(f).denominator == 3
    unit_b = db.session.scalars(select(OrgUnit.id).where(OrgUnit.code == "unit_b")).one()
    with pytest.raises(Forbidden):
        sv.make_filters(user("a_chief"), unit_b)
    with pytest.raises(Forbidden):
        sv.make_filters(user("a_handler1"))


def login(client, username: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token}).status_code == 302


def test_dashboard_page_shows_figures_and_links_each_csv(app, figures):
    client = app.test_client()
    login(client, "supervisor")
    html = client.get("/supervision/?from=2026-03-01&to=2026-03-31").get_data(as_text=True)
    assert 'data-figure="open_cases">4<' in html and 'data-figure="overdue">2<' in html
    assert 'data-figure="review_return_rate">50.0%<' in html and 'data-figure="hearing_rate">50.0%<' in html
    for table in ("open_cases", "late_tasks", "steps", "waiting", "rates"):
        assert f'data-export="{table}"' in html
    assert "/supervision/data.json?" in html


def test_chart_data_has_a_point_per_label(app, figures):
    client = app.test_client()
    login(client, "supervisor")
    charts = client.get("/supervision/data.json?from=2026-03-01&to=2026-03-31").get_json()
    assert charts["deadlines"]["labels"] == ["执法一科", "执法二科"]
    assert [d["data"] for d in charts["deadlines"]["datasets"]] == [[1, 0], [1, 0], [1, 1]]
    assert charts["reviews"]["datasets"][0]["data"] == [2, 2]
    for chart in charts.values():
        assert all(len(d["data"]) == len(chart["labels"]) > 0 for d in chart["datasets"])


def test_csv_is_utf8_with_bom_and_scoped_by_unit(app, figures):
    client = app.test_client()
    login(client, "supervisor")
    with app.app_context():
        unit_a = db.session.scalars(select(OrgUnit.id).where(OrgUnit.code == "unit_a")).one()
    r = client.get(f"/supervision/export/steps.csv?unit={unit_a}&from=2026-03-01&to=2026-03-31")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    body = r.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:3] == ["程序", "环节", "完成数"]
    assert ["普通程序", "调查取证", "10", "5.5", "9.0", "5.0", "50.0%"] in rows
    late = list(csv.reader(io.StringIO(client.get(f"/supervision/export/late_tasks.csv?unit={unit_a}").get_data().decode("utf-8-sig"))))
    assert len(late) == 1 + 2 and all(row[2] == "执法一科" for row in late[1:])


def test_officers_get_403_and_agency_heads_cannot_pick_another_unit(app, figures):
    client = app.test_client()
    login(client, "a_handler1")
    for path in ("/supervision/", "/supervision/data.json", "/supervision/export/steps.csv"):
        assert client.get(path).status_code == 403
    assert "/supervision/" not in client.get("/").get_data(as_text=True)
    head = app.test_client()
    login(head, "a_chief")
    assert head.get("/supervision/").status_code == 200
    with app.app_context():
        unit_b = db.session.scalars(select(OrgUnit.id).where(OrgUnit.code == "unit_b")).one()
    assert head.get(f"/supervision/?unit={unit_b}").status_code == 403
    assert head.get("/supervision/?from=2026-13-01").status_code == 422  # InvalidInput
    assert app.test_client().get("/supervision/").status_code == 302  # anonymous: to the login page


@pytest.mark.parametrize("party", ['=HYPERLINK("http://evil","x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)"])
def test_csv_neutralises_a_party_name_that_is_a_formula(app, api, mini, party):
    """OWASP CSV injection: a party registered through the API with a formula for a name reaches the
    export as text (a leading '), while the numeric columns stay numbers."""
    with app.app_context():
        make_user("supervisor", "unit_a", ["supervisor"], ())
    status, body = api("a_handler1").post("/cases", {"procedure": "mini", "party": {"party_type": "citizen", "party_name": party}})
    assert status == 201, body
    client = app.test_client()
    login(client, "supervisor")
    rows = list(csv.reader(io.StringIO(client.get("/supervision/export/waiting.csv").get_data().decode("utf-8-sig"))))
    header, [row] = rows[0], rows[1:]
    assert row[header.index("当事人")] == "'" + party
    assert not row[header.index("已等待（天）")].startswith("'")
    from webui.supervision import csv_cell

    assert [csv_cell(v) for v in (-1.5, -3, 0, None, "-3", "\tx", "\r=1", "张三")] == [-1.5, -3, 0, None, "'-3", "'\tx", "'\r=1", "张三"]
