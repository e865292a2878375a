"""Administration of 执法文书: each type's code (代字) and number pattern, and its text.

Changes go through ``engine.documents.set_document_type`` and ``engine.documents.texts.set_document_text``
(validated, audited) and apply from then on: issued documents keep their numbers and their text. A text
is previewed on a real case of the administrator's unit before it is saved.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, request
from flask_admin import BaseView, expose
from sqlalchemy import select
from werkzeug.wrappers import Response

from engine.documents import all_types, document_type, format_number, set_document_type
from engine.documents.generate import preview_snapshot
from engine.documents.texts import current_text, history, preview, set_document_text
from engine.documents.types import default_pattern
from engine.errors import InvalidInput, ZhifaError
from engine.models import Case, db
from engine.policy.access import get_case

from .admin_access import AdminOnly


class DocumentTypesView(AdminOnly, BaseView):
    @expose("/")
    def index(self) -> str:
        types = all_types()
        examples = {t.name: format_number(t.pattern, "X市监", t.code, 2026, 12) for t in types}
        return self.render("admin_zf/document_types.html", types=types, examples=examples, default=default_pattern())

    @expose("/<type_name>", methods=["GET", "POST"])
    def edit(self, type_name: str) -> str | Response:
        if len(type_name) > 40:
            abort(404)
        current = document_type(type_name)
        error, values = None, {"code": current.code, "pattern": current.pattern, "reason": ""}
        if request.method == "POST":
            values = {k: request.form.get(k, "") for k in ("code", "pattern", "reason")}
            try:
                set_document_type(g.user, type_name, values["code"], values["pattern"], values["reason"])
            except ZhifaError as exc:
                error = exc
            else:
                flash("文书编号规则已更新，适用于此后新编的文号。", "success")
                return redirect(self.get_url(".index"))
        return self.render("admin_zf/document_type_edit.html", doc_type=current, values=values, error=error)

    @expose("/<type_name>/text", methods=["GET", "POST"])
    def text(self, type_name: str) -> str | Response:
        """Edit a type's text: 预览 renders it on a case (nothing stored), 保存 stores it (audited)."""
        if len(type_name) > 40:
            abort(404)
        kind = document_type(type_name)
        _template, source = current_text(type_name)
        values = {"source": source, "reason": "", "case_number": ""}
        error, rendered = None, None
        if request.method == "POST":
            values = {k: request.form.get(k, "") for k in ("source", "reason", "case_number")}
            try:
                if request.form.get("action") == "preview":
                    rendered = preview(type_name, values["source"], preview_snapshot(g.user, self._case(values["case_number"]), type_name))
                else:
                    set_document_text(g.user, type_name, values["source"], values["reason"])
                    flash("文书模板已更新，此后制作的文书使用新的文本。", "success")
                    return redirect(self.get_url(".text", type_name=type_name))
            except ZhifaError as exc:
                db.session.rollback()
                error = exc
        return self.render("admin_zf/document_text.html", doc_type=kind, values=values, error=error, rendered=rendered,
                           versions=history(type_name)[:20])

    @staticmethod
    def _case(case_number: str) -> Case:
        """A case of the administrator's own scope, by its number (what an administrator knows)."""
        case_number = case_number.strip()[:100]
        found = db.session.scalar(select(Case.id).where(Case.case_number == case_number)) if case_number else None
        if found is None:
            raise InvalidInput("请填写本单位一个案件的案件编号用于预览 (enter the number of a case of your unit to preview on)",
                               details=[{"field": "case_number", "message": "必填"}])
        return get_case(g.user, found)
