"""当事人 on the case pages: the masked party block, and correcting or completing the details with a
reason (the engine's ``update_party`` checks and audits it). The registration page's party fields are
the engine's start form (engine/queries/start_form.py); their labels in the user's language are here."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from engine.errors import InvalidInput, InvalidState
from engine.models import Case, User
from engine.models.case import PARTY_FIELDS
from engine.policy.access import get_case
from engine.policy.permissions import allowed
from engine.runtime.party import ID_TYPES, REQUIRED_BY_TYPE, missing_details, party_view, update_party

bp = Blueprint("party", __name__)

# Fields only one type of party has (the page shows the ones of the chosen type; static/js/party.js).
TYPE_FIELDS = {"citizen": ("party_id_type", "party_id_number"),
               "organization": ("party_credit_code", "party_legal_rep", "party_contact")}
# The engine's Chinese labels and help texts as translatable strings.
PARTY_LABELS = {
    "当事人类型": _l("当事人类型"), "当事人名称": _l("当事人名称"),
    "证件类型": _l("证件类型"), "证件号码": _l("证件号码"), "统一社会信用代码": _l("统一社会信用代码"),
    "法定代表人（负责人）": _l("法定代表人（负责人）"), "联系人及电话": _l("联系人及电话"), "住址（住所）": _l("住址（住所）"),
    "联系电话": _l("联系电话"), "同意电子送达": _l("同意电子送达"), "电子送达地址": _l("电子送达地址"),
    "页面上只显示脱敏后的号码": _l("页面上只显示脱敏后的号码"), "18 位，见营业执照": _l("18 位，见营业执照"),
    "如：王五 13800138000": _l("如：王五 13800138000"),
    "当事人书面同意以电子邮件或短信方式送达文书": _l("当事人书面同意以电子邮件或短信方式送达文书"),
    "当事人确认的电子邮箱或手机号码": _l("当事人确认的电子邮箱或手机号码"),
    "居民身份证": _l("居民身份证"), "护照": _l("护照"), "港澳居民来往内地通行证": _l("港澳居民来往内地通行证"),
    "台湾居民来往大陆通行证": _l("台湾居民来往大陆通行证"), "外国人永久居留身份证": _l("外国人永久居留身份证"), "其他": _l("其他"),
}
# Every field either type requires: marked required on the page (the engine decides per type).
PAGE_REQUIRED = sorted({key for keys in REQUIRED_BY_TYPE.values() for key in keys})


def party_from_form(values: dict[str, Any]) -> dict[str, Any]:
    """The party columns of a posted form, without the other type's fields (hidden on the page, but a
    browser without scripts still posts them)."""
    party = {key: values[key] for key in PARTY_FIELDS if key in values}
    other = "organization" if party.get("party_type") == "citizen" else "citizen"
    for key in TYPE_FIELDS[other] if party.get("party_type") in TYPE_FIELDS else ():
        party.pop(key, None)
    party["e_service_consent"] = bool(values.get("e_service_consent"))
    if not party["e_service_consent"]:
        party.pop("e_service_address", None)  # hidden with the consent unticked
    return party


def party_panel(user: User, case: Case) -> dict[str, Any]:
    """What the case page's party block shows: the masked details, what is missing, and whether this
    user may correct them."""
    return {"rows": party_view(case), "missing": missing_details(case), "labels": _field_labels(),
            "may_edit": allowed(user, "case.correct_party") and case.status not in ("closed", "terminated")}


@bp.route("/cases/<int:case_id>/party", methods=["GET", "POST"])
@login_required
def edit(case_id: int) -> str | Response | tuple[str, int]:
    """The correction form shows the details whole (the officer serves the documents with them)."""
    case = get_case(g.user, case_id)
    values: dict[str, Any] = {key: getattr(case, key) for key in PARTY_FIELDS}
    reason, message, errors, status = "", None, {}, 200
    if request.method == "POST":
        posted = {key: request.form.get(key, "").strip() for key in PARTY_FIELDS if key != "e_service_consent"}
        values = {**posted, "party_type": case.party_type, "e_service_consent": request.form.get("e_service_consent") == "on"}
        reason = request.form.get("reason", "")
        try:
            update_party(g.user, case_id, party_from_form(values), reason)
        except (InvalidInput, InvalidState) as exc:  # refusals by role or unit are the error pages'
            message, status = exc.message, exc.status
            errors = {str(d["field"]): str(d.get("message", "")) for d in (exc.details if isinstance(exc.details, list) else [])
                      if isinstance(d, dict) and d.get("field")}
        else:
            flash(_("已更正当事人信息，更正记录已写入案件记录"), "success")
            return redirect(url_for("cases.show", case_id=case_id) + "#party")
    return render_template("case/party_edit.html", case=case, values=values, reason=reason, message=message, errors=errors,
                           labels=_field_labels(), id_types=ID_TYPES, type_fields=TYPE_FIELDS,
                           required=REQUIRED_BY_TYPE.get(case.party_type, ())), status


def _field_labels() -> dict[str, str]:
    from engine.runtime.party import LABELS

    return {key: str(PARTY_LABELS.get(text, text)) for key, text in LABELS.items()}
