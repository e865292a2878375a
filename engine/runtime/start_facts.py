"""The facts a case is filed with, beyond the party: the procedure's own start form.

A procedure names its start form in the ``start_form`` property of its BPMN ``<process>``
(engine/definitions/procedures.py; checked at deploy: a form of the same deployment, flat scalar
fields). A procedure that names none takes the engine's default facts below, the ones every
procedure took before procedures named their own (违法行为, 拟处罚种类, 拟罚款金额). ``start_case`` checks
the facts against the chosen procedure's form; the registration page and ``GET /api/v1/start-form``
show the same form (engine/queries/start_form.py).
"""

from __future__ import annotations

from typing import Any

from engine.deadlines.reference import reference
from engine.definitions.procedures import procedure
from engine.forms.schema import form_schema

FACTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "violation": {"title": "违法行为", "type": "string", "maxLength": 2000},
        "penalty_kind": {
            "title": "拟处罚种类", "type": "string",
            "enum": ["warning", "fine", "confiscation", "licence_revocation", "suspension", "closure", "other", "none"],
        },
        "proposed_fine": {"title": "拟罚款金额（元）", "type": "number", "minimum": 0, "maximum": 1e10},
    },
}


def facts_schema(process_id: str) -> dict[str, Any]:
    """The JSON Schema of the facts a start of ``process_id`` takes: its ``start_form`` in its active
    deployment, else the default. An unknown procedure gets the default (starting it is refused later)."""
    described = procedure(process_id)
    if described is None or described.start_form is None:
        return FACTS_SCHEMA
    return form_schema(reference().active[process_id].deployment_id, described.start_form)
