"""What starting a case needs: the registration page and ``GET /api/v1/start-form`` both read this.

The rule is the engine's (engine/runtime/cases.py ``START_SCHEMA`` for the party, and each procedure's
start form for the facts, engine/runtime/start_facts.py; both checked by ``start_case``): the party's
type and name are required; the facts are what the chosen procedure's ``start_form`` declares (the
shipped procedures: 违法行为, 拟处罚种类, 拟罚款金额, all optional). Before a procedure is chosen the
form offers the facts of every startable procedure (the procedure suggestion reads them).
Why optional: every procedure's first step records the facts in writing and requires them there
(案件来源登记表 ``lead_summary``, 当场处罚决定书 ``facts_and_reasons``, 告知承诺 ``violation_description``),
and a lead from an anonymous complaint may not yet name the violation. The page used to insist on
``violation`` where the engine and the API did not; now neither does, and both show the same form.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from engine.errors import NotFound
from engine.models import ActiveProcess, ProcessSpec, User, db
from engine.policy.permissions import CASE_STARTERS
from engine.runtime.cases import START_SCHEMA
from engine.runtime.party import ID_TYPES
from engine.runtime.start_facts import FACTS_SCHEMA, facts_schema

# How the page draws each field of the engine's own schemas (labels of enum values in Chinese; the web
# layer translates them). A procedure's start form carries its own widgets and labels.
WIDGETS: dict[str, dict[str, Any]] = {
    "party_type": {"x-widget": "radio", "x-enum-labels": {"citizen": "公民", "organization": "法人或其他组织"}},
    "party_name": {"x-widget": "text"},
    "party_id_type": {"x-widget": "select", "x-party": "citizen", "x-enum-labels": {t: t for t in ID_TYPES}},
    "party_id_number": {"x-widget": "text", "x-party": "citizen", "description": "页面上只显示脱敏后的号码"},
    "party_credit_code": {"x-widget": "text", "x-party": "organization", "description": "18 位，见营业执照"},
    "party_legal_rep": {"x-widget": "text", "x-party": "organization"},
    "party_contact": {"x-widget": "text", "x-party": "organization", "description": "如：王五 13800138000"},
    "party_address": {"x-widget": "text"},
    "party_phone": {"x-widget": "text"},
    "e_service_consent": {"x-widget": "checkbox", "description": "当事人书面同意以电子邮件或短信方式送达文书"},
    "e_service_address": {"x-widget": "text", "description": "当事人确认的电子邮箱或手机号码"},
    "violation": {"x-widget": "textarea"},
    "penalty_kind": {"x-widget": "select", "x-enum-labels": {
        "warning": "警告", "fine": "罚款", "confiscation": "没收违法所得、没收非法财物", "licence_revocation": "吊销许可证件",
        "suspension": "责令停产停业", "closure": "责令关闭", "other": "其他", "none": "不予处罚"}},
    "proposed_fine": {"x-widget": "money"},
}


@dataclass
class StartForm:
    """The fields a start takes, the procedures one may start, and whether this user may start one."""

    party: dict[str, Any]  # JSON Schema of the party (required: type and name)
    facts: dict[str, Any]  # JSON Schema of the facts: the chosen procedure's, else every startable one's
    procedures: list[tuple[str, str]]  # (process id, name) of every startable procedure, in id order
    may_start: bool
    facts_by_procedure: dict[str, dict[str, Any]] = field(default_factory=dict)  # each startable procedure's facts
    procedure: str | None = None  # the procedure chosen, if any

    def fields(self, names: tuple[str, ...] | None = None) -> dict[str, Any]:
        """Party and facts as one flat form (the page's layout), optionally only ``names``."""
        properties = {**self.party["properties"], **self.facts["properties"]}
        if names is not None:
            properties = {k: v for k, v in properties.items() if k in names}
        required = [k for k in self.party.get("required", []) + self.facts.get("required", []) if k in properties]
        return {"type": "object", "required": required, "properties": properties}

    def body_schema(self) -> dict[str, Any]:
        """The JSON body of ``POST /api/v1/cases`` as a schema a generic form library can fill."""
        ids = [pid for pid, _ in self.procedures]
        return {
            "type": "object",
            "required": ["procedure", "party"],
            "properties": {
                "procedure": {"title": "程序", "type": "string", "enum": ids, "x-enumNames": [n for _, n in self.procedures],
                              "x-enum-labels": dict(self.procedures)},
                "party": self.party,
                "facts": self.facts,
            },
        }


def start_form(user: User, procedure: str | None = None, procedures: list[tuple[str, str]] | None = None) -> StartForm:
    """The start form; with ``procedure`` (a startable one, else NotFound) its facts are that procedure's.
    ``procedures``: the startable procedures, when the caller has read them already."""
    procedures = startable_procedures() if procedures is None else procedures
    by_procedure = {pid: facts_of(pid) for pid, _ in procedures}
    if procedure is not None and procedure not in by_procedure:
        raise NotFound(f"没有可立案的程序“{procedure}” (no startable procedure {procedure!r})")
    facts = by_procedure[procedure] if procedure is not None else _union(list(by_procedure.values()))
    return StartForm(party=_presented(START_SCHEMA, WIDGETS), facts=facts, procedures=procedures,
                     may_start=user.has_role(*CASE_STARTERS), facts_by_procedure=by_procedure, procedure=procedure)


def facts_of(process_id: str) -> dict[str, Any]:
    """The facts part of ``process_id``'s start form as the page and the API present it."""
    schema = facts_schema(process_id)
    if schema is FACTS_SCHEMA:  # no start form of its own: the default facts, with their widgets
        return _presented(FACTS_SCHEMA, WIDGETS)
    return _presented({k: v for k, v in schema.items() if k not in ("$schema", "$id")}, {})


def startable_procedures() -> list[tuple[str, str]]:
    """Procedures a case may be filed under (hearing and legal review run only inside another)."""
    return [(pid, name) for pid, name in db.session.execute(
        select(ActiveProcess.process_id, ProcessSpec.name).join(ProcessSpec, ProcessSpec.id == ActiveProcess.process_spec_id)
        .where(ProcessSpec.startable.is_(True)).order_by(ActiveProcess.process_id))]


def _union(schemas: list[dict[str, Any]]) -> dict[str, Any]:
    """Every procedure's facts in one form (the first procedure's field wins a shared name); nothing
    required, since which fields a start requires depends on the procedure chosen."""
    properties: dict[str, Any] = {}
    for schema in schemas:
        for name, prop in schema.get("properties", {}).items():
            properties.setdefault(name, prop)
    return {"type": "object", "properties": properties or _presented(FACTS_SCHEMA, WIDGETS)["properties"]}


def _presented(schema: dict[str, Any], widgets: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out = copy.deepcopy(schema)
    for name, prop in out.get("properties", {}).items():
        prop.update(copy.deepcopy(widgets.get(name, {})))
        if "x-enum-labels" in prop and "enum" in prop:
            prop["x-enumNames"] = [prop["x-enum-labels"].get(v, v) for v in prop["enum"]]
    return out
