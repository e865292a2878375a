"""``GET /api/v1/openapi.json``: the contract, machine-readable."""

from __future__ import annotations

from typing import Any

from engine.runtime.case_clock import EXCLUDED_KINDS
from engine.runtime.cases import SUSPENSION_GROUNDS, TERMINATION_GROUNDS
from engine.runtime.party import ID_TYPES
from engine.runtime.recusal import DECISIONS as RECUSAL_DECISIONS
from engine.runtime.recusal import SOURCES as RECUSAL_SOURCES

from ..security import MAX_ID
from . import bp

_ERROR = {"$ref": "#/components/schemas/Error"}
_ERROR_RESPONSE = {"description": "Error", "content": {"application/json": {"schema": _ERROR}}}


def _op(summary: str, ok: str = "200", body: dict[str, Any] | None = None, params: list[str] | None = None,
        query: list[tuple[str, str | dict[str, Any], bool]] | None = None, body_required: bool = True) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {
            ok: {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
            "default": _ERROR_RESPONSE,
        },
    }
    parameters = [{"name": p, "in": "path", "required": True, "schema": _PATH_PARAMETERS.get(p, {"type": "string"})}
                  for p in params or []]
    parameters += [{"name": n, "in": "query", "required": r, "schema": t if isinstance(t, dict) else {"type": t}}
                   for n, t, r in query or []]
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = {"required": body_required, "content": {"application/json": {"schema": body}}}
    return op


_ID = {"type": "integer", "minimum": 0, "maximum": MAX_ID}  # routes use <int:…> (webui.security.BoundedIntConverter)
_PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "case_id": _ID, "deployment_id": _ID, "from_id": _ID, "to_id": _ID, "instance_id": _ID, "year": _ID,
    "document_id": _ID, "n": _ID,
}
_PAGE = {"type": "integer"}  # out-of-range pages are clamped (webui.api.page_args), not refused


SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "zhifa 执法 API", "version": "1"},
    "servers": [{"url": "/api/v1"}],
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {"type": "object", "required": ["error", "message"],
                      "properties": {"error": {"type": "string"}, "message": {"type": "string"}, "details": {}}},
            "NewCase": {
                "type": "object", "required": ["procedure", "party"],
                "properties": {
                    "procedure": {"type": "string"}, "unit": {"type": "string"},
                    "party": {"allOf": [{"$ref": "#/components/schemas/Party"}, {"required": ["type", "name"]}]},
                    "facts": {"type": "object"},
                },
            },
            # 当事人: a citizen needs id_type, id_number and address, an organization credit_code, address and
            # legal_rep before documents can be served; a case may be filed first (``party.missing`` lists the rest)
            # and completed with POST /cases/{case_id}/party.
            "Party": {"type": "object", "properties": {
                "type": {"type": "string", "enum": ["citizen", "organization"]}, "name": {"type": "string", "maxLength": 200},
                "id_type": {"type": "string", "enum": list(ID_TYPES)}, "id_number": {"type": "string", "maxLength": 40},
                "address": {"type": "string", "maxLength": 300}, "phone": {"type": "string", "maxLength": 40},
                "credit_code": {"type": "string", "maxLength": 18}, "legal_rep": {"type": "string", "maxLength": 100},
                "contact": {"type": "string", "maxLength": 200}, "e_service_consent": {"type": "boolean"},
                "e_service_address": {"type": "string", "maxLength": 200}}},
            "Completion": {"type": "object", "required": ["data"],
                           "properties": {"data": {"type": "object"}, "version": {"type": "integer"}}},
        },
    },
    "security": [{"bearer": []}],
    "paths": {
        "/cases": {
            "get": _op("Search cases in scope (the /cases page's search): q matches a substring of the case number, party, "
                       "violation or an officer; scope unit|mine|all (default: all the user may see); total > 10000 means "
                       "more than 10,000", query=[
                           ("status", {"type": "string", "enum": ["open", "suspended", "closed", "terminated"]}, False),
                           ("procedure", "string", False), ("q", "string", False),
                           ("from", {"type": "string", "format": "date"}, False), ("to", {"type": "string", "format": "date"}, False),
                           ("scope", {"type": "string", "enum": ["unit", "mine", "all"]}, False),
                           ("page", _PAGE, False), ("per_page", _PAGE, False)]),
            "post": _op("Start a case", "201", {"$ref": "#/components/schemas/NewCase"}),
        },
        "/cases/{case_id}": {"get": _op("A case with tasks, history, deadlines, documents and the clock's uncounted periods "
                                         "(clock.periods: 中止, hearing, 检测/检验/检疫/鉴定, 公告), the designated handlers "
                                         "and the 回避 requests (recusals: n, officer, status, document)", params=["case_id"])},
        "/start-form": {"get": _op("What POST /cases takes: schema (its body as a JSON Schema: procedure enum with "
                                   "x-enumNames, party, facts), procedures, facts_by_procedure (each one's own start form), procedure, "
                                   "may_start (whether this user may start a case); procedure=ID: that procedure's facts in schema",
                                   query=[("procedure", "string", False)])},
        "/tasks": {"get": _op("Inbox; scope=available lists only what the user may take, filtered before paging (full pages, "
                              "a true total); has_next", query=[
                                  ("scope", {"type": "string", "enum": ["mine", "available", "done", "unit", "all"]}, False),
                                               ("procedure", "string", False), ("q", "string", False),
                                               ("sort", {"type": "string", "enum": ["due_at", "-due_at", "created_at", "-created_at"]},
                                                False),
                                               ("page", _PAGE, False), ("per_page", _PAGE, False)])},
        "/tasks/{task_id}": {"get": _op("A task with its form schema and data; returned_because: why the process "
                                          "sent it back (rule and article), or null. Officers' fields of form_schema are "
                                          "resolved to whom they may name (items.enum of usernames, x-enumNames, oneOf "
                                          "const/title); eligible_officers: who may take the task; actions: what the reader "
                                          "may do (claim, unclaim, complete, reassign); documents: what the task issued; record "
                                          "(a completed task): data as entered, by, at",
                                          params=["task_id"])},
        "/tasks/{task_id}/claim": {"post": _op("Claim", params=["task_id"])},
        "/tasks/{task_id}/unclaim": {"post": _op("Release", params=["task_id"])},
        "/tasks/{task_id}/reassign": {"post": _op("Reassign (unit head)", params=["task_id"],
                                                  body={"type": "object", "required": ["to"],
                                                        "properties": {"to": {"type": "string"}}})},
        "/tasks/{task_id}/complete": {"post": _op("Complete with form data and version", params=["task_id"],
                                                  body={"$ref": "#/components/schemas/Completion"})},
        "/deployments": {
            "get": _op("Deployments and active versions"),
            "post": {**_op("Deploy files (multipart 'files', or a zip)", "201"),
                     "requestBody": {"content": {"multipart/form-data": {"schema": {
                         "type": "object", "properties": {"files": {"type": "array", "items": {
                             "type": "string", "format": "binary"}}, "comment": {"type": "string"}}}}}}},
        },
        "/deployments/{deployment_id}": {"get": _op("A deployment: metadata, files, processes", params=["deployment_id"])},
        "/deployments/{deployment_id}/files/{path}": {"get": {
            **_op("Download one file of a deployment", params=["deployment_id", "path"]),
            "responses": {"200": {"description": "The file (BPMN/DMN as XML, forms as JSON)", "content": {
                "application/xml": {"schema": {"type": "string"}}, "application/json": {"schema": {"type": "object"}}}},
                "default": _ERROR_RESPONSE}}},
        "/deployments/{from_id}/diff/{to_id}": {"get": _op("Files, elements and form fields added/changed/removed between two deployments",
                                                           params=["from_id", "to_id"])},
        "/deployments/{deployment_id}/rollback": {"post": _op(
            "Deploy an earlier deployment's files as a new deployment (designers, administrators; audited)", "201",
            params=["deployment_id"], body={"type": "object", "required": ["comment"], "properties": {"comment": {"type": "string"}}})},
        "/deployments/validate": {"post": {**_op("Validate files as POST /deployments would, deploying nothing: {valid, problems}"),
                                           "requestBody": {"content": {"multipart/form-data": {"schema": {
                                               "type": "object", "properties": {"files": {"type": "array", "items": {
                                                   "type": "string", "format": "binary"}}, "replace_all": {"type": "boolean"}}}}}}}},
        "/migrations": {"post": {**_op("Plan (dry_run, default) or apply a migration of running cases to a deployment"),
                                 "requestBody": {"content": {"application/json": {"schema": {
                                     "type": "object", "properties": {
                                         "cases": {"type": "array", "items": {"type": "integer"}},
                                         "filter": {"type": "object", "properties": {
                                             "process_id": {"type": "string"}, "from_deployment": {"type": "integer"}}},
                                         "deployment": {"type": "integer"}, "dry_run": {"type": "boolean"}}}}}}}},
        "/processes/{process_id}/xml": {"get": {**_op("BPMN XML of a process", params=["process_id"]),
                                                "responses": {"200": {"description": "BPMN XML", "content": {
                                                    "application/xml": {"schema": {"type": "string"}}}},
                                                    "default": _ERROR_RESPONSE}}},
        "/time-limits": {
            "get": _op("Time-limit registry"),
            "post": _op("Create a time-limit key (designers and administrators); 409 if the key exists", ok="201",
                        body={"type": "object", "required": ["key", "name", "legal_basis", "amount", "unit", "min", "max"],
                              "properties": {
                                  "key": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]{0,79}$"}, "name": {"type": "string"},
                                  "legal_basis": {"type": "string"}, "description": {"type": "string"},
                                  "amount": {"type": "integer", "minimum": 1},
                                  "unit": {"type": "string", "enum": ["working_days", "natural_days", "hours"]},
                                  "units": {"type": "array", "items": {"type": "string",
                                                                       "enum": ["working_days", "natural_days", "hours"]}},
                                  "bound_unit": {"type": "string"}, "min": {"type": "integer", "minimum": 1},
                                  "max": {"type": "integer", "minimum": 1}, "warn_before": {"type": "integer", "minimum": 0},
                                  "reason": {"type": "string"}}}),
        },
        "/time-limits/{key}": {
            "get": _op("One time limit", params=["key"]),
            "delete": _op("Delete a created key nothing uses (designers and administrators; shipped keys never)", params=["key"],
                          body={"type": "object", "properties": {"reason": {"type": "string"}}}, body_required=False),
            "put": _op("Change amount/unit within the legal bounds (administrators; give a reason)", params=["key"],
                       body={"type": "object", "required": ["amount", "unit"], "properties": {
                           "amount": {"type": "integer"}, "unit": {"type": "string"}, "reason": {"type": "string"},
                           "warn_before": {"type": "integer"}}}),
        },
        "/time-limits/{key}/preview": {"get": _op("Open tasks and timers a changed limit would move", params=["key"])},
        "/time-limits/{key}/apply": {"post": _op("Apply a changed limit to open cases (audited)", params=["key"],
                                                 body={"type": "object", "required": ["reason"],
                                                       "properties": {"reason": {"type": "string"}}})},
        "/calendar/{year}": {
            "get": _op("Holidays and make-up working days of a year", params=["year"]),
            "put": _op("Replace a year's calendar (administrators)", params=["year"],
                       body={"type": "object", "required": ["days"], "properties": {
                           "days": {"type": "array", "items": {"type": "object", "properties": {
                               "date": {"type": "string"}, "kind": {"type": "string", "enum": ["holiday", "workday"]},
                               "name": {"type": "string"}}}}, "reason": {"type": "string"}}}),
        },
        "/cases/{case_id}/documents/{document_id}": {"get": _op("An issued document (number, type, content, sha256, voided, status "
                                                                "valid|voided|superseded, verify_code, serves_id of a 送达回证)",
                                                                params=["case_id", "document_id"])},
        "/cases/{case_id}/documents/{document_id}.pdf": {"get": {
            **_op("The document as an A4 PDF", params=["case_id", "document_id"]),
            "responses": {"200": {"description": "PDF", "content": {"application/pdf": {"schema": {"type": "string",
                                                                                                  "format": "binary"}}}},
                          "default": _ERROR_RESPONSE}}},
        "/cases/{case_id}/publication/withdraw": {"post": _op(
            "Withdraw the 公示 of a changed or revoked decision (unit or agency head)", params=["case_id"],
            body={"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}})},
        "/cases/{case_id}/clock/extend": {"post": _op(
            "延长办案期限 (agency head; 法 Art. 60): a further extension needs collective_discussion with the date "
            "and number of its record; issues the 延长办案期限审批表", params=["case_id"],
            body={"type": "object", "required": ["days", "reason"], "properties": {
                "days": {"type": "integer", "minimum": 1}, "reason": {"type": "string"},
                "collective_discussion": {"type": "boolean"},
                "discussion_on": {"type": "string", "format": "date"}, "discussion_number": {"type": "string"}}})},
        "/cases/{case_id}/party": {"post": _op(
            "Correct or complete the party's details (handlers and unit heads; refused on an ended case): every detail the "
            "party's type requires must then be present; the case's record keeps what changed (personal details masked) "
            "and the reason", params=["case_id"],
            body={"type": "object", "required": ["party", "reason"], "properties": {
                "party": {"$ref": "#/components/schemas/Party"}, "reason": {"type": "string", "maxLength": 1000}}})},
        "/cases/{case_id}/suspend": {"post": _op(
            "中止调查 (agency head): the case stops and its clock pauses; issues the 中止调查决定书", params=["case_id"],
            body={"type": "object", "required": ["ground", "reason"], "properties": {
                "ground": {"type": "string", "enum": list(SUSPENSION_GROUNDS)}, "reason": {"type": "string"}}})},
        "/cases/{case_id}/resume": {"post": _op(
            "恢复调查 (agency head): the suspended case runs again, the suspension is not counted; issues the 恢复调查决定书",
            params=["case_id"], body={"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}})},
        "/cases/{case_id}/terminate": {"post": _op(
            "终止调查 (agency head): open tasks are withdrawn and the clock stops; issues the 终止调查决定书", params=["case_id"],
            body={"type": "object", "required": ["ground", "reason"], "properties": {
                "ground": {"type": "string", "enum": list(TERMINATION_GROUNDS)}, "reason": {"type": "string"}}})},
        "/cases/{case_id}/excluded-periods": {"post": _op(
            "Record the start of a period the case clock does not count (检测、检验、检疫、鉴定, 公告; handlers, unit "
            "and agency heads): the clock pauses, the case's tasks go on", "201", params=["case_id"],
            body={"type": "object", "required": ["kind", "started_on", "description"], "properties": {
                "kind": {"type": "string", "enum": list(EXCLUDED_KINDS)},
                "started_on": {"type": "string", "format": "date"}, "description": {"type": "string"}}})},
        "/cases/{case_id}/excluded-periods/{n}/end": {"post": _op(
            "Record the end of excluded period n (its number in clock.periods); the clock counts again unless another "
            "uncounted period is open", params=["case_id", "n"],
            body={"type": "object", "required": ["ended_on"], "properties": {
                "ended_on": {"type": "string", "format": "date"}}})},
        "/cases/{case_id}/recusals": {"post": _op(
            "回避申请 (法 Art. 43; officers of the case's unit): the party's application recorded by an officer "
            "(source party) or the officer's own (source self), for any officer of the unit. The case goes on meanwhile; "
            "GET /cases/{case_id} lists recusals (n, status pending|granted|rejected, document)", "201", params=["case_id"],
            body={"type": "object", "required": ["officer", "source", "reason"], "properties": {
                "officer": {"type": "string", "description": "username"},
                "source": {"type": "string", "enum": list(RECUSAL_SOURCES)}, "reason": {"type": "string"}}})},
        "/cases/{case_id}/recusals/{n}/decide": {"post": _op(
            "Decide recusal n (agency head; for an agency head the heads' collective discussion, with its date and "
            "record): issues the 回避决定书; granted, the officer takes no further part in the case and the tasks they "
            "hold return to the pool", params=["case_id", "n"],
            body={"type": "object", "required": ["decision", "reason"], "properties": {
                "decision": {"type": "string", "enum": list(RECUSAL_DECISIONS)}, "reason": {"type": "string"},
                "collective_discussion": {"type": "boolean"},
                "discussion_on": {"type": "string", "format": "date"}, "discussion_record": {"type": "string"}}})},
        "/cases/{case_id}/handlers": {"post": _op(
            "重新指定承办人 (unit head; 法 Art. 42): two or more credentialed officers replace the handlers designated at "
            "立案; the case's handler steps go to them only, tasks held by the others return to the pool (audited)",
            params=["case_id"], body={"type": "object", "required": ["handlers", "reason"], "properties": {
                "handlers": {"type": "array", "items": {"type": "string"}, "minItems": 2}, "reason": {"type": "string"}}})},
        "/incidents": {"get": _op("Instances whose timers failed (administrators)")},
        "/incidents/{instance_id}/retry": {"post": _op("Retry a failed instance", params=["instance_id"])},
        "/calendar/deadline": {"get": _op("Deadline arithmetic", query=[
            ("start", {"type": "string", "format": "date"}, True), ("amount", {"type": "integer", "minimum": 0, "maximum": 3660}, True),
            ("unit", {"type": "string", "enum": ["working_days", "natural_days"]}, False)])},
        "/tick": {"post": _op("Fire due timers as of 'now' (administrators)", body_required=False,
                              body={"type": "object", "nullable": True, "properties": {"now": {"type": "string", "format": "date-time"}}})},
    },
}


@bp.get("/openapi.json")
def openapi() -> dict[str, Any]:
    return SPEC
