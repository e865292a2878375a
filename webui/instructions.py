"""A task's ``instructionsForEndUser``: a designer's Markdown with ``{{ field }}`` placeholders.

Placeholders are filled by the engine's bounded Jinja sandbox (engine/expressions/templates.py: no
attribute tricks, no code, bounded in time, loop steps and size; the same environment the deploy-time
lint compiles every template with), the result is escaped as a whole, and only then is a small
Markdown subset (paragraphs, lists, bold) turned into tags: neither a designer's text nor a party's
name can ever put markup on the page.

A template that fails or hits a limit while rendering (``{{ 1/0 }}`` with this case's data, a loop
over a huge list...) never makes the task page a 500: the officer sees :data:`RENDER_FAILED` in place
of the instructions, and the error is logged for the designer.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from markupsafe import Markup, escape

from engine.expressions.templates import MAX_TEMPLATE_CHARS, render_instructions_text

_BOLD = re.compile(r"\*\*(.+?)\*\*")
MAX_LENGTH = MAX_TEMPLATE_CHARS
RENDER_FAILED = ("办理说明无法显示：说明模板有误或超出系统限制，请联系流程设计人员。"
                 "(The instructions cannot be shown: their template fails or exceeds the system's limits; "
                 "please tell the process designer.)")


def render_instructions(source: str | None, data: dict[str, Any]) -> Markup:
    if not source:
        return Markup("")
    try:
        text = render_instructions_text(source, data)
    except Exception:  # noqa: BLE001 - whatever the template does, the page still renders
        _log().warning("task instructions failed to render", exc_info=True)
        return Markup('<p class="alert alert-warning" role="alert">') + escape(RENDER_FAILED) + Markup("</p>")
    return _markdown(str(escape(text)))


def _log() -> logging.Logger:
    log = logging.getLogger(__name__)
    # Alembic's fileConfig (migrations/env.py, run by `zhifa run` before serving) disables every logger
    # that existed before it; this one must still reach the designer.
    log.disabled = False
    return log


def _markdown(escaped: str) -> Markup:
    html: list[str] = []
    for block in re.split(r"\n\s*\n", escaped.strip()):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if lines and all(line in ("-", "*") or line.startswith(("- ", "* ")) for line in lines):
            html.append("<ul>" + "".join(f"<li>{_inline(line[2:])}</li>" for line in lines) + "</ul>")
        elif lines:
            html.append("<p>" + "<br>".join(_inline(line) for line in lines) + "</p>")
    return Markup("".join(html))  # noqa: S704 - built only from escaped text and our own tags


def _inline(text: str) -> str:
    return _BOLD.sub(r"<strong>\1</strong>", text)
