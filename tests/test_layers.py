"""The engine's packages form layers: each imports only from itself and the layers below it.

ARCHITECTURE.md: ``engine`` never imports ``webui`` or Flask. docs/architecture.md: the packages of
``engine`` are ordered, and an upward import (even one inside a function, where it hides a cycle) is
refused here, so the folders keep telling the truth about what depends on what.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parent.parent / "engine"

# Bottom to top. A module may import its own package and any package listed before it.
LAYERS = [
    "errors", "clock", "db", "models", "record", "policy", "deadlines", "expressions", "forms",
    "definitions", "publication", "documents", "evidence", "runtime", "casefile", "queries", "admin", "demo",
]
RANK = {name: i for i, name in enumerate(LAYERS)}
WEB = ("webui", "flask", "flask_login", "flask_wtf", "flask_admin")


def module_name(path: Path, root: Path = ENGINE) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, root: Path = ENGINE) -> set[str]:
    """Every module imported anywhere in the file: at the top, inside functions, under TYPE_CHECKING."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names if base == "engine")
    return names


def layer_of(module: str) -> str | None:
    """``engine.policy.access`` -> ``policy``; ``engine`` itself (the namespace) -> None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "engine" else None


def upward_imports(root: Path = ENGINE) -> dict[str, list[str]]:
    offenders: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*.py")):
        own = layer_of(module_name(path, root))
        if own is None:
            continue
        bad = sorted(m for m in imported_modules(path, root)
                     if (target := layer_of(m)) is not None and target != own and RANK.get(target, 99) > RANK.get(own, -1))
        if bad:
            offenders[str(path.relative_to(root))] = bad
    return offenders


def test_every_engine_package_has_a_layer():
    packages = {p.name for p in ENGINE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    modules = {p.stem for p in ENGINE.glob("*.py") if p.stem != "__init__"}
    assert packages | modules <= set(LAYERS), "add the new package to LAYERS (and to docs/architecture.md)"


def test_engine_top_level_stays_small():
    """Issue 19: at most 8 modules at the top of engine/; everything else in a package that names what it holds."""
    assert len([p for p in ENGINE.glob("*.py") if p.stem != "__init__"]) <= 8


def test_no_upward_imports_even_inside_functions():
    assert upward_imports() == {}


def test_the_check_catches_an_upward_import_inside_a_function(tmp_path: Path):
    """The layer check itself: a lower layer importing a higher one inside a function is reported."""
    pkg = tmp_path / "engine" / "record"
    pkg.mkdir(parents=True)
    (tmp_path / "engine" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "audit.py").write_text("def late():\n    from engine.runtime import cases\n    return cases\n")
    (pkg / "fine.py").write_text("from engine.db import session\nfrom . import audit\n")
    assert upward_imports(tmp_path / "engine") == {"record/audit.py": ["engine.runtime"]}


def test_engine_never_imports_the_web_layer():
    offenders = {}
    for path in ENGINE.rglob("*.py"):
        bad = {m for m in imported_modules(path) if m.split(".")[0] in WEB}
        # Flask-SQLAlchemy's ``db`` is the one shared handle ARCHITECTURE.md allows (usable without a request).
        if bad:
            offenders[str(path.relative_to(ENGINE))] = sorted(bad)
    assert offenders == {}


@pytest.mark.parametrize("limit", [500])
def test_no_module_over_the_size_limit(limit: int):
    """Issue 19: small modules with one job each (split by job, not by line count)."""
    root = ENGINE.parent
    big = {str(p.relative_to(root)): n for p in [*ENGINE.rglob("*.py"), *(root / "webui").rglob("*.py")]
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > limit}
    assert big == {}


def test_no_test_module_imports_another_test_module():
    """Issue 19: a test module never imports another one (``tests.test_*``, ``tests.fuzz.test_*``,
    ``tests.browser.test_*`` or a relative ``.test_*``), not even inside a function: shared data, helpers and
    fixtures live in tests/support/ (fixtures in a conftest.py), so each test module stands on its own."""
    tests = Path(__file__).resolve().parent
    support = tests / "support"

    def is_test_module(name: str) -> bool:
        return any(name.startswith(prefix) for prefix in ("tests.test_", "tests.fuzz.test_", "tests.browser.test_"))

    offenders = {}
    for path in sorted(tests.rglob("*.py")):
        if path.is_relative_to(support):
            continue
        bad = []
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                bad += [alias.name for alias in node.names if is_test_module(alias.name)]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                module = node.module or ""
                if is_test_module(module):
                    bad.append(module)
                elif module in ("tests", "tests.fuzz", "tests.browser"):
                    bad += [f"{module}.{alias.name}" for alias in node.names if alias.name.startswith("test_")]
            elif isinstance(node, ast.ImportFrom):  # relative: from .test_x import y, from . import test_x
                dots = "." * node.level
                if node.module:
                    if node.module.split(".")[-1].startswith("test_") or node.module.startswith("test_"):
                        bad.append(dots + node.module)
                else:
                    bad += [dots + alias.name for alias in node.names if alias.name.startswith("test_")]
        if bad:
            offenders[str(path.relative_to(tests))] = sorted(bad)
    assert offenders == {}, f"test modules importing test modules (move what they share to tests/support/): {offenders}"
