"""Document content: sandboxed Jinja2 templates over a data snapshot, autoescaped.

Templates use the HTML subset the PDF writer understands (h1–h3, p, b, br, table/tr/td), so the
print view and the PDF show the same stored content.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

TEMPLATES = Path(__file__).resolve().parent / "templates"
BLANK = "＿＿＿＿＿＿"

_env = ImmutableSandboxedEnvironment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True,
                                     undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def cn_date(value: str) -> str:
    """``2026-03-02`` -> ``2026年3月2日`` (anything else unchanged)."""
    parts = str(value)[:10].split("-")
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        return f"{int(parts[0])}年{int(parts[1])}月{int(parts[2])}日"
    return str(value)


_env.filters["cn_date"] = cn_date


def render_content(template: str, snapshot: dict[str, Any]) -> str:
    """The HTML fragment of one document; ``snapshot`` is what generate.py stores beside it."""
    return _env.get_template(template).render(**snapshot, v=_Values(snapshot), blank=BLANK)


class _Values:
    """``v('key')``: a field for display (this task's form first, then earlier case data)."""

    def __init__(self, snapshot: dict[str, Any]) -> None:
        self._form = snapshot.get("form") or {}
        self._data = snapshot.get("data") or {}
        self._labels = snapshot.get("labels") or {}

    def __call__(self, key: str, default: str = BLANK) -> str:
        value = self._form.get(key, self._data.get(key))
        text = display(value, self._labels.get(key, {}).get("enum") or {})
        return text if text else default

    def title(self, key: str) -> str:
        return str(self._labels.get(key, {}).get("title") or key)

    def form_fields(self) -> list[tuple[str, str]]:
        """(title, value) of every field the task submitted, in form order."""
        return [(self.title(k), self(k, "")) for k in self._form]


def display(value: Any, enum_labels: dict[str, str] | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return f"{value:,.2f}" if value != int(value) else f"{int(value):,}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, list):
        return "、".join(display(v, enum_labels) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{k}：{display(v)}" for k, v in value.items())
    text = str(value)
    return str((enum_labels or {}).get(text, text))
