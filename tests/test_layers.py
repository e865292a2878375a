"""engine/ runs cases without the web layer: it never imports webui or Flask (ARCHITECTURE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parent.parent / "engine"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_engine_never_imports_the_web_layer():
    offenders = {}
    for path in ENGINE.rglob("*.py"):
        bad = {m for m in imported_modules(path) if m.split(".")[0] in ("webui", "flask", "flask_login", "flask_wtf", "flask_admin")}
        # Flask-SQLAlchemy's ``db`` is the one shared handle ARCHITECTURE.md allows (usable without a request).
        if bad:
            offenders[str(path.relative_to(ENGINE))] = sorted(bad)
    assert offenders == {}
