"""Data objects: what a task writes to one must exist when it completes, and what a task reads must be written.

SpiffWorkflow copies a data object into task data before a task with a ``dataInputAssociation`` runs,
and fails ("The data object could not be read") when nothing wrote it; after a task with a
``dataOutputAssociation`` it moves the task-data value named after the *data object's id* into the
data object, and fails ("A data object could not be set") when the task data has no such name. Both
surface only when a case reaches the task, and then every attempt to complete the step before it fails.
bpmn.io and Camunda Modeler draw these associations as documentation, so they are checked here: a
script must assign the name, a form must have the field, and something must write what is read.
"""

from __future__ import annotations

import ast
from typing import Any

from engine.definitions.problems import Problem
from engine.definitions.xmlnames import local_name
from engine.expressions import assigned_names

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NS = {"bpmn": BPMN, "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
_FORM = "./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property[@name='form']/@value"


def check_data_objects(trees: dict[str, Any], forms: dict[str, dict[str, Any]]) -> list[Problem]:
    problems: list[Problem] = []
    for path, root in sorted(trees.items()):
        if path.endswith(".bpmn"):
            problems += _check_file(path, root, forms)
    return problems


def _check_file(path: str, root: Any, forms: dict[str, dict[str, Any]]) -> list[Problem]:
    objects = {ref.get("id"): ref.get("dataObjectRef") for ref in root.iter(f"{{{BPMN}}}dataObjectReference")}
    names = {obj.get("id"): obj.get("name") or obj.get("id") for obj in root.iter(f"{{{BPMN}}}dataObject")}
    written = {objects.get((t.text or "").strip()) for t in root.xpath(".//bpmn:dataOutputAssociation/bpmn:targetRef", namespaces=NS)}
    problems = []
    for source in root.xpath(".//bpmn:dataInputAssociation/bpmn:sourceRef", namespaces=NS):
        obj = objects.get((source.text or "").strip())
        if obj is None or obj in written:
            continue  # not a data object (runnable.py reports it), or written somewhere
        task = source.getparent().getparent()
        problems.append(Problem(
            path, f"任务“{_name(task)}”读取数据对象“{names.get(obj, obj)}”({obj})，但没有任何任务写入它，运行到这里会出错："
                  f"请删除这条输入关联，或让前面的任务用数据输出关联写入它 (task '{task.get('id')}' reads data object '{obj}', "
                  "which no task writes: remove the input association, or write it from an earlier task with a data output association)",
            line=source.getparent().sourceline, element=task.get("id"), kind="lint"))
    for target in root.xpath(".//bpmn:dataOutputAssociation/bpmn:targetRef", namespaces=NS):
        obj = objects.get((target.text or "").strip())
        task = target.getparent().getparent()
        if obj is None or obj in _values_set_by(task, forms):
            continue
        problems.append(Problem(
            path, f"任务“{_name(task)}”写入数据对象“{names.get(obj, obj)}”，完成时任务数据中须有名为 {obj} 的值（数据对象的 id），"
                  f"但{_what_sets(task)}没有设定它：请{_how_to_set(task, obj)}，或删除这条输出关联 (task '{task.get('id')}' writes "
                  f"data object '{obj}': its task data must hold a value named '{obj}' when it completes, and nothing sets it: "
                  f"{_how_to_set_en(task, obj)}, or remove the output association)",
            line=target.getparent().sourceline, element=task.get("id"), kind="lint"))
    return problems


def _values_set_by(task: Any, forms: dict[str, dict[str, Any]]) -> set[str]:
    """Names the task puts in task data; unknown kinds are given the benefit of the doubt."""
    kind = local_name(task)
    if kind == "scriptTask":
        script = task.find("bpmn:script", NS)
        try:
            return {name for name, _line in assigned_names(ast.parse((script.text or "") if script is not None else ""))}
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return set()  # the expression lint reports the script itself
    if kind == "userTask":
        form = next(iter(task.xpath(_FORM, namespaces=NS)), None)
        properties = (forms.get(str(form)) or {}).get("properties")
        return set(properties) if isinstance(properties, dict) else set()
    return {obj.get("id") for obj in task.getroottree().iter(f"{{{BPMN}}}dataObject")}


def _what_sets(task: Any) -> str:
    return {"scriptTask": "脚本", "userTask": "表单"}.get(local_name(task), "任务")


def _how_to_set(task: Any, obj: str) -> str:
    return {"scriptTask": f"在脚本中给 {obj} 赋值", "userTask": f"在表单中添加字段 {obj}"}.get(local_name(task), f"设定 {obj}")


def _how_to_set_en(task: Any, obj: str) -> str:
    return {"scriptTask": f"assign {obj} in the script", "userTask": f"add a field {obj} to the form"}.get(local_name(task), f"set {obj}")


def _name(task: Any) -> str:
    return str(task.get("name") or task.get("id"))
