"""Languages: Simplified Chinese is the source language and default; English is the second locale.

The choice is a cookie set by the language switch (``POST /lang``), so it survives logout and
applies before login. Labels for engine codes (procedures, roles, statuses) live here so that
every page translates them the same way.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, redirect, request
from flask_babel import Babel, get_locale
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from .security import safe_redirect

LOCALES = ("zh", "en")
COOKIE = "zhifa_lang"
babel = Babel()
bp = Blueprint("i18n", __name__)

PROCEDURES = {
    "simplified": _l("简易程序"),
    "ordinary": _l("普通程序"),
    "hearing": _l("听证程序"),
    "legal_review": _l("重大执法决定法制审核"),
    "commitment_notice": _l("告知承诺制"),
}
ROLES = {
    "handler": _l("承办人"),
    "unit_head": _l("承办机构负责人"),
    "legal_reviewer": _l("法制审核人员"),
    "hearing_host": _l("听证主持人"),
    "hearing_clerk": _l("听证记录员"),
    "agency_head": _l("行政机关负责人"),
    "process_designer": _l("流程设计人员"),
    "administrator": _l("系统管理员"),
    "supervisor": _l("执法监督人员"),
}
CASE_STATUSES = {
    "open": _l("办理中"),
    "suspended": _l("已中止"),
    "closed": _l("已结案"),
    "terminated": _l("已终止"),
}
TASK_STATUSES = {"open": _l("待办"), "completed": _l("已办"), "cancelled": _l("已撤销")}
DEADLINE_STATES = {"normal": _l("正常"), "near": _l("临期"), "overdue": _l("超期"), "done": _l("已办")}
CLOCK_STATES = {
    "not_started": _l("未开始"),
    "running": _l("计时中"),
    "paused": _l("已暂停"),
    "stopped": _l("已停止"),
    "overdue": _l("已超期"),
}
PARTY_TYPES = {"citizen": _l("公民"), "organization": _l("法人或其他组织")}
PERIOD_UNITS = {"working_days": _l("个工作日"), "natural_days": _l("日"), "hours": _l("小时")}


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, default_locale="zh",
                   default_translation_directories=str(Path(__file__).parent / "translations"))
    app.register_blueprint(bp)

    # Globals, not a context processor: imported macros see globals without "with context".
    app.jinja_env.globals.update(
        PROCEDURES=PROCEDURES, ROLES=ROLES, CASE_STATUSES=CASE_STATUSES, TASK_STATUSES=TASK_STATUSES,
        DEADLINE_STATES=DEADLINE_STATES, CLOCK_STATES=CLOCK_STATES, PARTY_TYPES=PARTY_TYPES, PERIOD_UNITS=PERIOD_UNITS, label=label,
        current_locale=lambda: str(get_locale() or "zh"),
    )


def select_locale() -> str:
    choice = request.cookies.get(COOKIE, "")
    return choice if choice in LOCALES else "zh"


def label(table: dict[str, object], code: str | None) -> str:
    """A translated label, or the code itself for values a designer introduced (new procedures…)."""
    if code is None:
        return ""
    return str(table.get(code, code))


@bp.post("/lang")
def switch_language() -> Response:
    lang = request.form.get("lang", "zh")
    response = redirect(safe_redirect(request.form.get("next") or request.referrer, "/"))
    response.set_cookie(COOKIE, lang if lang in LOCALES else "zh", max_age=365 * 24 * 3600, httponly=True, samesite="Lax")
    return response
