"""Every user-visible string of the web UI is translatable, and the English catalog covers it."""

from __future__ import annotations

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tests.conftest import ROOT

METHODS = [("webui/**.py", "python"), ("webui/templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


def extracted() -> set[str]:
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), METHODS, keywords=KEYWORDS,
            directory_filter=lambda path: "vendor" not in path and "node_modules" not in path and ".venv" not in path):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_ui_string_has_an_english_translation():
    with open(ROOT / "webui/translations/en/LC_MESSAGES/messages.po", "rb") as f:
        catalog = read_po(f, locale="en")
    translated = {m.id: m.string for m in catalog if m.id}
    missing = sorted(m for m in extracted() if not translated.get(m))
    assert not missing, f"untranslated (run pybabel extract/update, then translate): {missing}"


def test_every_event_on_a_case_timeline_has_a_label():
    """The timeline never shows an event's code (``document.issued``) in the Chinese UI."""
    import re
    from pathlib import Path

    from webui.timeline import ACTIONS

    root = Path(__file__).parent.parent
    recorded = {m for path in [*root.glob("engine/**/*.py"), *root.glob("webui/**/*.py")]
                for m in re.findall(r'audit\.record\(\s*f?"([a-z_]+\.[a-z_]+)"', path.read_text(encoding="utf-8"))}
    system_chain = {a for a in recorded if a.split(".")[0] in
                    {"user", "token", "credential", "unit", "draft", "document_type", "time_limit", "audit",
                     "deployment", "deployment_review"}}  # system chain: labelled in webui/audit_labels.py
    system_chain |= {"calendar.changed", "time_limit.reapplied"}
    assert recorded - system_chain - set(ACTIONS) == set()
