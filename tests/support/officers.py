"""Officers of unit A working an ordinary case through the HTTP API, for the 法 Art. 42 and 回避 tests.

``officers_driver`` builds what the ``drv`` fixture (tests/conftest.py) gives: the shipped procedures
deployed, a third handler, a second unit head and legal reviewer, a 号段 for on-the-spot decisions, and
an API driver holding a token for each officer. ``filed`` takes a case to 立案 and ``claim`` claims
one of its open steps as an officer, returning the API's answer.
"""

from __future__ import annotations

from typing import Any

from engine import clock
from engine.documents.numbering import allocate_range
from engine.models import db
from tests.conftest import ROOT, deploy_dir, make_user, user
from tests.support.driver import Driver
from tests.support.sample_forms import LEAD_FILE
from tests.support.scenarios import COMPANY, FILE_CASE

OFFICERS = ("a_handler1", "a_handler2", "a_handler3", "a_head", "a_head2", "a_chief", "a_reviewer", "a_reviewer2", "admin")


def officers_driver(api: Any, frozen: clock.FrozenClock) -> Driver:
    deploy_dir(ROOT)
    make_user("a_handler3", "unit_a", ["handler"], ("law_enforcement",))
    make_user("a_head2", "unit_a", ["unit_head", "handler"], ("law_enforcement",))
    make_user("a_reviewer2", "unit_a", ["legal_reviewer"], ("legal_qualification",))
    allocate_range(user("admin"), "a_handler1", "当场〔2026〕", "0001", "0100")
    db.session.remove()
    driver = Driver("api", api, frozen)
    for name in OFFICERS:
        driver.api(name)
    return driver


def filed(drv: Driver, party: dict = COMPANY, fine: float = 20000) -> None:
    drv.start("ordinary", party, {"violation": "未明码标价", "penalty_kind": "fine", "proposed_fine": fine})
    drv.complete("register_lead", "a_handler1", LEAD_FILE)
    drv.complete("file_case", "a_head", FILE_CASE)  # designates a_handler1 and a_handler2


def claim(drv: Driver, bpmn_id: str, username: str) -> tuple[int, dict]:
    return drv.api(username).post(f"/tasks/{drv.task(bpmn_id).id}/claim")
