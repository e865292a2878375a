"""Constructs that SpiffWorkflow accepts (or rejects with a bare message) but zhifa could never run.

Diagrams from Camunda Modeler, bpmn.io or Signavio deploy cleanly as far as SpiffWorkflow is
concerned, and then nothing happens or nobody can act: bpmn.io marks every new process
``isExecutable="false"`` and SpiffWorkflow skips such a process without a word; a plain ``task`` or a
``manualTask`` becomes an inbox task with no role (every claim is refused); a service task has no
operator to call in zhifa and answered 500 at run time; a script task with no script does nothing.
Each is refused here, on the XML tree and before SpiffWorkflow sees it, with the file, line, element
and what to write instead, so its own messages ("Data Store with name Data has no implementation",
"Cannot resolve dataInputAssociation <Element … at 0x…>", "Unknown Time Specification") never reach
the designer for these cases (parse.py drops them when this module reported the file).
"""

from __future__ import annotations

import re
from typing import Any

from engine.definitions.problems import Problem
from engine.definitions.xmlnames import local_name
from engine.policy.roles import LANE_ROLES

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
LANES = "、".join(f"{lane}（{label}）" for lane, label in LANE_ROLES.items())
# Element kinds that make a process more than an empty participant pool.
_FLOW = ("startEvent", "endEvent", "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
         "businessRuleTask", "callActivity", "subProcess", "exclusiveGateway", "parallelGateway", "inclusiveGateway",
         "eventBasedGateway", "intermediateCatchEvent", "intermediateThrowEvent")
ISO_FORMS = "'PT1H'、'P3D'（时长 duration）, '2027-01-01T09:00:00+08:00'（时刻 date）, deadline('时限键', 日期字段)"
# A bare ISO 8601 duration or date-time, as Camunda writes timers: zhifa evaluates timer text as an
# expression, where PT1H is an unknown name.
_BARE_ISO = re.compile(r"(R\d*/)?(P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?"
                       r"|\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d)?(\.\d+)?(Z|[+-]\d\d:?\d\d)?)?)")
# What scripts, conditions, timers and DMN cells may call besides SAFE_FUNCTIONS: the helpers the
# runtime gives every workflow (engine/runtime/instance.py ``script_engine``, a layer above this one;
# tests/test_deploy_runnable.py checks the two lists agree).
ENGINE_FUNCTIONS = frozenset({"deadline", "case_clock", "service_dates", "fine_execution", "check_execution", "check_closing"})
# SpiffWorkflow's own messages for what this module reports first (parse.py drops them then).
SUPERSEDED = ("A Service Task must have an operator", "Data Store with name", "Data Store identifier", "Data Store name",
              "Cannot resolve dataInputAssociation", "Cannot resolve dataOutputAssociation", "Time Specification Error")


def check_runnable(path: str, root: Any) -> list[Problem]:
    """Every construct of one BPMN file that would not run in zhifa, located and with its fix."""
    problems = _non_executable(path, root)
    for node in root.iter(*(f"{{{NS['bpmn']}}}{kind}" for kind in _CHECKS)):
        check = _CHECKS[local_name(node)]
        if check is not None:
            message = check(node)
            if message:
                problems.append(Problem(path, message, line=node.sourceline, element=node.get("id"), kind="lint"))
    problems += _data_problems(path, root)
    problems += _timer_problems(path, root)
    return problems


def unknown_time_limit(key: str, known: set[str]) -> str:
    """The refusal of a time-limit key the registry lacks, listing the keys it has."""
    return (f"时限 '{key}' 未在时限登记表中：请使用已登记的时限键，或先在“时限管理”中新建 (unknown time-limit key '{key}': use a "
            f"registered key or create it under time-limit administration first); {registered_keys(known)}")


def registered_keys(known: set[str], shown: int = 30) -> str:
    """The registry's keys, up to ``shown`` of them (a designer picks one; hundreds would drown the message)."""
    keys = sorted(known)
    listed = ", ".join(keys[:shown]) + (f" …（另有 {len(keys) - shown} 个 / {len(keys) - shown} more）" if len(keys) > shown else "")
    return f"已登记 (registered): {listed or '—'}"


def _non_executable(path: str, root: Any) -> list[Problem]:
    """A process SpiffWorkflow would skip: refused even when others in the bundle are executable,
    because a process that silently never runs is exactly the failure a designer does not notice."""
    problems = []
    for process in root.xpath("./bpmn:process", namespaces=NS):
        if process.get("isExecutable", "true") == "true":  # SpiffWorkflow's reading: absent is executable, "1" is not
            continue
        if not any(local_name(child) in _FLOW for child in process):
            continue  # an empty pool (another party's black box) has nothing to run
        name = process.get("name") or process.get("id")
        problems.append(Problem(
            path,
            f"流程“{name}”未标记为可执行，部署后不会运行：请在设计器属性面板勾选“可执行”(Executable)，或在 XML 中写 "
            f'isExecutable="true" (process \'{process.get("id")}\' is not executable and would never run: tick "Executable" in '
            f'the designer\'s properties panel or set isExecutable="true" on <bpmn:process>)',
            line=process.sourceline, element=process.get("id"), kind="lint",
        ))
    return problems


def _nobody_can_do(node: Any) -> str:
    kind = local_name(node)
    return (f"{kind} 在 zhifa 中没有任何角色能办理，案件会停在这里：请改为位于角色泳道（{LANES}）内的用户任务 userTask，"
            f"或改为脚本任务 scriptTask (a bpmn:{kind} becomes a task no role can claim: make it a userTask inside one of the "
            f"role lanes {', '.join(LANE_ROLES)}, or a scriptTask)")


def _service(node: Any) -> str:
    return ("zhifa 不运行服务任务 serviceTask（没有可调用的外部服务）：请改为使用系统提供函数的脚本任务 scriptTask，"
            "或由人办理的用户任务 userTask (zhifa does not run service tasks: use a scriptTask with the offered functions, "
            "or a userTask)")


def _message_task(node: Any) -> str:
    if node.get("messageRef") or node.xpath("./bpmn:messageEventDefinition", namespaces=NS):
        return ""
    kind = local_name(node)
    return (f"{kind} 没有指定消息 (messageRef)，运行时什么也不做：请指定消息，或改为用户任务 userTask / 脚本任务 scriptTask "
            f"(a {kind} without a message does nothing: give it a message, or make it a userTask or a scriptTask)")


def _script(node: Any) -> str:
    script = node.find("bpmn:script", NS)
    if script is not None and (script.text or "").strip():
        return ""
    return ("脚本任务没有脚本内容：请填写脚本，或删除此任务 (script task has an empty script: write the script in the "
            "properties panel, or remove the task)")


_CHECKS = {"task": _nobody_can_do, "manualTask": _nobody_can_do, "serviceTask": _service, "sendTask": _message_task,
           "receiveTask": _message_task, "scriptTask": _script}


def _data_problems(path: str, root: Any) -> list[Problem]:
    problems = []
    for store in root.xpath(".//bpmn:dataStore | .//bpmn:dataStoreReference", namespaces=NS):
        problems.append(Problem(
            path, f"不支持数据存储 {local_name(store)}“{store.get('name') or store.get('id')}”：请删除它及与之相连的数据关联，"
                  "数据请保存在任务数据中（表单字段或脚本变量）(data stores are not supported: remove the data store and its "
                  "associations; keep values in task data, i.e. form fields or script variables)",
            line=store.sourceline, element=store.get("id"), kind="lint"))
    objects = set(root.xpath(".//bpmn:dataObjectReference/@id", namespaces=NS))
    stores = set(root.xpath(".//bpmn:dataStoreReference/@id", namespaces=NS))
    for ref in root.xpath(".//bpmn:dataInputAssociation/bpmn:sourceRef | .//bpmn:dataOutputAssociation/bpmn:targetRef",
                          namespaces=NS):
        name = (ref.text or "").strip()
        if name in objects or name in stores:
            continue  # a data store is reported above, once
        association = ref.getparent()
        task = association.getparent()
        problems.append(Problem(
            path, f"任务“{task.get('name') or task.get('id')}”的数据关联 {association.get('id') or ''} 指向“{name}”，它不是数据对象引用 "
                  f"dataObjectReference：请连到数据对象，或删除该关联 (the {local_name(association)} of '{task.get('id')}' refers to "
                  f"'{name}', which is not a dataObjectReference: connect it to a data object or remove it)",
            line=association.sourceline, element=task.get("id"), kind="lint"))
    return problems


def _timer_problems(path: str, root: Any) -> list[Problem]:
    problems = []
    for timer in root.xpath(".//bpmn:timerEventDefinition", namespaces=NS):
        event = timer.getparent()
        where = f"定时器“{event.get('name') or event.get('id')}”"
        specs = [child for child in timer if local_name(child) in ("timeDate", "timeDuration", "timeCycle")]
        if specs and local_name(specs[0]) == "timeCycle":
            continue  # lint.py refuses cycles whatever they say
        if not specs:
            message = f"{where}没有设定时间：请填写 timeDuration 或 timeDate"
        elif not (specs[0].text or "").strip():
            message = f"{where}的 {local_name(specs[0])} 为空：请填写时间"
        elif _BARE_ISO.fullmatch(specs[0].text.strip()):
            text = specs[0].text.strip()
            message = f"{where}的时间“{text}”须写成带引号的字符串 '{text}'（zhifa 把定时器内容当作表达式计算）"
        else:
            continue
        problems.append(Problem(
            path, f"{message}，可用的写法：{ISO_FORMS} (timer '{event.get('id')}' needs a time: an ISO 8601 duration or "
                  f"date-time as a quoted string, e.g. 'PT1H', 'P3D', '2027-01-01T09:00:00+08:00', or deadline('key', field))",
            line=(specs[0] if specs else timer).sourceline, element=event.get("id"), kind="lint"))
    return problems
