"""Administration of people (role ``administrator``): users, units, roles and credentials.

Hand-written views rather than generic model views: a user row carries a password hash that must
never reach a page or an export, and every change goes through an engine command in
``engine.admin.users`` (checks, audit in the same transaction). The views collect input and show the
engine's answer beside the form.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, flash, g, make_response, redirect, request, url_for
from flask_admin import BaseView, expose
from sqlalchemy import Select, and_, func, or_, select
from werkzeug.wrappers import Response

from engine import clock
from engine.admin.users import (
    EXPIRY_WARNING_DAYS,
    add_credential,
    admin_create_user,
    create_unit,
    credential_status,
    remove_credential,
    reset_password,
    revoke_tokens,
    token_count,
    update_credential,
    update_unit,
    update_user,
)
from engine.errors import InvalidInput, ZhifaError
from engine.models import Credential, OrgUnit, Role, User, db
from engine.policy.roles import CREDENTIAL_KINDS, LANE_ROLES, SYSTEM_ROLES

from .admin_access import AdminOnly

PAGE_SIZE = 50
STATUS_LABELS = {"valid": "有效", "expiring": "即将到期", "expired": "已过期"}
# What each role does, shown to administrators choosing roles (DOMAIN.md "Roles").
ROLE_NOTES: dict[str, str] = {
    "handler": "调查取证、制作文书；须持有效执法证，调查时不少于两人（行政处罚法第四十二条）",
    "unit_head": "审批立案、指定承办人、分派任务",
    "legal_reviewer": "法制审核；初次从事的须取得法律职业资格（第五十八条），不得审核本人承办的案件",
    "hearing_host": "主持听证；不得由本案调查人员担任（第六十四条）",
    "hearing_clerk": "听证记录",
    "agency_head": "作出决定、批准延期、决定回避；集体讨论",
    "process_designer": "设计、校验并部署流程与表单；不办理案件",
    "administrator": "管理用户、单位、角色分配、证件、时限与日历；不办理案件",
    "supervisor": "跨单位查阅案件和期限，执法监督",
}


class UsersView(AdminOnly, BaseView):
    @expose("/")
    def index(self) -> str:
        args = {k: request.args.get(k, "").strip() for k in ("q", "unit", "role", "active", "cred")}
        query = _filtered_users(args)
        total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
        page = max(_int(request.args.get("page")) or 1, 1)
        users = list(db.session.scalars(query.order_by(User.username).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
        today = clock.today_shanghai()
        return self.render("admin_zf/users.html", users=users, args=args, total=total, page=page,
                           pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1), units=_units(), roles=_role_labels(),
                           kinds=CREDENTIAL_KINDS, status=lambda c: credential_status(c, today), status_labels=STATUS_LABELS,
                           warning_days=EXPIRY_WARNING_DAYS)

    @expose("/new", methods=["GET", "POST"])
    def create(self) -> str | Response:
        values: dict[str, Any] = {"username": "", "display_name": "", "unit": "", "roles": [], "password": ""}
        error = None
        if request.method == "POST":
            values = {k: request.form.get(k, "") for k in ("username", "display_name", "unit", "password")}
            values["roles"] = request.form.getlist("roles")
            try:
                user, password = admin_create_user(g.user, values["username"], values["unit"], values["roles"],
                                                   values["password"] or None, values["display_name"])
            except ZhifaError as exc:
                error = exc
            else:
                if not values["password"]:
                    return _shown_once(self.render("admin_zf/password_once.html", user=user, password=password, created=True))
                flash(f"已创建用户 {user.username}。", "success")
                return _redirect(self.get_url(".edit", user_id=user.id))
        page = self.render("admin_zf/user_new.html", values=values, error=error, units=_units(), roles=_role_labels())
        return page if error is None else (page, 422)  # type: ignore[return-value]

    @expose("/<int:user_id>", methods=["GET", "POST"])
    def edit(self, user_id: int) -> str | Response:
        user = db.session.get(User, user_id) or abort(404)
        values: dict[str, Any] = {"display_name": user.display_name, "unit": user.unit.code,
                                  "roles": sorted(user.role_names), "active": user.active}
        error = None
        if request.method == "POST":
            values = {"display_name": request.form.get("display_name", ""), "unit": request.form.get("unit", ""),
                      "roles": request.form.getlist("roles"), "active": request.form.get("active") == "1"}
            try:
                update_user(g.user, user_id, values["display_name"], values["unit"], values["roles"], values["active"])
            except ZhifaError as exc:
                error = exc
            else:
                flash(f"已保存用户 {user.username}。" + ("" if values["active"] else "该账号已停用，其接口令牌已全部吊销。"),
                      "success")
                return _redirect(self.get_url(".edit", user_id=user_id))
        return self._edit_page(user, values, error)

    @expose("/<int:user_id>/password", methods=["POST"])
    def password(self, user_id: int) -> str | Response:
        user = db.session.get(User, user_id) or abort(404)
        given = request.form.get("password", "")
        try:
            password = reset_password(g.user, user_id, given or None)
        except ZhifaError as exc:
            values = {"display_name": user.display_name, "unit": user.unit.code, "roles": sorted(user.role_names),
                      "active": user.active}
            return self._edit_page(user, values, None, password_error=exc)
        if not given:
            return _shown_once(self.render("admin_zf/password_once.html", user=user, password=password, created=False))
        flash(f"已重置 {user.username} 的密码。", "success")
        return _redirect(self.get_url(".edit", user_id=user_id))

    @expose("/<int:user_id>/tokens/revoke", methods=["POST"])
    def tokens(self, user_id: int) -> Response:
        count = revoke_tokens(g.user, user_id)
        flash(f"已吊销 {count} 个接口令牌。", "success")
        return _redirect(self.get_url(".edit", user_id=user_id))

    def _edit_page(self, user: User, values: dict[str, Any], error: ZhifaError | None,
                   password_error: ZhifaError | None = None) -> Any:
        today = clock.today_shanghai()
        page = self.render("admin_zf/user_edit.html", user=user, values=values, error=error, password_error=password_error,
                           units=_units(), roles=_role_labels(), kinds=CREDENTIAL_KINDS, tokens=token_count(user.id),
                           credentials=sorted(user.credentials, key=lambda c: (c.kind, c.id)),
                           status=lambda c: credential_status(c, today), status_labels=STATUS_LABELS)
        return page if error is None and password_error is None else (page, 422)


class UnitsView(AdminOnly, BaseView):
    @expose("/")
    def index(self) -> str:
        units = _units()
        counts = {unit_id: n for unit_id, n in db.session.execute(select(User.unit_id, func.count()).group_by(User.unit_id))}
        by_id = {u.id: u for u in units}
        return self.render("admin_zf/units.html", units=units, counts=counts, by_id=by_id)

    @expose("/new", methods=["GET", "POST"])
    def create(self) -> str | Response:
        values = {"code": "", "name": "", "agency_short_name": "", "parent_id": ""}
        error = None
        if request.method == "POST":
            values = {k: request.form.get(k, "") for k in values}
            try:
                create_unit(g.user, values["code"], values["name"], values["agency_short_name"], _int(values["parent_id"]))
            except ZhifaError as exc:
                error = exc
            else:
                flash(f"已创建单位 {values['code'].strip()}。", "success")
                return _redirect(self.get_url(".index"))
        return _page(self.render("admin_zf/unit_form.html", unit=None, values=values, error=error, units=_units()), error)

    @expose("/<int:unit_id>", methods=["GET", "POST"])
    def edit(self, unit_id: int) -> str | Response:
        unit = db.session.get(OrgUnit, unit_id) or abort(404)
        values = {"code": unit.code, "name": unit.name, "agency_short_name": unit.agency_short_name,
                  "parent_id": str(unit.parent_id or "")}
        error = None
        if request.method == "POST":
            values.update({k: request.form.get(k, "") for k in ("name", "agency_short_name", "parent_id")})
            try:
                update_unit(g.user, unit_id, values["name"], values["agency_short_name"], _int(values["parent_id"]))
            except ZhifaError as exc:
                error = exc
            else:
                flash(f"已保存单位 {unit.code}。", "success")
                return _redirect(self.get_url(".index"))
        others = [u for u in _units() if u.id != unit.id]
        return _page(self.render("admin_zf/unit_form.html", unit=unit, values=values, error=error, units=others), error)


class RolesView(AdminOnly, BaseView):
    """The fixed role set: lanes of the shipped procedures plus the platform's own roles."""

    @expose("/")
    def index(self) -> str:
        counts = _role_counts()
        rows = [{"name": n, "label": label, "kind": "办案环节（流程泳道）", "note": ROLE_NOTES.get(n, ""), "count": counts.get(n, 0)}
                for n, label in LANE_ROLES.items()]
        rows += [{"name": n, "label": label, "kind": "平台角色", "note": ROLE_NOTES.get(n, ""), "count": counts.get(n, 0)}
                 for n, label in SYSTEM_ROLES.items()]
        return self.render("admin_zf/roles.html", rows=rows)


class CredentialsView(AdminOnly, BaseView):
    @expose("/")
    def index(self) -> str:
        args = {k: request.args.get(k, "").strip() for k in ("status", "kind")}
        today = clock.today_shanghai()
        query = select(Credential).join(User, User.id == Credential.user_id).order_by(Credential.expires_on.is_(None),
                                                                                       Credential.expires_on, User.username)
        condition = _status_condition(args["status"], today)
        if condition is not None:
            query = query.where(condition)
        if args["kind"] in CREDENTIAL_KINDS:
            query = query.where(Credential.kind == args["kind"])
        credentials = list(db.session.scalars(query))
        return self.render("admin_zf/credentials.html", credentials=credentials, args=args, kinds=CREDENTIAL_KINDS,
                           status=lambda c: credential_status(c, today), status_labels=STATUS_LABELS, today=today,
                           warning_days=EXPIRY_WARNING_DAYS)

    @expose("/new", methods=["GET", "POST"])
    def create(self) -> str | Response:
        user = db.session.get(User, _int(request.values.get("user_id")) or 0) or abort(404)
        values = {"kind": request.values.get("kind", "law_enforcement"), "number": "", "expires_on": ""}
        error = None
        if request.method == "POST":
            values = {k: request.form.get(k, "") for k in values}
            try:
                add_credential(g.user, user.id, values["kind"], values["number"], _date(values["expires_on"]))
            except ZhifaError as exc:
                error = exc
            else:
                flash(f"已为 {user.display_name} 添加{CREDENTIAL_KINDS.get(values['kind'], '')}。", "success")
                return _redirect(self._back(user.id))
        return _page(self.render("admin_zf/credential_form.html", user=user, credential=None, values=values, error=error,
                                 kinds=CREDENTIAL_KINDS), error)

    @expose("/<int:credential_id>", methods=["GET", "POST"])
    def edit(self, credential_id: int) -> str | Response:
        cred = db.session.get(Credential, credential_id) or abort(404)
        values = {"kind": cred.kind, "number": cred.number, "expires_on": cred.expires_on.isoformat() if cred.expires_on else ""}
        error = None
        if request.method == "POST":
            values.update({k: request.form.get(k, "") for k in ("number", "expires_on")})
            try:
                update_credential(g.user, credential_id, values["number"], _date(values["expires_on"]))
            except ZhifaError as exc:
                error = exc
            else:
                flash("证件已保存。", "success")
                return _redirect(self._back(cred.user_id))
        return _page(self.render("admin_zf/credential_form.html", user=cred.user, credential=cred, values=values, error=error,
                                 kinds=CREDENTIAL_KINDS), error)

    @expose("/<int:credential_id>/delete", methods=["POST"])
    def delete(self, credential_id: int) -> Response:
        cred = db.session.get(Credential, credential_id) or abort(404)
        user_id = cred.user_id
        remove_credential(g.user, credential_id)
        flash("证件已删除。", "success")
        return _redirect(self._back(user_id))

    def _back(self, user_id: int) -> str:
        return url_for("users.edit", user_id=user_id)


def flagged_credentials() -> int:
    """Credentials of active users that are expired or expire within EXPIRY_WARNING_DAYS."""
    condition = _status_condition("flagged", clock.today_shanghai())
    return db.session.scalar(select(func.count()).select_from(Credential).join(User, User.id == Credential.user_id)
                             .where(condition, User.active.is_(True))) or 0


def _filtered_users(args: dict[str, str]) -> Select[tuple[User]]:
    query = select(User)
    if args["q"]:
        query = query.where(or_(User.username.icontains(args["q"], autoescape=True),
                                User.display_name.icontains(args["q"], autoescape=True)))
    if _int(args["unit"]):
        query = query.where(User.unit_id == _int(args["unit"]))
    if args["role"]:
        query = query.where(User.roles.any(Role.name == args["role"]))
    if args["active"] in ("1", "0"):
        query = query.where(User.active.is_(args["active"] == "1"))
    condition = _status_condition(args["cred"], clock.today_shanghai())
    if condition is not None:
        query = query.where(User.credentials.any(condition))
    return query


def _status_condition(status: str, today: dt.date) -> Any:
    """SQL for the credential filter: ``expired``, ``expiring`` or ``flagged`` (either)."""
    soon = today + dt.timedelta(days=EXPIRY_WARNING_DAYS)
    expired = Credential.expires_on < today
    expiring = and_(Credential.expires_on >= today, Credential.expires_on <= soon)
    return {"expired": expired, "expiring": expiring, "flagged": Credential.expires_on <= soon}.get(status)


def _role_counts() -> dict[str, int]:
    rows = db.session.execute(select(Role.name, func.count(User.id)).select_from(User).join(User.roles)
                              .where(User.active.is_(True)).group_by(Role.name))
    return {name: n for name, n in rows}


def _units() -> list[OrgUnit]:
    return list(db.session.scalars(select(OrgUnit).order_by(OrgUnit.code)))


def _role_labels() -> dict[str, str]:
    return {**LANE_ROLES, **SYSTEM_ROLES}


def _shown_once(page: str) -> Response:
    # The generated password is in this response only: not in a flash message (the session cookie
    # is signed, not encrypted), not in the audit log, and not kept by a browser or proxy cache.
    response = make_response(page)
    response.headers["Cache-Control"] = "no-store"
    return response


def _redirect(url: str) -> Response:
    return redirect(url)


def _page(page: str, error: ZhifaError | None) -> Any:
    return page if error is None else (page, 422)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _date(value: str) -> dt.date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("日期格式应为 YYYY-MM-DD (date must be YYYY-MM-DD)",
                           details=[{"field": "expires_on", "message": "格式不正确"}]) from None
