"""Languages: Simplified Chinese is the source language and default; English is the second locale.

The choice is a cookie set by the language switch (``POST /lang``), so it survives logout and
applies before login. Labels for engine codes (procedures, roles, statuses) live here so that
every page translates them the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from flask import Blueprint, Flask, current_app, redirect, request
from flask_babel import Babel, get_locale
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from engine.definitions.procedures import library, procedures
from engine.errors import ZhifaError

from .security import safe_redirect

LOCALES = ("zh", "en")
COOKIE = "zhifa_lang"
# The Chinese UI runs in Babel's zh_Hans_CN: the catalogs Flask-Admin and WTForms ship for their own
# screens ("List", "Filter", "This field is required.") are found under that name (and WTForms' under
# its "zh" fallback); zhifa's own strings are Chinese already and need no catalog.
BABEL_LOCALES = {"zh": "zh_Hans_CN", "en": "en"}
babel = Babel()
bp = Blueprint("i18n", __name__)


class ProcedureLabels(Mapping[str, str]):
    """Procedures' labels as each procedure's own BPMN names them (``label``/``label_en`` on its
    ``<process>``, engine/definitions/procedures.py), in the page's language: a new procedure brings
    its labels with it."""

    def _table(self) -> dict[str, str]:
        english = current_locale() == "en"
        # The active deployment first; then the library this server deploys from (a procedure not
        # deployed yet, or cases of one since withdrawn from the deployment).
        folder = current_app.config.get("ZHIFA_PROCESSES_DIR")
        known = {**(library(folder) if folder else {}), **procedures()}
        return {pid: p.label_en if english else p.label for pid, p in known.items()}

    def __getitem__(self, process_id: str) -> str:
        return self._table()[process_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


PROCEDURES = ProcedureLabels()
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
# Actors that are not people (engine/CLI set-up, the scheduler, demo data): named in words, not codes.
MACHINE_ACTORS = {"system": _l("系统"), "setup": _l("系统初始化"), "demo": _l("演示数据"), "scheduler": _l("定时任务")}
PERIOD_UNITS = {"working_days": _l("个工作日"), "natural_days": _l("日"), "hours": _l("小时")}


_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
_LATIN = re.compile(r"[A-Za-z]")


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, default_locale="zh",
                   default_translation_directories=str(Path(__file__).parent / "translations"))
    app.register_blueprint(bp)

    # Globals, not a context processor: imported macros see globals without "with context".
    app.jinja_env.globals.update(
        PROCEDURES=PROCEDURES, ROLES=ROLES, CASE_STATUSES=CASE_STATUSES, TASK_STATUSES=TASK_STATUSES,
        DEADLINE_STATES=DEADLINE_STATES, CLOCK_STATES=CLOCK_STATES, PARTY_TYPES=PARTY_TYPES, PERIOD_UNITS=PERIOD_UNITS, label=label,
        current_locale=current_locale,
    )
    app.jinja_env.filters["localized"] = localized
    app.jinja_env.filters["actor"] = actor_name


def select_locale() -> str:
    choice = request.cookies.get(COOKIE, "")
    return BABEL_LOCALES[choice if choice in LOCALES else "zh"]


def current_locale() -> str:
    """``zh`` or ``en``: the language of the page (Babel's locale may carry script and territory)."""
    locale = get_locale()
    return locale.language if locale is not None and locale.language in LOCALES else "zh"


def actor_name(actor: object) -> str:
    """Who did something, as a page names them: a person's name stays, ``system`` becomes 系统."""
    text = "" if actor is None else str(actor)
    return str(MACHINE_ACTORS.get(text, text))


def field_errors(error: ZhifaError | None) -> dict[str, str]:
    """field → the engine's message for it, in the page's language (the first one per field): a
    detail's ``message_en`` on the English pages when it has one, else its ``message``."""
    english = current_locale() == "en"
    out: dict[str, str] = {}
    for item in error.details if error is not None and isinstance(error.details, list) else []:
        if isinstance(item, dict) and item.get("field"):
            text = item.get("message_en") if english and item.get("message_en") else item.get("message", "")
            out.setdefault(str(item["field"]), str(text))
    return out


def localized(message: object) -> str:
    """An engine message as the current language shows it.

    Engine errors are bilingual by contract, ``中文说明 (English explanation)``, so API clients get
    both. The Chinese UI shows no English words: parenthesised runs without any Chinese character that
    contain Latin letters are left out there (``必填 (required)`` → ``必填``). The English UI keeps the
    whole text: the Chinese half names the legal rule. User-typed text must never go through this."""
    text = "" if message is None else str(message)
    if current_locale() != "zh" or "(" not in text:
        return text
    return strip_english(text)


def strip_english(text: str) -> str:
    """``text`` without its parenthesised English runs (nested parentheses counted, CJK runs kept)."""
    out: list[str] = []
    depth, start = 0, 0
    for i, char in enumerate(text):
        if char == "(":
            if depth == 0:
                start = i
            depth += 1
        elif char == ")" and depth:
            depth -= 1
            if depth == 0:
                inner = text[start + 1:i]
                if not _CJK.search(inner) and _LATIN.search(inner):
                    while out and out[-1] == " ":
                        out.pop()
                else:
                    out.append(text[start:i + 1])
        elif depth == 0:
            out.append(char)
    if depth:  # an unbalanced "(": keep the rest as it is
        out.append(text[start:])
    return "".join(out).strip()


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
