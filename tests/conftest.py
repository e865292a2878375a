"""Fixtures: one migrated database per run (SQLite, or PostgreSQL via ZHIFA_TEST_DATABASE_URL),
emptied after each test; a frozen clock; users of two units; one-line API clients per role."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import text

from engine import clock
from engine.admin.agencies import ensure_agency
from engine.admin.users import create_user, ensure_roles, ensure_unit, issue_token
from engine.db.caches import clear_all as clear_engine_caches
from engine.deadlines.limits import seed_reference_data
from engine.definitions import Bundle, deploy_bundle
from engine.models import Credential, User, db
from tests.support.database import empty_database
from webui import create_app

os.environ.setdefault("ZHIFA_PASSWORD_HASH_METHOD", "pbkdf2:sha256:1000")  # fast hashes in tests only
# Deployments activate at once in tests, also on PostgreSQL (where an installation defaults to four-eyes review,
# engine/definitions/review_policy.py); tests/test_deployment_review.py turns review on where it tests it.
os.environ.setdefault("ZHIFA_DEPLOYMENT_REVIEW", "0")

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
PASSWORD = "test-pass-2026"
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=clock.SHANGHAI)  # a Monday
# The 行政机关 of the ``people`` fixture's units: what its documents print (engine/models/agency.py).
AGENCY = {"address": "X市人民路1号", "postal_code": "100001", "phone": "010-12345678", "review_organ": "X市人民政府",
          "court": "X市Y区人民法院", "payment_place": "中国工商银行X市分行各营业网点", "payment_account_name": "X市财政局",
          "payment_account": "0200 0012 3456 7890 123"}


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    url = os.environ.get("ZHIFA_TEST_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test-secret",
                      "WTF_CSRF_ENABLED": True})
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade(directory=app.extensions["migrate"].directory)
    yield app


@pytest.fixture(autouse=True)
def _database(app: Flask) -> Iterator[None]:
    from webui.auth import LoginThrottle

    app.extensions["zhifa_login_throttle"] = LoginThrottle()  # failed logins of one test never block the next
    with app.app_context():
        ensure_roles()
        seed_reference_data()
        db.session.commit()
    yield
    with app.app_context():
        empty_database()
    clear_engine_caches()


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def frozen() -> Iterator[clock.FrozenClock]:
    """A clock shared by every thread of the test (worker threads included)."""
    fc = clock.FrozenClock(START)
    clock.set_default_clock(fc)
    try:
        yield fc
    finally:
        clock.set_default_clock(None)


def make_user(username: str, unit: str, roles: list[str], creds: tuple[str, ...] = ("law_enforcement",)) -> User:
    user, _ = create_user(username, unit, roles, PASSWORD, display_name=username)
    for kind in creds:
        db.session.add(Credential(user_id=user.id, kind=kind, number=f"N-{username}-{kind}",
                                  expires_on=dt.date(2030, 1, 1)))
    db.session.commit()
    return user


@pytest.fixture
def people(app: Flask) -> dict[str, int]:
    """Users of two units; returns username -> id."""
    with app.app_context():
        ensure_agency("x_amr", "X市市场监督管理局", "X市监", **AGENCY)  # the organ issuing both units' documents
        ensure_unit("unit_a", "执法一科", "X市监")
        ensure_unit("unit_b", "执法二科", "X市监")
        spec = {
            "a_handler1": ("unit_a", ["handler"], ("law_enforcement",)),
            "a_handler2": ("unit_a", ["handler"], ("law_enforcement",)),
            "a_nocred": ("unit_a", ["handler"], ()),
            "a_head": ("unit_a", ["unit_head", "handler"], ("law_enforcement",)),
            "a_reviewer": ("unit_a", ["legal_reviewer", "handler"], ("law_enforcement", "legal_qualification")),
            "a_chief": ("unit_a", ["agency_head"], ("law_enforcement",)),
            "b_handler1": ("unit_b", ["handler"], ("law_enforcement",)),
            "designer": ("unit_a", ["process_designer"], ()),
            "admin": ("unit_a", ["administrator"], ()),
        }
        ids = {name: make_user(name, unit, roles, creds).id for name, (unit, roles, creds) in spec.items()}
        db.session.remove()
        return ids


def deploy_dir(path: Path, actor: str = "test") -> int:
    return deploy_bundle(Bundle.from_directories(path / "processes", path / "forms"), actor).id


@pytest.fixture
def mini(app: Flask) -> int:
    with app.app_context():
        deployment_id = deploy_dir(DATA / "mini")
        db.session.remove()
        return deployment_id


def user(name: str) -> User:
    found = db.session.query(User).filter_by(username=name).one()
    return found


class Api:
    """A bearer-token client for one user: ``api.post('/cases', {...})`` -> (status, json)."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **params: Any) -> tuple[int, Any]:
        r = self.client.get("/api/v1" + path, headers=self.headers, query_string=params)
        return r.status_code, r.get_json()

    def put(self, path: str, body: Any = None) -> tuple[int, Any]:
        r = self.client.put("/api/v1" + path, headers=self.headers, json=body if body is not None else {})
        return r.status_code, r.get_json()

    def post(self, path: str, body: Any = None) -> tuple[int, Any]:
        r = self.client.post("/api/v1" + path, headers=self.headers, json=body if body is not None else {})
        return r.status_code, r.get_json()


@pytest.fixture
def api(app: Flask, people: dict[str, int]) -> Any:
    def for_user(name: str) -> Api:
        with app.app_context():
            token = issue_token(user(name))
            db.session.commit()
            db.session.remove()
        return Api(app.test_client(), token)

    return for_user


def at_once(app: Flask, n: int, action: Any, timeout: float = 240) -> list[str]:
    """Run ``action(i)`` in ``n`` threads released together, each in its own app context, as ``n``
    officers pressing "submit" at the same moment. Each outcome is "ok", "conflict:<message>" or
    "error:<type>:<message>"."""
    import threading

    from engine.errors import Conflict

    barrier = threading.Barrier(n)
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        with app.app_context():
            try:
                prepare = action(i)  # reads (users, ids) happen before the barrier
                db.session.commit()  # end the read transaction: SQLite's write lock is taken at BEGIN
                barrier.wait()
                prepare()
                result = "ok"
            except Conflict as exc:
                result = "conflict:" + exc.message
            except Exception as exc:  # noqa: BLE001 - any other outcome is reported to the test
                result = f"error:{type(exc).__name__}:{exc}"
            finally:
                db.session.remove()
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    barrier.abort()
    return outcomes


# --- the procedure library on bare SpiffWorkflow (tests/support/library.py), shared by its test modules
@pytest.fixture(scope="module")
def parser() -> Any:
    from tests.support.library import parse_library

    return parse_library()


@pytest.fixture(scope="module")
def specs(parser: Any) -> dict[str, Any]:
    """process id -> (spec, subprocess specs) for every process in the library."""
    return {pid: (parser.get_spec(pid), parser.get_subprocess_specs(pid)) for pid in parser.get_process_ids()}


@pytest.fixture(params=[False, True], ids=["straight", "roundtrip"])
def roundtrip(request: pytest.FixtureRequest) -> bool:
    return request.param


@pytest.fixture
def frozen_timer_clock(monkeypatch: pytest.MonkeyPatch) -> Any:
    from SpiffWorkflow.bpmn.specs.event_definitions import timer as timer_module

    from tests.support.library import FrozenTimerClock

    monkeypatch.setattr(timer_module, "datetime", FrozenTimerClock)
    monkeypatch.setattr(FrozenTimerClock, "at", dt.datetime(2026, 3, 24, 9, 0, tzinfo=dt.UTC))
    return FrozenTimerClock


@pytest.fixture
def clock_calls(monkeypatch: pytest.MonkeyPatch, frozen_timer_clock: Any) -> list:
    """Every case_clock call of the run (one recorder across round trips) and calendar-true deadlines,
    with SpiffWorkflow's timer clock frozen on Tue 2026-03-24."""
    from engine.expressions import make_script_engine
    from engine.runtime.case_clock import ClockRecorder
    from engine.runtime.execution import SCRIPT_FUNCTIONS
    from tests.support import library

    recorder = ClockRecorder()
    monkeypatch.setattr(library, "script_engine", lambda _value: make_script_engine({"deadline": library.real_deadline,
                                                                                     "case_clock": recorder, **SCRIPT_FUNCTIONS}))
    return recorder.events


# --- officers working a case through the API (tests/support/officers.py), shared by the officer and 回避 tests
@pytest.fixture
def drv(ctx: None, people: dict[str, int], frozen: clock.FrozenClock, api: Any) -> Any:
    from tests.support.officers import officers_driver  # imported here: tests/support/driver.py imports this module

    return officers_driver(api, frozen)
