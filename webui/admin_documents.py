"""Administration of 执法文书 numbering: each type's code (代字) and number pattern.

Changes go through ``engine.documents.set_document_type`` (validated, audited) and apply to numbers
allocated from then on; issued documents keep their numbers.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, request
from flask_admin import BaseView, expose
from werkzeug.wrappers import Response

from engine.documents import all_types, document_type, format_number, set_document_type
from engine.documents.types import default_pattern
from engine.errors import ZhifaError

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
