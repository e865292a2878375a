"""当事人 details: collected at registration (page and API), checked by type and checksum, corrected
with an audit trail, refused on ended cases, and shown masked on the case page and in the API."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine.errors import Forbidden, InvalidInput, InvalidState, NotFound
from engine.models import AuditEvent, Case, db
from engine.runtime import start_case, terminate_case
from engine.runtime.party import check_party, mask_address, masked, missing_details, update_party
from tests.conftest import PASSWORD, user

ID = "110101199003070038"  # a 居民身份证 number with a correct GB 11643 check digit
ID_BAD = "110101199003070039"  # one digit off
USCC = "91310000MA1FL1234Q"  # a 统一社会信用代码 with a correct GB 32100 check character
CITIZEN = {"party_type": "citizen", "party_name": "张三", "party_id_type": "居民身份证", "party_id_number": ID,
           "party_address": "北京市朝阳区建国路88号3单元502室", "party_phone": "13812345678"}
ORGANIZATION = {"party_type": "organization", "party_name": "某某食品有限公司", "party_credit_code": USCC,
                "party_address": "上海市浦东新区张江路100号", "party_legal_rep": "李四", "party_contact": "王五 13900001111"}


def fields(exc: InvalidInput) -> set[str]:
    return {d["field"] for d in exc.details}


# ----------------------------------------------------------------------------------------------- rules
def test_each_type_requires_what_its_documents_are_served_with():
    with pytest.raises(InvalidInput) as exc:
        check_party({"party_type": "citizen", "party_name": "张三"}, complete=True)
    assert fields(exc.value) == {"party_id_type", "party_id_number", "party_address"}
    assert "文书送达时使用" in exc.value.message
    with pytest.raises(InvalidInput) as exc:
        check_party({"party_type": "organization", "party_name": "某公司"}, complete=True)
    assert fields(exc.value) == {"party_credit_code", "party_address", "party_legal_rep"}
    assert check_party(CITIZEN, complete=True)["party_id_number"] == ID
    assert check_party(ORGANIZATION, complete=True)["party_legal_rep"] == "李四"
    # Filing first (the API) needs only the type and name; the details are reported missing.
    assert check_party({"party_type": "citizen", "party_name": "张三"}, complete=False)["party_address"] == ""


def test_resident_id_and_credit_code_are_checked_by_their_check_characters():
    with pytest.raises(InvalidInput) as exc:
        check_party({**CITIZEN, "party_id_number": ID_BAD}, complete=True)
    assert fields(exc.value) == {"party_id_number"} and "GB 11643" in exc.value.message
    with pytest.raises(InvalidInput) as exc:
        check_party({**CITIZEN, "party_id_number": "110101199013070038"}, complete=True)  # month 13
    assert fields(exc.value) == {"party_id_number"}
    with pytest.raises(InvalidInput) as exc:
        check_party({**ORGANIZATION, "party_credit_code": USCC[:-1] + "R"}, complete=True)
    assert fields(exc.value) == {"party_credit_code"} and "GB 32100" in exc.value.message
    assert check_party({**ORGANIZATION, "party_credit_code": USCC.lower()}, complete=True)["party_credit_code"] == USCC
    # A passport number is not a resident ID: only its form is checked.
    assert check_party({**CITIZEN, "party_id_type": "护照", "party_id_number": "E12345678"}, complete=True)
    with pytest.raises(InvalidInput) as exc:
        check_party({**CITIZEN, "party_id_type": "驾驶证"}, complete=True)
    assert fields(exc.value) == {"party_id_type"}


def test_consent_to_electronic_service_needs_an_address_it_goes_to():
    with pytest.raises(InvalidInput) as exc:
        check_party({**CITIZEN, "e_service_consent": True}, complete=True)
    assert fields(exc.value) == {"e_service_address"} and "第六十一条" in exc.value.message
    with pytest.raises(InvalidInput) as exc:
        check_party({**CITIZEN, "e_service_consent": True, "e_service_address": "not an address"}, complete=True)
    assert fields(exc.value) == {"e_service_address"}
    for address in ("zhang@example.com", "13812345678", "+86 13812345678"):
        assert check_party({**CITIZEN, "e_service_consent": True, "e_service_address": address}, complete=True)


def test_personal_details_of_a_citizen_are_masked_an_organizations_are_not():
    assert masked(CITIZEN, "party_id_number") == "1101**********0038"
    assert masked(CITIZEN, "party_address") == "北京市朝阳区（已隐去）"
    assert masked(CITIZEN, "party_phone") == "138****5678"
    assert masked({**CITIZEN, "e_service_address": "zhang@example.com"}, "e_service_address") == "z***@example.com"
    assert masked(ORGANIZATION, "party_address") == ORGANIZATION["party_address"]
    assert masked(ORGANIZATION, "party_credit_code") == USCC
    assert mask_address("某某县某某镇某某村") == "某某县（已隐去）"


# ----------------------------------------------------------------------------------------------- engine
def test_start_case_stores_the_details_whole_and_party_details_gives_them_to_documents(ctx, people, mini):
    case = start_case(user("a_handler1"), "mini", {**CITIZEN, "e_service_consent": True, "e_service_address": "zhang@example.com"},
                      complete_party=True)
    details = case.party_details()
    assert details["party_id_number"] == ID and details["party_id_type"] == "居民身份证"
    assert details["party_address"] == CITIZEN["party_address"] and details["e_service_consent"] is True
    assert details["party_id_masked"] == "1101**********0038" and case.party_id_masked == "1101**********0038"
    assert set(details) >= {"party_type", "party_name", "party_credit_code", "party_legal_rep", "party_contact",
                            "e_service_address"}
    assert missing_details(case) == []
    started = db.session.scalars(select(AuditEvent).where(AuditEvent.chain == f"case:{case.id}",
                                                          AuditEvent.action == "case.started")).one()
    assert started.data["party"]["party_id_number"] == "1101**********0038"  # the record holds it masked
    assert ID not in str(started.data)


def test_a_registration_missing_what_the_type_needs_is_refused_and_nothing_is_filed(ctx, people, mini):
    with pytest.raises(InvalidInput) as exc:
        start_case(user("a_handler1"), "mini", {"party_type": "organization", "party_name": "某公司"}, complete_party=True)
    assert fields(exc.value) == {"party_credit_code", "party_address", "party_legal_rep"}
    db.session.rollback()
    assert db.session.scalar(select(Case.id)) is None


def test_correction_is_audited_with_masked_values_and_reason(ctx, people, mini):
    case = start_case(user("a_handler1"), "mini", {"party_type": "citizen", "party_name": "张三"})
    assert missing_details(case) == ["party_id_type", "party_id_number", "party_address"]
    with pytest.raises(InvalidInput) as exc:  # a correction completes the details the type needs
        update_party(user("a_handler1"), case.id, {"party_phone": "13812345678"}, "补充电话")
    assert fields(exc.value) == {"party_id_type", "party_id_number", "party_address"}
    db.session.rollback()
    with pytest.raises(InvalidInput) as exc:
        update_party(user("a_handler1"), case.id, CITIZEN, "")
    assert fields(exc.value) == {"reason"}
    db.session.rollback()
    update_party(user("a_handler1"), case.id, CITIZEN, "当事人出示身份证后补充登记")
    case = db.session.get(Case, case.id)
    assert case.party_id_number == ID and case.party_id_masked == "1101**********0038"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "case.party_updated")).one()
    assert event.chain == f"case:{case.id}" and event.actor == "a_handler1"
    assert event.data["changed"] == ["party_id_type", "party_id_number", "party_address", "party_phone"]
    assert event.data["after"]["party_id_number"] == "1101**********0038"
    assert event.data["after"]["party_address"] == "北京市朝阳区（已隐去）"
    assert event.data["before"]["party_address"] == "" and event.data["reason"] == "当事人出示身份证后补充登记"
    assert ID not in str(event.data) and "建国路" not in str(event.data)
    with pytest.raises(InvalidInput):  # the type decides the procedure's limits: never changed after filing
        update_party(user("a_handler1"), case.id, {**ORGANIZATION}, "改为单位")
    db.session.rollback()


def test_correction_is_refused_on_an_ended_case_and_for_other_roles_and_units(ctx, people, mini):
    case = start_case(user("a_handler1"), "mini", CITIZEN, complete_party=True)
    with pytest.raises(NotFound):
        update_party(user("b_handler1"), case.id, {"party_phone": "13900000000"}, "x")
    db.session.rollback()
    with pytest.raises(Forbidden):
        update_party(user("designer"), case.id, {"party_phone": "13900000000"}, "x")
    db.session.rollback()
    terminate_case(user("a_chief"), case.id, "违法事实不能成立", ground="other")
    with pytest.raises(InvalidState) as exc:
        update_party(user("a_handler1"), case.id, {"party_phone": "13900000000"}, "更正电话")
    assert "已结案或已终止" in exc.value.message


# ----------------------------------------------------------------------------------------------- web
def logged_in(app, username):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302
    return client


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_registration_page_collects_the_details_and_the_case_page_shows_them_masked(app, people, mini):
    client = logged_in(app, "a_handler1")
    page = client.get("/cases/new").get_data(as_text=True)
    for name in ("party_id_type", "party_id_number", "party_credit_code", "party_legal_rep", "party_address",
                 "e_service_consent", "e_service_address"):
        assert f'name="{name}"' in page
    base = {"csrf_token": csrf(page), "procedure": "mini", "action": "start", "party_type": "citizen", "party_name": "张三"}
    r = client.post("/cases/new", data=base)
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and 'data-field="party_address"' in page and 'data-field="party_id_number"' in page
    r = client.post("/cases/new", data={**base, "party_id_type": "居民身份证", "party_id_number": ID_BAD,
                                        "party_address": "X市Y区幸福路1号"})
    assert r.status_code == 422 and "GB 11643" in r.get_data(as_text=True)
    # The organization fields a citizen registration posts (hidden on the page) are dropped, not refused.
    r = client.post("/cases/new", data={**base, **{k: v for k, v in CITIZEN.items() if k != "party_type"},
                                        "party_credit_code": "garbage", "e_service_consent": "on",
                                        "e_service_address": "zhang@example.com"})
    assert r.status_code == 302, r.get_data(as_text=True)
    case_id = int(r.headers["Location"].rsplit("/", 1)[1])
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "1101**********0038" in page and ID not in page
    assert "北京市朝阳区（已隐去）" in page and "建国路" not in page
    assert "138****5678" in page and "z***@example.com" in page
    assert 'id="edit-party"' in page and 'id="party-missing"' not in page
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case.party_id_number == ID and case.party_credit_code == "" and case.e_service_address == "zhang@example.com"


def test_case_page_edit_form_corrects_the_details_and_the_timeline_says_so(app, people, mini):
    with app.app_context():
        case_id = start_case(user("a_handler1"), "mini", ORGANIZATION, complete_party=True).id
        db.session.remove()
    client = logged_in(app, "a_handler1")
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert USCC in page and "上海市浦东新区张江路100号" in page and "李四" in page  # an organization's details are public
    form = client.get(f"/cases/{case_id}/party").get_data(as_text=True)
    assert f'value="{USCC}"' in form
    data = {"csrf_token": csrf(form), **{k: v for k, v in ORGANIZATION.items() if k != "party_type"}, "party_legal_rep": "赵六",
            "reason": ""}
    r = client.post(f"/cases/{case_id}/party", data=data)
    assert r.status_code == 422 and 'data-field="reason"' in r.get_data(as_text=True)
    r = client.post(f"/cases/{case_id}/party", data={k: v for k, v in data.items() if k != "csrf_token"} | {"reason": "x"})
    assert r.status_code == 400  # no CSRF token, no change
    r = client.post(f"/cases/{case_id}/party", data={**data, "reason": "法定代表人已变更"})
    assert r.status_code == 302
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "赵六" in page and "更正当事人信息" in page and "法定代表人（负责人）：法定代表人已变更" in page
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "case.party_updated")).one()
        assert event.data["before"] == {"party_legal_rep": "李四"} and event.data["after"] == {"party_legal_rep": "赵六"}
    other = logged_in(app, "b_handler1")
    assert other.get(f"/cases/{case_id}/party").status_code == 404


def test_api_registers_with_details_reports_what_is_missing_and_completes_it(api, mini):
    officer = api("a_handler1")
    status, body = officer.post("/cases", {"procedure": "mini", "party": {"type": "citizen", "name": "张三"}})
    assert status == 201 and body["party"]["missing"] == ["party_id_type", "party_id_number", "party_address"]
    status, body = officer.post(f"/cases/{body['id']}/party", {
        "party": {"id_type": "居民身份证", "id_number": ID, "address": "北京市朝阳区建国路88号"}, "reason": "补充登记"})
    assert status == 200, body
    assert body["party"]["missing"] == [] and body["party"]["id_number"] == "1101**********0038"
    assert body["party"]["address"] == "北京市朝阳区（已隐去）" and body["party"]["id_type"] == "居民身份证"
    assert body["history"][-1]["action"] == "case.party_updated"
    status, refused = officer.post(f"/cases/{body['id']}/party", {"party": {"name": ["张三"], "e_service_consent": "yes"},
                                                                 "reason": "x"})
    assert status == 422 and {d["field"] for d in refused["details"]} == {"party_name", "e_service_consent"}
    status, body = officer.post("/cases", {"procedure": "mini", "party": {
        "type": "organization", "name": "某某食品有限公司", "credit_code": USCC, "address": "上海市浦东新区张江路100号",
        "legal_rep": "李四", "e_service_consent": True, "e_service_address": "legal@example.com"}})
    assert status == 201 and body["party"]["credit_code"] == USCC and body["party"]["missing"] == []
    assert body["party"]["e_service_address"] == "legal@example.com"  # an organization's address is not personal
    status, body = officer.post("/cases", {"procedure": "mini", "party": {
        "type": "organization", "name": "某公司", "credit_code": "91310000MA1FL1234R"}})
    assert status == 422 and body["details"][0]["field"] == "party_credit_code"
