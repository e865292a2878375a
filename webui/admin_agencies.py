"""行政机关 administration: the organ's names, contact, seal, 复议机关, court, payment settings, its
own document number patterns, and which units belong to it. The rules and the audit live in
``engine.admin.agencies``; this view collects the input and shows the engine's answer by its field."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, flash, g, redirect, request
from flask_admin import BaseView, expose
from sqlalchemy import select
from werkzeug.wrappers import Response

from engine import clock
from engine.admin.agencies import MAX_SEAL_PIXELS, agencies, assign_units, create_agency, update_agency
from engine.documents.types import all_types
from engine.errors import ZhifaError
from engine.models import Agency, OrgUnit, db
from engine.models.agency import SETTINGS

from .admin_access import AdminOnly
from .i18n import field_errors

# Help under each field: what the documents do with it.
HELP = {
    "full_name": "文书以机关全称作出并加盖机关印章，如“某某市市场监督管理局”。",
    "short_name": "用于案件编号和文书编号，如“X市监”得“X市监罚〔2026〕1号”；修改只影响之后的编号，各机关简称不能相同。",
    "review_organ": "决定书告知当事人可在六十日内向其申请行政复议，如“某某市人民政府”。",
    "court": "决定书告知当事人可在六个月内向其提起行政诉讼，如“某某市某某区人民法院”。",
    "payment_place": "决定书告知当事人缴纳罚款的地点，如“中国工商银行某某市分行各营业网点”。",
    "payment_account": "数字，可按银行习惯以空格分组。",
}


class AgenciesView(AdminOnly, BaseView):
    @expose("/")
    def index(self) -> str:
        units = list(db.session.scalars(select(OrgUnit).order_by(OrgUnit.code)))
        return self.render("admin_zf/agencies.html", agencies=agencies(), units=units, when=_when)

    @expose("/new", methods=["GET", "POST"])
    def create(self) -> str | Response:
        values: dict[str, Any] = {"code": "", **{k: "" for k in SETTINGS}, "doc_patterns": {}}
        error = None
        if request.method == "POST":
            values = _posted(values)
            try:
                agency = create_agency(g.user, values["code"], values, seal=_seal())
            except ZhifaError as exc:
                error = exc
            else:
                flash(f"已创建行政机关 {agency.full_name}；请在下方把所属单位划入本机关。", "success")
                return redirect(self.get_url(".edit", agency_id=agency.id))
        return _page(self._form(None, values, error), error)

    @expose("/<int:agency_id>", methods=["GET", "POST"])
    def edit(self, agency_id: int) -> str | Response:
        agency = _agency(agency_id)
        values: dict[str, Any] = {"code": agency.code, **{k: getattr(agency, k) or "" for k in SETTINGS},
                                  "doc_patterns": dict(agency.doc_patterns or {})}
        error = None
        if request.method == "POST":
            values = _posted(values)
            try:
                update_agency(g.user, agency_id, values, seal=_seal(), remove_seal=request.form.get("remove_seal") == "1")
            except ZhifaError as exc:
                error = exc
            else:
                flash(f"已保存 {agency.full_name} 的设置：之后出具的文书使用新设置，已出具的文书不变。", "success")
                return redirect(self.get_url(".edit", agency_id=agency_id))
        return _page(self._form(agency, values, error), error)

    @expose("/<int:agency_id>/units", methods=["POST"])
    def units(self, agency_id: int) -> str | Response:
        agency = _agency(agency_id)
        ids = [int(v) for v in request.form.getlist("units") if v.isascii() and v.isdigit() and len(v) < 10]
        try:
            assign_units(g.user, agency_id, ids)
        except ZhifaError as exc:
            values = {"code": agency.code, **{k: getattr(agency, k) or "" for k in SETTINGS},
                      "doc_patterns": dict(agency.doc_patterns or {})}
            return _page(self._form(agency, values, exc), exc)
        flash("已更新所属单位：这些单位之后的案件和文书以本机关的名义出具和编号。", "success")
        return redirect(self.get_url(".edit", agency_id=agency_id))

    @expose("/<int:agency_id>/seal.png")
    def seal(self, agency_id: int) -> Response:
        """The seal as uploaded, for the preview on the form (administrators only, never cached)."""
        agency = _agency(agency_id)
        if agency.seal_png is None:
            abort(404)
        response = Response(agency.seal_png, mimetype="image/png")
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    def _form(self, agency: Agency | None, values: dict[str, Any], error: ZhifaError | None) -> str:
        units = list(db.session.scalars(select(OrgUnit).order_by(OrgUnit.code)))
        return self.render("admin_zf/agency_form.html", agency=agency, values=values, error=error, field_errors=field_errors(error),
                           settings=SETTINGS, help=HELP, types=all_types(), units=units, max_pixels=MAX_SEAL_PIXELS,
                           when=_when, stamp=int(agency.updated_at.timestamp()) if agency and agency.updated_at else 0)


def _posted(values: dict[str, Any]) -> dict[str, Any]:
    posted = {k: request.form.get(k, "") for k in ("code", *SETTINGS)}
    patterns = {name[len("pattern:"):]: value.strip() for name, value in request.form.items()
                if name.startswith("pattern:") and value.strip()}
    return {**values, **posted, "code": posted["code"] or values.get("code", ""), "doc_patterns": patterns}


def _seal() -> bytes | None:
    upload = request.files.get("seal")
    if upload is None or not upload.filename:
        return None
    return upload.read()


def _agency(agency_id: int) -> Agency:
    agency = db.session.get(Agency, agency_id)
    if agency is None:
        abort(404)
    return agency


def _when(moment: dt.datetime | None) -> str:
    return moment.astimezone(clock.SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _page(page: str, error: ZhifaError | None) -> Any:
    return page if error is None else (page, 422)


