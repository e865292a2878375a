"""执法监督 dashboard (supervisors, agency heads, administrators): figures from engine.queries.supervision,
charts drawn by static/js/dashboard.js from ``data.json``, and every table as CSV.

The page, the chart data and the CSV files read the same filters (``unit``, ``from``, ``to``), so a
chart and the table exported beside it always agree.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, abort, g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from engine import clock
from engine.errors import InvalidInput
from engine.queries import supervision as sv

from .api.present import due_label
from .i18n import PROCEDURES, label
from .security import id_arg

bp = Blueprint("supervision", __name__, url_prefix="/supervision")

OUTCOMES = {"approve": _l("同意"), "return": _l("退回补充")}


@bp.before_request
@login_required
def _supervisors_only() -> None:
    if not sv.can_supervise(g.user):
        abort(403)


@bp.get("/")
def dashboard() -> str:
    f = _filters()
    return render_template(
        "supervision/dashboard.html", f=f, units=sv.visible_units(g.user), unit_id=request.args.get("unit", type=id_arg),
        open_cases=sv.open_cases(f), deadlines=sv.deadlines_by_unit(f), late=sv.late_tasks(f),
        steps=sv.step_durations(f), waiting=sv.longest_waiting(f), reviews=sv.review_return_rate(f),
        hearings=sv.hearing_rate(f), query=_query(), step_label=_step_label, tables=list(TABLES),
    )


@bp.get("/data.json")
def data() -> Response:
    """What the charts draw: Chart.js ``{labels, datasets}`` per chart."""
    f = _filters()
    return jsonify({
        "open_cases": _open_cases_chart(sv.open_cases(f)),
        "deadlines": _deadlines_chart(sv.deadlines_by_unit(f)),
        "steps": _steps_chart(sv.step_durations(f)),
        "reviews": _reviews_chart(sv.review_return_rate(f)),
    })


@bp.get("/export/<table>.csv")
def export(table: str) -> Response:
    """One table as CSV, UTF-8 with a byte-order mark so that Excel reads the Chinese text; text cells
    that would start a formula are neutralised (:func:`csv_cell`)."""
    if table not in TABLES:
        abort(404)
    f = _filters()
    header, rows = TABLES[table](f)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([csv_cell(h) for h in header])
    writer.writerows([csv_cell(cell) for cell in row] for row in rows)
    name = f"supervision-{table}-{f.date_from.isoformat()}-{f.date_to.isoformat()}.csv"
    return Response(out.getvalue(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# Cells a spreadsheet would run as a formula (OWASP "CSV Injection"): = + - @, and tab or carriage
# return, which Excel skips before reading one of those.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """One cell for the CSV: text that a spreadsheet would read as a formula gets a leading ``'``.

    Party names, task names and notes are typed by people; a party named ``=HYPERLINK(...)`` must
    open in Excel as that text, not as a link or a command. Numbers (counts, days, numerators) are
    written as numbers and left alone: they hold no formula, and ``-1.5`` prefixed would become text
    and stop adding up. So only text cells are neutralised (anything not a number is written as its
    text, lazy translations included), which never turns a number into text.
    """
    if value is None or isinstance(value, int | float | Decimal):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _filters() -> sv.Filters:
    return sv.make_filters(g.user, request.args.get("unit", type=id_arg) or None,
                           _date(request.args.get("from")), _date(request.args.get("to")))


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"日期格式应为 YYYY-MM-DD：{value[:20]} (dates are YYYY-MM-DD)") from None


def _query() -> dict[str, str]:
    return {k: v for k in ("unit", "from", "to") if (v := request.args.get(k, ""))}


def _step_label(process_id: str, name: str) -> str:
    return f"{label(PROCEDURES, process_id)} · {name}"


def _percent(rate: sv.Rate) -> str:
    return "" if rate.value is None else f"{rate.value * 100:.1f}%"


# Charts -------------------------------------------------------------------------------------------

def _open_cases_chart(rows: list[sv.OpenCases]) -> dict[str, Any]:
    procedures = sorted({r.procedure for r in rows})
    units = sorted({(r.unit_id, r.unit_name) for r in rows}, key=lambda u: u[1])
    counts = {(r.procedure, r.unit_id): r.count for r in rows}
    return {"labels": [label(PROCEDURES, p) for p in procedures],
            "datasets": [{"label": name, "data": [counts.get((p, uid), 0) for p in procedures]} for uid, name in units]}


def _deadlines_chart(rows: list[sv.UnitDeadlines]) -> dict[str, Any]:
    return {"labels": [r.unit_name for r in rows], "datasets": [
        {"label": _("正常"), "data": [r.open - r.near - r.overdue for r in rows], "color": "#198754"},
        {"label": _("临期"), "data": [r.near for r in rows], "color": "#ffc107"},
        {"label": _("超期"), "data": [r.overdue for r in rows], "color": "#dc3545"},
    ]}


def _steps_chart(rows: list[sv.StepStats]) -> dict[str, Any]:
    return {"labels": [_step_label(r.process_id, r.name) for r in rows], "datasets": [
        {"label": _("平均用时（天）"), "data": [r.avg_days for r in rows], "color": "#0d6efd"},
        {"label": _("P90 用时（天）"), "data": [r.p90_days for r in rows], "color": "#6f42c1"},
        {"label": _("期限（天）"), "data": [r.limit_days for r in rows], "color": "#adb5bd"},
    ]}


def _reviews_chart(rate: sv.Rate) -> dict[str, Any]:
    return {"labels": [str(OUTCOMES["approve"]), str(OUTCOMES["return"])], "datasets": [
        {"label": _("法制审核结论"), "data": [rate.denominator - rate.numerator, rate.numerator], "color": ["#198754", "#dc3545"]},
    ]}


# CSV tables ---------------------------------------------------------------------------------------

Table = tuple[list[Any], list[list[Any]]]


def _open_cases_table(f: sv.Filters) -> Table:
    return ([_l("程序"), _l("单位"), _l("在办案件数")],
            [[label(PROCEDURES, r.procedure), r.unit_name, r.count] for r in sv.open_cases(f)])


def _late_table(f: sv.Filters) -> Table:
    states = {"near": _("临期"), "overdue": _("超期")}
    return ([_l("案号"), _l("程序"), _l("单位"), _l("任务"), _l("状态"), _l("期限"), _l("承办人")],
            [[t.case_number, label(PROCEDURES, t.procedure), t.unit_name, t.name, states[t.state], due_label(t.due_at),
              t.assignee or ""] for t in sv.late_tasks(f, limit=10_000)])


def _steps_table(f: sv.Filters) -> Table:
    return ([_l("程序"), _l("环节"), _l("完成数"), _l("平均用时（天）"), _l("P90 用时（天）"), _l("期限（天）"), _l("按期完成率")],
            [[label(PROCEDURES, s.process_id), s.name, s.completed, s.avg_days, s.p90_days,
              "" if s.limit_days is None else s.limit_days,
              "" if s.on_time_share is None else f"{s.on_time_share * 100:.1f}%"] for s in sv.step_durations(f)])


def _waiting_table(f: sv.Filters) -> Table:
    return ([_l("案号"), _l("程序"), _l("单位"), _l("当事人"), _l("等待中的任务"), _l("等待起始"), _l("已等待（天）")],
            [[w.case_number, label(PROCEDURES, w.procedure), w.unit_name, w.party_name, w.task_name,
              w.waiting_since.astimezone(clock.SHANGHAI).strftime("%Y-%m-%d %H:%M"), w.waiting_days]
             for w in sv.longest_waiting(f, limit=1000)])


def _rates_table(f: sv.Filters) -> Table:
    reviews, hearings = sv.review_return_rate(f), sv.hearing_rate(f)
    return ([_l("指标"), _l("分子"), _l("分母"), _l("比率"), _l("说明")],
            [[_("法制审核退回率"), reviews.numerator, reviews.denominator, _percent(reviews), reviews.note],
             [_("听证率"), hearings.numerator, hearings.denominator, _percent(hearings), hearings.note]])


TABLES: dict[str, Callable[[sv.Filters], Table]] = {
    "open_cases": _open_cases_table,
    "late_tasks": _late_table,
    "steps": _steps_table,
    "waiting": _waiting_table,
    "rates": _rates_table,
}
