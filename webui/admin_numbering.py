"""号段 administration: hand blocks of pre-numbered on-the-spot decision forms to officers, see what
each block's numbers were spent on, and withdraw a block. The rules live in ``engine.documents.numbering``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, flash, g, redirect, request
from flask_admin import BaseView, expose
from sqlalchemy import select
from werkzeug.wrappers import Response

from engine import clock
from engine.documents.numbering import allocate_range, ranges, spent_numbers, withdraw_range
from engine.errors import NotFound, ZhifaError
from engine.models import Role, User, db, user_role

from .admin_access import AdminOnly
from .i18n import field_errors

FIELDS = ("holder", "prefix", "first", "last", "note")


class FormNumbersView(AdminOnly, BaseView):
    @expose("/", methods=["GET", "POST"])
    def index(self) -> str | Response:
        values: dict[str, Any] = {k: "" for k in FIELDS}
        error = None
        if request.method == "POST":
            values = {k: request.form.get(k, "") for k in FIELDS}
            try:
                block = allocate_range(g.user, values["holder"], values["prefix"], values["first"], values["last"],
                                       values["note"])
            except ZhifaError as exc:
                error = exc
            else:
                flash(f"已将 {block.number(block.first)}–{block.number(block.last)} 共 {block.size} 个编号分配给 "
                      f"{block.holder.display_name or block.holder.username}。", "success")
                return redirect(self.get_url(".index"))
        page = self.render("admin_zf/form_numbers.html", rows=ranges(), holders=_handlers(), values=values, error=error,
                           field_errors=field_errors(error), when=_when)
        return page if error is None else (page, 422)  # type: ignore[return-value]

    @expose("/<int:range_id>", methods=["GET"])
    def detail(self, range_id: int) -> str:
        block, spent = _block(range_id)
        return self.render("admin_zf/form_number_range.html", block=block, spent=spent, error=None, reason="", when=_when)

    @expose("/<int:range_id>/withdraw", methods=["POST"])
    def withdraw(self, range_id: int) -> str | Response:
        _block(range_id)  # an unknown block is a 404
        reason = request.form.get("reason", "")
        try:
            block = withdraw_range(g.user, range_id, reason)
        except ZhifaError as exc:
            block, spent = _block(range_id)
            page = self.render("admin_zf/form_number_range.html", block=block, spent=spent, error=exc, reason=reason,
                               when=_when)
            return page, 422  # type: ignore[return-value]
        flash(f"已收回号段 {block.number(block.first)}–{block.number(block.last)}；已使用和已作废的编号保持不变。", "success")
        return redirect(self.get_url(".detail", range_id=range_id))


def _block(range_id: int) -> tuple[Any, list[Any]]:
    try:
        return spent_numbers(range_id)
    except NotFound:
        abort(404)


def _when(moment: dt.datetime | None) -> str:
    return moment.astimezone(clock.SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _handlers() -> list[User]:
    """Officers who may hold forms: active handlers, by unit then name."""
    return list(db.session.scalars(
        select(User).join(user_role, user_role.c.user_id == User.id).join(Role, Role.id == user_role.c.role_id)
        .where(Role.name == "handler", User.active.is_(True)).order_by(User.unit_id, User.username)))


