"""行政机关: the organ that issues and numbers documents; administered with an audit trail; every unit
belongs to one; the migration gives existing units one."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from engine.admin.agencies import assign_units, check_seal, create_agency, update_agency
from engine.admin.users import ensure_unit
from engine.demo.seal import draw_seal
from engine.errors import Forbidden, InvalidInput
from engine.models import Agency, AuditEvent, Document, OrgUnit, db
from engine.runtime import start_case, suspend_case
from tests.conftest import PASSWORD, user

SETTINGS = {"full_name": "Y市市场监督管理局", "short_name": "Y市监", "review_organ": "Y市人民政府", "court": "Y市Z区人民法院",
            "payment_place": "中国农业银行Y市分行", "payment_account_name": "Y市财政局", "payment_account": "1234 5678 9012 3456"}


def png(width: int = 64, height: int = 64, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGBA" if fmt == "PNG" else "RGB", (width, height), (200, 0, 0)).save(out, format=fmt)
    return out.getvalue()


def fields(exc: InvalidInput) -> set[str]:
    return {d["field"] for d in exc.details}


# ----------------------------------------------------------------------------------------------- engine
def test_every_unit_set_up_belongs_to_an_agency_and_numbers_with_its_short_name(ctx, people, mini):
    unit = user("a_handler1").unit
    assert unit.agency is not None and unit.agency.full_name == "X市市场监督管理局"
    assert user("b_handler1").unit.agency_id == unit.agency_id  # both sections of one organ
    lone = ensure_unit("unit_z", "执法九科", "Z市监")  # no organ numbers with Z市监 yet: one is made for it
    assert lone.agency is not None and lone.agency.short_name == "Z市监" and lone.agency.full_name == "执法九科"
    assert start_case(user("a_handler1"), "mini", {"party_type": "citizen", "party_name": "张三"}).case_number.startswith("X市监案〔")


def test_renaming_the_agency_short_name_renumbers_later_cases_and_documents(ctx, people, mini):
    agency = user("a_handler1").unit.agency
    update_agency(user("admin"), agency.id, {"short_name": "X市场监管"})
    db.session.expire_all()
    case = start_case(user("a_handler1"), "mini", {"party_type": "citizen", "party_name": "张三"})
    assert case.case_number.startswith("X市场监管案〔")
    # The organ's own pattern for a type replaces the type's pattern, with the same placeholders.
    update_agency(user("admin"), agency.id, {"doc_patterns": {"中止调查决定书": "{agency}{code}字〔{year}〕第{serial:3}号"}})
    db.session.expire_all()
    suspend_case(user("a_chief"), case.id, "等待检验结果", ground="other")
    number = db.session.scalars(select(Document.number).where(Document.case_id == case.id)).one()
    assert re.fullmatch(r"X市场监管.+字〔\d{4}〕第001号", number), number


def test_settings_are_validated_and_each_refusal_names_its_field(ctx, people):
    admin = user("admin")
    with pytest.raises(InvalidInput) as exc:
        create_agency(admin, "bad code!", {"full_name": "", "short_name": "X市监", "postal_code": "12", "payment_account": "abc"})
    assert fields(exc.value) == {"code", "full_name", "short_name", "postal_code", "payment_account"}
    assert "混用同一编号序列" in exc.value.message  # X市监 is the people fixture's organ's
    db.session.rollback()
    with pytest.raises(InvalidInput) as exc:
        create_agency(admin, "y_amr", {**SETTINGS, "doc_patterns": {"行政处罚决定书": "{agency}〔{year}〕{serial}号"}})
    assert fields(exc.value) == {"pattern:行政处罚决定书"} and "{code}" in exc.value.message
    db.session.rollback()
    with pytest.raises(Forbidden):
        create_agency(user("a_handler1"), "y_amr", SETTINGS)
    db.session.rollback()
    assert db.session.scalars(select(Agency.code).where(Agency.code == "y_amr")).first() is None


def test_a_seal_must_be_a_small_real_png():
    assert check_seal(png()) == png()
    assert check_seal(draw_seal("X市市场监督管理局"))
    for data, words in ((png(fmt="JPEG"), "PNG 格式"), (png(2100, 10), "2000 像素"), (b"\x89PNG\r\n\x1a\nnot really", "无法识别"),
                        (b"x" * (1024 * 1024 + 1), "1 MB"), (png()[:60], "无法识别")):
        with pytest.raises(InvalidInput) as exc:
            check_seal(data)
        assert words in exc.value.message and fields(exc.value) == {"seal"}


def test_every_change_is_audited_on_the_system_chain_with_what_changed(ctx, people):
    admin = user("admin")
    agency = create_agency(admin, "y_amr", SETTINGS, seal=png())
    update_agency(admin, agency.id, {**SETTINGS, "court": "Y市中级人民法院"})
    update_agency(admin, agency.id, {**SETTINGS, "court": "Y市中级人民法院"})  # nothing changed: nothing recorded
    unit = ensure_unit("unit_y", "Y市局执法一科", "Y市监")
    assert unit.agency_id == agency.id  # numbers with Y市监: joins the organ that does
    assign_units(admin, agency.id, [user("a_handler1").unit_id])
    events = {e.action: e for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("agency.%")))}
    assert set(events) == {"agency.created", "agency.updated", "agency.units_assigned"}
    assert all(e.chain == "system" and e.actor == "admin" for e in events.values())
    assert events["agency.created"].data["after"]["seal_sha256"] and "seal_png" not in events["agency.created"].data["after"]
    assert events["agency.updated"].data == {"code": "y_amr", "changed": ["court"], "before": {"court": "Y市Z区人民法院"},
                                             "after": {"court": "Y市中级人民法院"}}
    assert events["agency.units_assigned"].data == {"code": "y_amr", "units": [{"unit": "unit_a", "from": "x_amr"}]}
    assert db.session.get(OrgUnit, user("a_handler1").unit_id).agency.code == "y_amr"


# ----------------------------------------------------------------------------------------------- admin UI
def logged_in(app, username):
    client = app.test_client()
    token = csrf(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token}).status_code == 302
    return client


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_administrator_creates_an_agency_uploads_its_seal_and_assigns_units(app, people):
    client = logged_in(app, "admin")
    page = client.get("/admin/agencies/").get_data(as_text=True)
    assert "X市市场监督管理局" in page and "X市人民政府" in page
    form = client.get("/admin/agencies/new").get_data(as_text=True)
    r = client.post("/admin/agencies/new", data={"code": "y_amr", **SETTINGS, "full_name": ""})  # no CSRF token
    assert r.status_code == 400
    r = client.post("/admin/agencies/new", data={"csrf_token": csrf(form), "code": "y_amr", **SETTINGS,
                                                 "seal": (io.BytesIO(png(fmt="JPEG")), "seal.jpg")},
                    content_type="multipart/form-data")
    assert r.status_code == 422 and "PNG 格式" in r.get_data(as_text=True) and 'value="Y市人民政府"' in r.get_data(as_text=True)
    r = client.post("/admin/agencies/new", data={"csrf_token": csrf(form), "code": "y_amr", **SETTINGS,
                                                 "pattern:行政处罚决定书": "{agency}{code}〔{year}〕{serial:4}号",
                                                 "seal": (io.BytesIO(png()), "seal.png")}, content_type="multipart/form-data")
    assert r.status_code == 302, r.get_data(as_text=True)
    agency_id = int(r.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    page = client.get(f"/admin/agencies/{agency_id}").get_data(as_text=True)
    assert 'id="seal-preview"' in page and 'value="{agency}{code}〔{year}〕{serial:4}号"' in page
    seal = client.get(f"/admin/agencies/{agency_id}/seal.png")
    assert seal.status_code == 200 and seal.mimetype == "image/png" and seal.data == png()
    with app.app_context():
        unit_b = user("b_handler1").unit_id
    r = client.post(f"/admin/agencies/{agency_id}/units", data={"csrf_token": csrf(page), "units": [str(unit_b)]})
    assert r.status_code == 302
    token = csrf(page)
    page = client.get("/admin/units/").get_data(as_text=True)
    assert "Y市市场监督管理局" in page
    r = client.post(f"/admin/agencies/{agency_id}", data={"csrf_token": token, **SETTINGS, "remove_seal": "1",
                                                           "pattern:行政处罚决定书": "{agency}{code}〔{year}〕{serial:4}号"})
    assert r.status_code == 302
    assert client.get(f"/admin/agencies/{agency_id}/seal.png").status_code == 404
    with app.app_context():
        agency = db.session.get(Agency, agency_id)
        assert agency.seal_png is None and agency.doc_patterns == {"行政处罚决定书": "{agency}{code}〔{year}〕{serial:4}号"}
        assert db.session.get(OrgUnit, unit_b).agency_id == agency_id
        actions = [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.chain == "system")
                                                        .where(AuditEvent.action.like("agency.%")).order_by(AuditEvent.seq))]
    assert actions == ["agency.created", "agency.units_assigned", "agency.updated"]


def test_a_bad_number_pattern_is_shown_by_its_document_type(app, people):
    client = logged_in(app, "admin")
    form = client.get("/admin/agencies/1").get_data(as_text=True)
    r = client.post("/admin/agencies/1", data={"csrf_token": csrf(form), "full_name": "X市市场监督管理局", "short_name": "X市监",
                                               "pattern:行政处罚决定书": "{agency}〔{year}〕{serial}号"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and '<details id="doc-patterns-box" class="mb-3" open>' in page
    assert 'is-invalid" value="{agency}〔{year}〕{serial}号"' in page and "行政处罚决定书：编号格式须包含" in page


def test_officers_cannot_reach_the_agency_pages(app, people):
    client = logged_in(app, "a_chief")
    assert client.get("/admin/agencies/").status_code == 403
    assert client.get("/admin/agencies/1/seal.png").status_code == 403


# ----------------------------------------------------------------------------------------------- migration
def test_migration_gives_every_existing_unit_the_agency_of_its_top_level_unit(tmp_path):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from webui import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.db'}", "SECRET_KEY": "x"})
    directory = app.extensions["migrate"].directory
    with app.app_context():
        upgrade(directory=directory, revision="0012")
        with db.engine.begin() as conn:
            for row in ((1, "amr", "X市市场监督管理局", "X市监", None), (2, "s1", "执法一科", "X市监", 1),
                        (3, "s2", "执法二科", "", 2), (4, "t1", "Y县市场监督管理局", "Y县监", None),
                        (5, "t2", "Y县局稽查队", "X市监", None)):  # a second top-level unit numbering as X市监
                conn.execute(text("INSERT INTO org_unit (id, code, name, agency_short_name, parent_id) VALUES (:i, :c, :n, :s, :p)"),
                             dict(zip("icnsp", row, strict=True)))
            conn.execute(text(
                "INSERT INTO \"case\" (id, case_number, procedure, unit_id, party_type, party_name, party_id_masked, facts,"
                " status, opened_at, paused_days, extension_days, extensions, clock_provisional)"
                " VALUES (1, 'X案1', 'ordinary', 2, 'citizen', '甲', '', '{}', 'open', '2026-03-02 01:00:00.000000', 0, 0, 0, 0)"))
        upgrade(directory=directory, revision="0013")
        agencies = db.session.execute(text("SELECT id, code, full_name, short_name FROM agency ORDER BY id")).all()
        units = dict(db.session.execute(text("SELECT code, agency_id FROM org_unit")).all())
        party = db.session.execute(text("SELECT party_address, e_service_consent FROM \"case\"")).one()
        db.session.remove()
        downgrade(directory=directory, revision="0012")
        columns = [r[1] for r in db.session.execute(text("PRAGMA table_info(org_unit)"))]
        db.session.remove()
        db.engine.dispose()
    assert [tuple(a[1:]) for a in agencies] == [("amr", "X市市场监督管理局", "X市监"), ("t1", "Y县市场监督管理局", "Y县监")]
    x, y = agencies[0][0], agencies[1][0]
    assert units == {"amr": x, "s1": x, "s2": x, "t1": y, "t2": x}
    assert tuple(party) == ("", 0)
    assert "agency_id" not in columns


def test_the_migration_matches_the_models(app):
    """Autogenerate finds nothing to add for the tables this work changed (agency, org_unit, case)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with app.app_context():
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    ours = [d for d in _flatten(diff) if any(t in repr(d) for t in ("'agency'", "'org_unit'", "'case'"))]
    assert ours == [], ours


def _flatten(diff):
    for item in diff:
        if isinstance(item, list):
            yield from _flatten(item)
        else:
            yield item
