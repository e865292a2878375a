"""Case search benchmark: p95 of one case-list query with 100,000 cases (target ≤ 50 ms).

    .venv/bin/python bench/search.py [--cases 100000] [--repeat 40] [--database-url URL]

Four units of 25,000 cases each (bulk Core inserts; the search projection is then built with the
same ``rebuild`` the commit hook uses). Party names are generated Chinese personal and company
names, so 2-character given names recur across thousands of cases, as in a real city. Each query
kind below is run ``--repeat`` times with varied terms through ``search_cases`` (the function the
/cases page and GET /api/v1/cases call): the time is the whole query (page of 25 + capped count).
Exit status 1 when the overall p95 is over the target.

Default database: a SQLite file in a temporary directory. With ``--database-url`` a PostgreSQL
database is emptied first (DROP SCHEMA public CASCADE): use a throwaway one, created with a UTF-8
locale (pg_trgm treats Chinese characters as word characters only under one).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("ZHIFA_PASSWORD_HASH_METHOD", "pbkdf2:sha256:1000")

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import insert, select, text  # noqa: E402

from engine import clock  # noqa: E402
from engine.admin.users import create_user, ensure_roles, ensure_unit  # noqa: E402
from engine.models import Case, CaseSearch, User, db  # noqa: E402
from engine.models.search import rebuild  # noqa: E402
from engine.queries.case_search import search_cases  # noqa: E402
from webui import create_app  # noqa: E402

TARGET_MS = 50.0
UNITS = 4
CHUNK = 2000
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
            "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = ["建国", "建华", "国强", "志强", "秀英", "桂英", "丽娟", "海燕", "明", "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军",
         "洋", "勇", "艳", "杰", "娟", "涛", "超", "明辉", "晓东", "春梅", "文华", "玉兰", "德胜", "子涵", "欣怡", "浩然", "宇轩"]
TRADES = ["食品", "餐饮管理", "商贸", "超市", "药房", "建材", "电子", "服装", "物流", "文化传媒", "汽车维修", "美容美发"]
PLACES = ["华丰", "鑫源", "城东", "城西", "永安", "金桥", "新华", "恒通", "瑞丰", "长江", "东方", "万家"]
VIOLATIONS = ["未明码标价", "销售过期食品", "无照经营", "虚假宣传", "未按规定公示营业执照", "使用不合格计量器具", "销售假冒注册商标商品",
              "未建立进货查验记录", "超范围经营", "价格欺诈", "未取得食品经营许可从事食品经营", "侵犯消费者权益"]
STATUSES = ["open"] * 6 + ["closed"] * 3 + ["suspended", "terminated"]
PROCEDURES = ["ordinary"] * 5 + ["simplified"] * 3 + ["commitment_notice"]
START = dt.datetime(2025, 1, 1, 9, 0, tzinfo=clock.SHANGHAI)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="zhifa-bench-search-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    try:
        rows, generate_s = run(url, args.cases, args.repeat)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    dialect = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(f"case search, {args.cases:,} cases in {UNITS} units, {dialect} (generated in {generate_s:.0f} s)")
    print(f"{'query':44} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'hits (median)':>14}")
    every: list[float] = []
    for label, times, hits in rows:
        every += times
        print(f"{label:44} {_pct(times, 50):8.1f} {_pct(times, 95):8.1f} {max(times):8.1f} {statistics.median(hits):14.0f}")
    p95 = _pct(every, 95)
    print(f"overall p95: {p95:.1f} ms (target ≤ {TARGET_MS:.0f} ms): {'OK' if p95 <= TARGET_MS else 'OVER TARGET'}")
    sys.exit(0 if p95 <= TARGET_MS else 1)


def run(url: str, n_cases: int, repeat: int) -> tuple[list[tuple[str, list[float], list[int]]], float]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    if url.startswith("postgres"):
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    rng = random.Random(17)
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        ensure_roles()
        t0 = time.perf_counter()
        people = make_people()
        fill(people, n_cases, rng)
        db.session.commit()
        if url.startswith("postgres"):  # what autovacuum does for a table this size: visibility map and statistics
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        else:
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        generate_s = time.perf_counter() - t0
        head, officer, supervisor = (db.session.scalars(select(User).where(User.username == n)).one()
                                     for n in ("u0_head", "u0_h0", "sup"))
        kinds = [
            ("unit head, no query (page 1)", head, lambda: {}),
            ("unit head, 2-char given name", head, lambda: {"q": rng.choice([g for g in GIVEN if len(g) == 2])}),
            ("unit head, 3+ chars of a company name", head, lambda: {"q": rng.choice(PLACES) + rng.choice(TRADES)[:1]}),
            ("unit head, full person name", head, lambda: {"q": rng.choice(SURNAMES) + rng.choice(GIVEN)}),
            ("unit head, case number", head, lambda: {"q": f"案〔2025〕{rng.randrange(1, n_cases)}号"}),
            ("unit head, violation + status + dates", head,
             lambda: {"q": rng.choice(VIOLATIONS)[:3], "status": "closed",
                      "opened_from": dt.date(2025, 3, 1), "opened_to": dt.date(2025, 9, 30)}),
            ("unit head, page 40", head, lambda: {"page": 40}),
            ("officer, 我参与的案件, 2-char", officer, lambda: {"q": rng.choice([g for g in GIVEN if len(g) == 2])}),
            ("supervisor, all units, 2-char", supervisor, lambda: {"q": rng.choice([g for g in GIVEN if len(g) == 2])}),
            ("supervisor, all units, 1 char", supervisor, lambda: {"q": rng.choice(SURNAMES)}),
        ]
        rows = []
        for label, user, params in kinds:
            for _ in range(3):
                search_cases(user, **params())  # warm-up
            times, hits = [], []
            for _ in range(repeat):
                p = params()
                t = time.perf_counter()
                page = search_cases(user, **p)
                times.append((time.perf_counter() - t) * 1000)
                hits.append(page.total)
            rows.append((label, times, hits))
        db.session.remove()
        db.engine.dispose()
    return rows, generate_s


def make_people() -> dict[str, Any]:
    people: dict[str, Any] = {"units": []}
    for u in range(UNITS):
        unit = ensure_unit(f"u{u}", f"执法{u + 1}科", "X市监")
        handlers = [create_user(f"u{u}_h{i}", unit.code, ["handler"], "bench-pass-2026", display_name=f"执法员{u}{i}")[0].id
                    for i in range(12)]
        create_user(f"u{u}_head", unit.code, ["unit_head", "handler"], "bench-pass-2026", display_name=f"科长{u}")
        people["units"].append((unit.id, handlers))
    create_user("sup", "u0", ["supervisor"], "bench-pass-2026", display_name="监督员")
    db.session.commit()
    return people


def fill(people: dict[str, Any], n: int, rng: random.Random) -> None:
    cases = Case.__table__
    next_id = 1
    for start in range(0, n, CHUNK):
        rows = []
        for i in range(start, min(n, start + CHUNK)):
            unit_id, handlers = people["units"][i % UNITS]
            person = rng.random() < 0.5
            party = (rng.choice(SURNAMES) + rng.choice(GIVEN) if person
                     else f"{rng.choice(PLACES)}{rng.choice(TRADES)}有限公司")
            rows.append(dict(id=next_id, case_number=f"X市监案〔2025〕{i + 1}号", procedure=rng.choice(PROCEDURES), unit_id=unit_id,
                             party_type="citizen" if person else "organization", party_name=party, party_id_masked="",
                             facts={"violation": rng.choice(VIOLATIONS)}, status=rng.choice(STATUSES),
                             opened_at=START + dt.timedelta(minutes=5 * i), opened_by=rng.choice(handlers),
                             paused_days=0, extension_days=0, extensions=0, clock_provisional=False))
            next_id += 1
        db.session.execute(insert(cases), rows)
        rebuild(db.session.connection(), [r["id"] for r in rows])
        db.session.commit()
    assert db.session.scalar(select(text("count(*)")).select_from(CaseSearch.__table__)) == n


def _pct(values: list[float], pct: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


if __name__ == "__main__":
    main()
