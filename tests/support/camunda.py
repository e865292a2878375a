"""The mini bundle (tests/support/bundles.py) as another tool would have written parts of it: its BPMN
declares the Camunda 7, Zeebe and Flowable namespaces, and edits put their extensions in."""

from __future__ import annotations

from typing import Any

from engine.definitions import Bundle
from engine.definitions.deploy import validate_bundle
from tests.support.bundles import MINI_BPMN, edited, with_file

NAMESPACES = {
    "camunda": "http://camunda.org/schema/1.0/bpmn",
    "zeebe": "http://camunda.org/schema/zeebe/1.0",
    "flowable": "http://flowable.org/bpmn",
}
_SPIFF = 'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'


def foreign_text(*replacements: tuple[str, str]) -> str:
    """mini.bpmn with the foreign namespaces declared and ``replacements`` applied (each old text unique)."""
    declared = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in NAMESPACES.items())
    return edited(MINI_BPMN, (_SPIFF, f"{_SPIFF} {declared}"), *replacements)


def foreign_bundle(*replacements: tuple[str, str]) -> Bundle:
    return with_file(MINI_BPMN, foreign_text(*replacements))


def problems(*replacements: tuple[str, str]) -> list[Any]:
    """Deploy problems of the edited mini bundle (in an app context)."""
    return validate_bundle(foreign_bundle(*replacements))[1]


def at(found: list[Any], element: str) -> list[Any]:
    return [p for p in found if p.element == element]
