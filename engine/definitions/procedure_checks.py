"""Deploy-time checks of what a procedure's ``<process>`` properties point at inside the bundle.

``engine/definitions/procedures.py`` checks each property's own value; here the properties that name
something else are followed: a ``start_form`` must be a form of the bundle whose fields a case can
start with (flat snake_case scalars, none the engine or the party section sets), and a legal-review
procedure's ``review_step`` must be one of its own user tasks whose form has the
``review_outcome_field`` with ``review_returned_value`` among its values. Otherwise the supervision
page would count nothing, or a start would be refused for a field its own form offers.
"""

from __future__ import annotations

import re
from typing import Any

from engine.definitions.problems import Problem
from engine.forms.schema import RESERVED_NAMES
from engine.models.case import PARTY_FIELDS

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
REVIEW_PROPERTIES = ("review_step", "review_outcome_field", "review_returned_value")
SUPERVISION_KINDS = ("legal_review", "hearing")
# Facts are flat snake_case scalars (engine/runtime/cases.py checks every start the same way).
FACT_KEY = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
SCALAR_TYPES = ("string", "number", "integer", "boolean")
_PROPERTIES = "./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property"


def lint_roles(path: str, process: Any, forms: dict[str, dict[str, Any]]) -> list[Problem]:
    """The ``start_form`` and supervision properties of one ``<process>`` against the bundle's forms and tasks."""
    props = {p.get("name"): p for p in process.xpath(_PROPERTIES, namespaces=NS)}
    pid = process.get("id")

    def at(name: str, message: str) -> Problem:
        return Problem(path, message, line=props[name].sourceline, element=pid)

    problems = []
    if "start_form" in props:
        problems += [at("start_form", m) for m in _start_form_problems(_value(props, "start_form"), forms)]
    kind = _value(props, "supervision_kind")
    if "supervision_kind" in props and kind not in SUPERVISION_KINDS:
        problems.append(at("supervision_kind", f"流程属性 supervision_kind 须为 {' 或 '.join(SUPERVISION_KINDS)} "
                                               f"(supervision_kind: {' or '.join(SUPERVISION_KINDS)})"))
    if kind != "legal_review":
        problems += [at(name, f"流程属性 {name} 只用于法制审核程序：请同时写明 supervision_kind=legal_review，或删除此属性 "
                              f"({name} applies only to a procedure with supervision_kind=legal_review)")
                     for name in REVIEW_PROPERTIES if name in props]
        return problems
    missing = [name for name in REVIEW_PROPERTIES if not _value(props, name)]
    if missing:
        problems.append(at("supervision_kind", f"法制审核程序须写明审核环节、审核结论字段和“退回”的取值，缺少 {'、'.join(missing)} "
                                               f"(a legal-review procedure names its review step, outcome field and returned value; "
                                               f"missing: {', '.join(missing)})"))
        return problems
    message = _review_problem(process, *(_value(props, name) for name in REVIEW_PROPERTIES), forms)
    if message:
        problems.append(at(message[0], message[1]))
    return problems


def _value(props: dict[str | None, Any], name: str) -> str:
    prop = props.get(name)
    return (prop.get("value") or "").strip() if prop is not None else ""


def _start_form_problems(name: str, forms: dict[str, dict[str, Any]]) -> list[str]:
    schema = forms.get(name)
    if schema is None:
        return [f"立案表单 start_form '{name}' 不是本部署中的表单：请添加 forms/{name}.json 或改正名称 "
                f"(start_form '{name}' names no form of this deployment)"]
    found = []
    for field, spec in (schema.get("properties") or {}).items():
        if field in RESERVED_NAMES or field in PARTY_FIELDS:
            found.append(f"立案表单 {name} 的字段 '{field}' 由系统或当事人部分设定，不能作为立案事实：请改用其他名称 "
                         f"(start form field '{field}' is a reserved or party name)")
        elif not FACT_KEY.match(field) or not isinstance(spec, dict) or spec.get("type") not in SCALAR_TYPES:
            found.append(f"立案表单 {name} 的字段 '{field}' 须为小写下划线命名的单值字段（文本、数字或是否） "
                         f"(start form field '{field}': a snake_case name of type {', '.join(SCALAR_TYPES)})")
    return found


def _review_problem(process: Any, step: str, field: str, returned: str, forms: dict[str, dict[str, Any]]) -> tuple[str, str] | None:
    """(the property at fault, what is wrong) for a review step, field or value the process does not have."""
    tasks = process.xpath(".//bpmn:userTask[@id=$step]", namespaces=NS, step=step)
    if not tasks:
        return ("review_step", f"审核环节 review_step '{step}' 不是本流程的用户任务：请填写法制审核环节的 id "
                               f"(review_step '{step}' is no user task of process {process.get('id')})")
    form = next(iter(tasks[0].xpath(f"{_PROPERTIES}[@name='form']/@value", namespaces=NS)), "")
    schema = forms.get(form.strip())
    fields = (schema or {}).get("properties") or {}
    if field not in fields:
        return ("review_outcome_field", f"审核结论字段 review_outcome_field '{field}' 不在审核环节 {step} 的表单 {form or '（未指定）'} 中 "
                                        f"(review_outcome_field '{field}' is not a field of the form of step {step})")
    values = fields[field].get("enum") if isinstance(fields[field], dict) else None
    if values is not None and returned not in values:
        return ("review_returned_value", f"“退回”的取值 review_returned_value '{returned}' 不是字段 {field} 的可选值 "
                                         f"（{'、'.join(map(str, values))}） (review_returned_value is not a value of {field})")
    return None
