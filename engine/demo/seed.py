"""Demo data: two units, a user for every role, and cases in different states (demo only)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from engine.admin.agencies import ensure_agency
from engine.admin.users import create_user, ensure_roles, ensure_unit
from engine.demo.seal import draw_seal
from engine.models import Credential, User, db

DEMO_PASSWORD = "zhifa-demo-2026"  # noqa: S105 - demo logins, published in the README
UNITS = (
    ("unit_a", "X市市场监督管理局执法一科", "X市监"),
    ("unit_b", "X市市场监督管理局执法二科", "X市监"),
)
# username suffix, roles, credential kinds
PEOPLE = (
    ("handler1", ["handler"], ["law_enforcement"]),
    ("handler2", ["handler"], ["law_enforcement"]),
    ("head", ["unit_head", "handler"], ["law_enforcement"]),
    ("reviewer", ["legal_reviewer"], ["law_enforcement", "legal_qualification"]),
    ("host", ["hearing_host"], ["law_enforcement"]),
    ("clerk", ["hearing_clerk"], []),
    ("chief", ["agency_head"], ["law_enforcement"]),
)
SYSTEM_PEOPLE = (("designer", ["process_designer"]), ("admin", ["administrator"]), ("supervisor", ["supervisor"]))


# The demo 行政机关: what its documents print as issuer, 复议机关, court and where to pay.
AGENCY = {
    "code": "x_amr", "full_name": "X市市场监督管理局", "short_name": "X市监",
    "address": "X市人民路100号", "postal_code": "100001", "phone": "010-12345678",
    "review_organ": "X市人民政府", "court": "X市东城区人民法院",
    "payment_place": "中国工商银行X市分行各营业网点", "payment_account_name": "X市财政局非税收入专户",
    "payment_account": "0200 0012 0902 0123 456",
}


def load_demo() -> None:
    ensure_roles()
    agency = ensure_agency(**AGENCY)
    if agency.seal_png is None:
        agency.seal_png = draw_seal(agency.full_name)
    for code, name, agency in UNITS:
        ensure_unit(code, name, agency)
    letter = {"unit_a": "a", "unit_b": "b"}
    for code, _name, _agency in UNITS:
        for suffix, roles, creds in PEOPLE:
            username = f"{letter[code]}_{suffix}"
            if db.session.scalars(select(User).where(User.username == username)).first():
                continue
            user, _ = create_user(username, code, roles, DEMO_PASSWORD, display_name=username, actor="demo")
            for i, kind in enumerate(creds):
                db.session.add(Credential(user_id=user.id, kind=kind, number=f"DEMO-{user.id:04d}-{i}",
                                          expires_on=dt.date(2030, 12, 31)))
    for username, roles in SYSTEM_PEOPLE:
        if not db.session.scalars(select(User).where(User.username == username)).first():
            create_user(username, "unit_a", roles, DEMO_PASSWORD, display_name=username, actor="demo")
    db.session.commit()
    from engine.demo.cases import load_demo_cases

    load_demo_cases()
