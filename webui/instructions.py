"""A task's ``instructionsForEndUser``: a designer's Markdown with ``{{ field }}`` placeholders.

Placeholders are filled in a Jinja sandbox (no attribute tricks, no code), the result is escaped
as a whole, and only then is a small Markdown subset (paragraphs, lists, bold) turned into tags:
neither a designer's text nor a party's name can ever put markup on the page.
"""

from __future__ import annotations

import re
from typing import Any

from jinja2 import ChainableUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

_env = ImmutableSandboxedEnvironment(undefined=ChainableUndefined, autoescape=False)
_BOLD = re.compile(r"\*\*(.+?)\*\*")
MAX_LENGTH = 20_000


def render_instructions(source: str | None, data: dict[str, Any]) -> Markup:
    if not source:
        return Markup("")
    try:
        text = _env.from_string(source[:MAX_LENGTH]).render(**{k: v for k, v in data.items() if isinstance(k, str)})
    except TemplateError:
        text = source  # a broken placeholder shows the designer's text as written
    return _markdown(str(escape(text)))


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
