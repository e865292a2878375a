"""Administration (Flask-Admin, role ``administrator``): time limits, holiday calendar, incidents,
and read-only views of deployments and the audit log.

Every change goes through an engine command (bounds, reason, audit, revision bump); the views only
collect input and show the engine's answer next to the field it concerns.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask, abort, flash, g, redirect, request
from flask_admin import Admin, AdminIndexView, BaseView, expose
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.filters import BaseSQLAFilter, FilterEqual, FilterLike, IntEqualFilter
from flask_admin.model.filters import BaseDateBetweenFilter, BaseDateFilter
from flask_admin.theme import Bootstrap4Theme
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from engine import clock
from engine.admin.time_limits import UNIT_LABELS, calendar_year, missing_years, set_calendar_year, set_time_limit
from engine.admin.users import EXPIRY_WARNING_DAYS
from engine.casefile.verify import verify_everything
from engine.errors import ZhifaError
from engine.models import AuditEvent, Case, Deployment, ProcessInstance, TimeLimit, db
from engine.runtime import retry_instance
from engine.runtime.reapply import apply_limit_change, preview_limit_change

from .admin_access import ADMIN_ROLE, AdminOnly
from .admin_agencies import AgenciesView
from .admin_documents import DocumentTypesView
from .admin_numbering import FormNumbersView
from .admin_people import CredentialsView, RolesView, UnitsView, UsersView, flagged_credentials
from .audit_labels import action_options
from .audit_labels import formatters as audit_formatters

__all__ = ["ADMIN_ROLE", "init_app"]


class HomeView(AdminOnly, AdminIndexView):
    @expose("/")
    def index(self) -> str:
        incidents = db.session.scalar(select(func.count()).select_from(ProcessInstance).where(ProcessInstance.error.is_not(None)))
        return self.render("admin_zf/home.html", missing=missing_years(), incidents=incidents,
                           flagged_credentials=flagged_credentials(), warning_days=EXPIRY_WARNING_DAYS)


class TimeLimitsView(AdminOnly, BaseView):
    @expose("/")
    def index(self) -> str:
        limits = db.session.scalars(select(TimeLimit).order_by(TimeLimit.key))
        return self.render("admin_zf/time_limits.html", limits=limits, units=UNIT_LABELS, tz=clock.SHANGHAI)

    @expose("/<key>", methods=["GET", "POST"])
    def edit(self, key: str) -> str | Response:
        limit = db.session.get(TimeLimit, key)
        if limit is None:
            abort(404)
        error, values = None, {"amount": limit.amount, "unit": limit.unit, "warn_before": limit.warn_before, "reason": ""}
        if request.method == "POST":
            values = {k: request.form.get(k, "") for k in ("amount", "unit", "warn_before", "reason")}
            try:
                set_time_limit(g.user, key, _int(values["amount"]), values["unit"], values["reason"], _int(values["warn_before"]))
            except ZhifaError as exc:
                error = exc
            else:
                flash("时限已更新：新立案件和新任务即时适用；在办案件请预览后确认是否同步调整。", "success")
                return redirect(self.get_url(".preview", key=key))
        allowed = (limit.units or limit.unit).split(",")
        return self.render("admin_zf/time_limit_edit.html", limit=limit, values=values, error=error,
                           units=UNIT_LABELS, allowed=allowed)

    @expose("/<key>/preview", methods=["GET", "POST"])
    def preview(self, key: str) -> str | Response:
        if db.session.get(TimeLimit, key) is None:
            abort(404)
        error = None
        if request.method == "POST":
            try:
                applied = apply_limit_change(g.user, key, request.form.get("reason", ""))
            except ZhifaError as exc:
                error = exc
            else:
                flash(f"已同步调整 {len(applied)} 项在办期限。", "success")
                return redirect(self.get_url(".index"))
        return self.render("admin_zf/time_limit_preview.html", key=key, changes=preview_limit_change(key), error=error)


class CalendarView(AdminOnly, BaseView):
    @expose("/")
    def index(self) -> str:
        this_year = clock.today_shanghai().year
        years = [calendar_year(y) for y in range(this_year - 1, this_year + 2)]
        return self.render("admin_zf/calendar.html", years=years, missing=missing_years())

    @expose("/<int:year>", methods=["GET", "POST"])
    def edit(self, year: int) -> str | Response:
        """One row per holiday or make-up day; a bad row is named by its number and kept as typed."""
        current = calendar_year(year)
        rows = [{"date": d["date"], "kind": d["kind"], "name": d["name"]} for d in current["days"]]
        error, reason, row_errors = None, "", {}
        if request.method == "POST":
            rows, reason = _calendar_rows(request.form), request.form.get("reason", "")
            try:
                set_calendar_year(g.user, year, rows, reason)
            except ZhifaError as exc:
                error = exc
                row_errors = _row_errors(exc)
            else:
                flash(f"{year} 年日历已保存，暂定期限已按新日历重算。", "success")
                return redirect(self.get_url(".index"))
        rows = rows + [{"date": "", "kind": "holiday", "name": ""}] * (3 if rows else 12)
        return self.render("admin_zf/calendar_edit.html", year=year, current=current, rows=rows, reason=reason,
                           error=error, row_errors=row_errors)


class IncidentsView(AdminOnly, BaseView):
    @expose("/")
    def index(self) -> str:
        rows = db.session.execute(
            select(ProcessInstance, Case.case_number).join(Case, Case.id == ProcessInstance.case_id)
            .where(ProcessInstance.error.is_not(None)).order_by(ProcessInstance.id)
        ).all()
        return self.render("admin_zf/incidents.html", rows=rows)

    @expose("/<int:instance_id>/retry", methods=["POST"])
    def retry(self, instance_id: int) -> Response:
        retry_instance(g.user, instance_id)
        flash("已重新排队，下一次扫描将重试。", "success")
        return redirect(self.get_url(".index"))


class RecordVerifyView(AdminOnly, BaseView):
    """全过程记录校验: run the hash-chain verification of every case and of the system chain."""

    @expose("/", methods=["GET", "POST"])
    def index(self) -> str:
        result = None
        if request.method == "POST":
            result = verify_everything(g.user)
        return self.render("admin_zf/record_verify.html", result=result)


class ReadOnlyView(AdminOnly, ModelView):
    can_create = can_edit = can_delete = False
    can_view_details = True
    page_size = 50


class _OnOrAfterDay(BaseSQLAFilter, BaseDateFilter):
    """Audit times are stored in UTC; a day typed by an administrator is a Beijing-time day."""

    def apply(self, query: Any, value: dt.date, alias: Any = None) -> Any:
        return query.filter(self.get_column(alias) >= _day_start(value))

    def operation(self) -> str:
        return "自（含）"


class _OnOrBeforeDay(BaseSQLAFilter, BaseDateFilter):
    def apply(self, query: Any, value: dt.date, alias: Any = None) -> Any:
        return query.filter(self.get_column(alias) < _day_start(value + dt.timedelta(days=1)))

    def operation(self) -> str:
        return "至（含）"


class _BetweenDays(BaseSQLAFilter, BaseDateBetweenFilter):
    def __init__(self, column: Any, name: str) -> None:
        super().__init__(column, name, data_type="daterangepicker")

    def apply(self, query: Any, value: list[dt.date], alias: Any = None) -> Any:
        start, end = value
        column = self.get_column(alias)
        return query.filter(column >= _day_start(start), column < _day_start(end + dt.timedelta(days=1)))

    def operation(self) -> str:
        return "介于"


class _Equal(FilterEqual):
    def operation(self) -> str:
        return "等于"


class _IntEqual(IntEqualFilter):
    """Case ids are integers: PostgreSQL refuses comparing them with the filter's text."""

    def operation(self) -> str:
        return "等于"


class _Contains(FilterLike):
    def operation(self) -> str:
        return "包含"


class AuditLogView(ReadOnlyView):
    """Read-only and filterable by action, actor, case and date range (Beijing days)."""

    column_list = ("at", "chain", "seq", "actor", "action", "case_id", "task_id", "hash")
    column_filters = (
        _Equal(AuditEvent.action, "动作", options=action_options), _Contains(AuditEvent.action, "动作"),
        _Equal(AuditEvent.actor, "操作人"), _Contains(AuditEvent.actor, "操作人"),
        _IntEqual(AuditEvent.case_id, "案件"), _Equal(AuditEvent.chain, "链"),
        _BetweenDays(AuditEvent.at, "日期"), _OnOrAfterDay(AuditEvent.at, "日期"), _OnOrBeforeDay(AuditEvent.at, "日期"),
    )
    column_default_sort = ("id", True)
    column_formatters = audit_formatters()  # actions, chains and machine actors in words, not codes
    column_labels = {"at": "时间", "chain": "链", "seq": "序号", "actor": "操作人", "action": "动作", "case_id": "案件",
                     "task_id": "任务", "hash": "哈希", "data": "内容", "prev_hash": "前一哈希", "instance_id": "流程实例"}


class DeploymentView(ReadOnlyView):
    column_list = ("id", "created_at", "created_by", "comment", "bundle_hash")
    column_default_sort = ("id", True)
    column_labels = {"id": "编号", "created_at": "部署时间", "created_by": "部署人", "comment": "说明", "bundle_hash": "内容哈希"}


def init_app(app: Flask) -> None:
    admin = Admin(app, name="执法平台管理", url="/admin", theme=Bootstrap4Theme(),
                  index_view=HomeView(name="概览", url="/admin"))
    admin.add_view(TimeLimitsView(name="时限", endpoint="time_limits"))
    admin.add_view(CalendarView(name="节假日日历", endpoint="calendar"))
    admin.add_view(IncidentsView(name="异常实例", endpoint="incidents"))
    admin.add_view(DocumentTypesView(name="文书编号", endpoint="document_types"))
    admin.add_view(FormNumbersView(name="号段", endpoint="form_numbers"))
    admin.add_view(AgenciesView(name="行政机关", endpoint="agencies", category="人员"))
    admin.add_view(UsersView(name="用户", endpoint="users", category="人员"))
    admin.add_view(CredentialsView(name="证件", endpoint="credentials", category="人员"))
    admin.add_view(UnitsView(name="单位", endpoint="units", category="人员"))
    admin.add_view(RolesView(name="角色", endpoint="roles", category="人员"))
    admin.add_view(RecordVerifyView(name="记录校验", endpoint="record_verify"))
    admin.add_view(DeploymentView(Deployment, db, name="部署", endpoint="deployments"))
    admin.add_view(AuditLogView(AuditEvent, db, name="审计日志", endpoint="audit_log"))


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=clock.SHANGHAI)


def _int(value: str) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value  # the engine refuses it with a message naming the field


def _calendar_rows(form: Any) -> list[dict[str, str]]:
    """The editor's rows ``day-<i>-date|kind|name`` in row order; rows without a date are blank."""
    indexes = sorted({int(k.split("-")[1]) for k in form if k.startswith("day-") and k.count("-") == 2
                      and k.split("-")[1].isascii() and k.split("-")[1].isdigit() and len(k.split("-")[1]) <= 4})
    rows = [{f: form.get(f"day-{i}-{f}", "").strip() for f in ("date", "kind", "name")} for i in indexes]
    return [r for r in rows if r["date"] or r["name"]]


def _row_errors(exc: ZhifaError) -> dict[int, str]:
    """Row number (0-based) → message, from the engine's ``days.<i>.<field>`` details."""
    out: dict[int, str] = {}
    for item in exc.details or []:
        parts = str(item.get("field", "")).split(".") if isinstance(item, dict) else []
        if len(parts) >= 2 and parts[0] == "days" and parts[1].isdigit():
            out.setdefault(int(parts[1]), str(item.get("message", "")))
    return out
