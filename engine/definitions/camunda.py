"""What to write in zhifa instead of a Camunda 7 / Activiti / Flowable / Zeebe (Camunda 8) extension.

zhifa reads only SpiffWorkflow's extensions, and only some of them: ``spiffworkflow:properties`` (a user
task's ``form``, ``time_limit`` …, engine/policy/roles.py ``TASK_PROPERTIES``; a process's ``label`` …,
procedures.py), ``spiffworkflow:calledDecisionId`` on a business rule task, ``spiffworkflow:preScript``
/ ``postScript`` and ``spiffworkflow:instructionsForEndUser``. Who does a task is the role lane it
sits in, never a named person or group. Everything another tool writes in its own namespace was
ignored without a word, so a ``camunda:formKey`` or a ``zeebe:assignmentDefinition`` looked configured
and was not. Each function here answers, for one foreign attribute or extension element, the
message to refuse it with: what it is, and the exact zhifa XML to write instead. None means the
extension only tunes the other engine's runtime (``camunda:asyncBefore``, ``historyTimeToLive``,
``zeebe:userTask`` …) and changes nothing about what the process does, so it is left alone.
"""

from __future__ import annotations

from typing import Any

from engine.definitions.feel import expression_hint
from engine.definitions.xmlnames import local_name
from engine.policy.roles import LANE_ROLES

TOOLS = {
    "http://camunda.org/schema/1.0/bpmn": "Camunda 7",
    "http://activiti.org/bpmn": "Activiti",
    "http://flowable.org/bpmn": "Flowable",
    "http://camunda.org/schema/zeebe/1.0": "Camunda 8 (Zeebe)",
}
# Runtime tuning of the other engine: no meaning for what the process does in zhifa.
HARMLESS = frozenset({
    "asyncBefore", "asyncAfter", "async", "exclusive", "jobPriority", "taskPriority", "historyTimeToLive", "versionTag",
    "isStartableInTasklist", "failedJobRetryTimeCycle", "modelerTemplate", "modelerTemplateVersion", "modelerTemplateIcon",
    "userTask", "formRefBinding", "formRefVersion", "decisionRefBinding", "decisionRefVersion", "decisionRefVersionTag",
    "skipExpression", "triggerable",
})
LANES = "、".join(LANE_ROLES)
PROPERTY = '<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="{name}" value="{value}"/>' \
           '</spiffworkflow:properties></bpmn:extensionElements>'


def attribute_advice(owner: Any, qualified: str, value: str) -> str | None:
    """The message for a foreign attribute ``qualified`` (``camunda:formKey``) on BPMN element ``owner``."""
    local = qualified.split(":")[-1]
    if local in HARMLESS or (local == "calledElementBinding" and value in ("latest", "")):
        return None
    owner_kind = local_name(owner)
    if local in ("formKey", "formRef"):
        return _form_advice(qualified, value, owner_kind)
    if local in ("assignee", "candidateUsers", "candidateGroups", "owner"):
        return _lane_advice(qualified, value)
    if local in ("dueDate", "followUpDate"):
        return _time_limit_advice(qualified, value)
    if local == "decisionRef":
        return _decision_advice(qualified, value)
    if local in ("resultVariable", "mapDecisionResult"):
        if owner_kind == "scriptTask":
            return (f"{qualified} 不被读取：请在脚本中直接赋值，例如 {value or 'result'} = … "
                    f"({qualified} is not read: assign the variable in the script itself)")
        return (f"{qualified} 不被读取：业务规则任务按决策表每个输出列的 name 把结果写入案件数据，"
                f"请删除该属性，并在决策表中用输出列的 name 命名结果 "
                f"({qualified} is not read: each output column's name is the variable written; remove the attribute)")
    if local in ("class", "expression", "delegateExpression", "type", "topic"):
        return _code_advice(qualified, value)
    if local == "initiator":
        return (f"{qualified} 不被读取：zhifa 自动记录立案的执法人员，流程中无法读取名为 {value} 的变量；请删除该属性 "
                f"({qualified} is not read: zhifa records who opened the case itself; remove it)")
    if local in ("collection", "elementVariable"):
        return _loop_advice(qualified)
    if local in ("candidateStarterGroups", "candidateStarterUsers"):
        return (f"{qualified} 不被读取：谁可以立案由 zhifa 的角色权限决定；请删除该属性 "
                f"({qualified} is not read: who may open a case is decided by zhifa's roles; remove it)")
    if local.startswith("calledElement") or local.startswith("caseRef"):
        return (f'{qualified}="{value}" 不被读取：调用活动总是调用被调用流程当前生效的版本；请删除该属性 '
                f"({qualified} is not read: a call activity always calls the active version; remove it)")
    return _generic(qualified)


def element_advice(element: Any, qualified: str) -> str | None:
    """The message for a foreign extension element (a child of ``bpmn:extensionElements``)."""
    local = local_name(element)
    owner = element.getparent().getparent() if element.getparent() is not None else None
    owner_kind = local_name(owner) if owner is not None else ""
    if local in HARMLESS:
        return None
    if local == "properties":
        pairs = [(p.get("name") or "", p.get("value") or "") for p in element if local_name(p) == "property"]
        written = "".join(f'<spiffworkflow:property name="{n}" value="{v}"/>' for n, v in pairs)
        return (f"{qualified} 不被读取：请改写为 <spiffworkflow:properties>{written}</spiffworkflow:properties>；"
                f"zhifa 只认识用户任务的属性 form、time_limit 等和流程的属性 label、clock_key 等，其他名称会被拒绝 "
                f"({qualified} is not read: write <spiffworkflow:properties>{written}</spiffworkflow:properties>)")
    if local == "inputOutput" or local == "ioMapping":
        return _mapping_advice(element, qualified)
    if local in ("in", "out"):
        return (f"{qualified} 不被读取：zhifa 不做变量映射，被调用流程读写的就是本案件的数据（调用时传入，结束时带回）；请删除 "
                f"({qualified} is not read: the called process works on the case data itself; remove it)")
    if local in ("executionListener", "taskListener", "executionListeners", "taskListeners"):
        return (f"{qualified} 监听器不会执行：需要计算的内容请写成 Python，放在 <spiffworkflow:preScript>（任务开始前）或 "
                f"<spiffworkflow:postScript>（任务完成后）中；Java 类和外部作业无法运行 "
                f"({qualified} listeners do not run: put Python in spiffworkflow:preScript / postScript)")
    if local in ("formData", "userTaskForm"):
        fields = [f.get("id") for f in element.iter() if local_name(f) == "formField" and f.get("id")]
        listed = f"（字段：{', '.join(fields)}）" if fields else ""
        return (f"{qualified} 内嵌的表单不被读取：请把表单写成 forms/<表单名>.json（JSON Schema）{listed}，并在任务上写 "
                f"{PROPERTY.format(name='form', value='<表单名>')} "
                f"({qualified} is not read: write the form as forms/<name>.json and reference it with the form property)")
    if local == "formDefinition":
        key = element.get("formId") or element.get("formKey") or element.get("externalReference") or ""
        return _form_advice(qualified, key, owner_kind)
    if local == "assignmentDefinition":
        return _lane_advice(qualified, element.get("candidateGroups") or element.get("assignee") or "")
    if local == "taskSchedule":
        return _time_limit_advice(qualified, element.get("dueDate") or element.get("followUpDate") or "")
    if local == "priorityDefinition":
        return (f"{qualified} 不被读取：zhifa 按办理期限排列待办任务；请删除 "
                f"({qualified} is not read: tasks are ordered by deadline; remove it)")
    if local == "taskHeaders" and owner_kind == "userTask":
        pairs = [(h.get("key") or "", h.get("value") or "") for h in element if local_name(h) == "header"]
        written = "".join(f'<spiffworkflow:property name="{k}" value="{v}"/>' for k, v in pairs)
        return (f"{qualified} 不被读取：用户任务的属性请写成 <spiffworkflow:properties>{written}</spiffworkflow:properties> "
                f"({qualified} is not read: write <spiffworkflow:properties>{written}</spiffworkflow:properties>)")
    if local in ("taskDefinition", "taskHeaders", "connector", "field", "errorEventDefinition"):
        return _code_advice(qualified, element.get("type") or "")
    if local == "calledDecision":
        decision = element.get("decisionId") or ""
        return _decision_advice(qualified, decision)
    if local == "calledElement":
        process = element.get("processId") or ""
        return (f'{qualified} 不被读取：请在调用活动上写 calledElement="{process}"（被调用流程的 id），并删除该扩展元素 '
                f'({qualified} is not read: write calledElement="{process}" on the bpmn:callActivity)')
    if local == "loopCharacteristics":
        return _loop_advice(qualified)
    if local == "script":
        target = element.get("resultVariable") or "result"
        hint = expression_hint(element.get("expression") or "")
        python = hint.python if hint is not None and hint.python else "…"
        return (f"{qualified} 不被读取：请写成脚本任务的 Python 脚本 <bpmn:script>{target} = {python}</bpmn:script> "
                f"({qualified} is not read: write <bpmn:script>{target} = {python}</bpmn:script>)")
    if local == "potentialStarter":
        return attribute_advice(element, "candidateStarterGroups", "").replace("candidateStarterGroups", qualified)  # type: ignore[union-attr]
    return _generic(qualified)


def _decision_advice(qualified: str, value: str) -> str:
    return (f'{qualified}「{value}」是其他引擎引用决策表的写法，zhifa 不读取：请在业务规则任务中写 <bpmn:extensionElements>'
            f"<spiffworkflow:calledDecisionId>{value}</spiffworkflow:calledDecisionId></bpmn:extensionElements>，并删除 {qualified} "
            f"(zhifa reads the decision from spiffworkflow:calledDecisionId: write "
            f"<spiffworkflow:calledDecisionId>{value}</spiffworkflow:calledDecisionId> and remove {qualified})")


def _form_advice(qualified: str, value: str, owner_kind: str) -> str:
    name = form_name(value)
    if owner_kind == "startEvent":
        return (f'{qualified}="{value}" 不被读取：开始事件上不填表单；请把立案时要填写的内容放在流程的第一个用户任务中，并在该任务上写 '
                f"{PROPERTY.format(name='form', value=name)} ({qualified} is not read: a start event has no form in zhifa; "
                f'put the form on the first user task with <spiffworkflow:property name="form" value="{name}"/>)')
    return (f'{qualified}="{value}" 是其他引擎的表单引用，zhifa 不读取：zhifa 的表单是 forms/ 下的 JSON Schema 文件，请在任务上写 '
            f"{PROPERTY.format(name='form', value=name)}（对应 forms/{name}.json），并删除该属性 "
            f'({qualified} is not read: write <spiffworkflow:property name="form" value="{name}"/> for forms/{name}.json, and remove it)')


def form_name(value: str) -> str:
    """``embedded:app:forms/register.html`` → ``register``; ``camunda-forms:bpmn:Form_1`` → ``Form_1``."""
    tail = value.strip().split(":")[-1].split("/")[-1]
    stem = tail.rsplit(".", 1)[0] if "." in tail else tail
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in stem).strip("_")
    return cleaned or "表单名"


def _lane_advice(qualified: str, value: str) -> str:
    lane = value.strip() if value.strip() in LANE_ROLES else "handler"
    return (f'{qualified}="{value}" 不被读取：zhifa 不按人员或候选组分派任务，任务由其所在泳道的角色办理；'
            f'请把任务放进 name 为角色键的泳道，例如 <bpmn:lane name="{lane}">（可用角色：{LANES}），并删除该属性 '
            f'({qualified} is not read: zhifa assigns a task by the role lane it sits in; put it in <bpmn:lane name="{lane}"> '
            f"(roles: {', '.join(LANE_ROLES)}) and remove it)")


def _time_limit_advice(qualified: str, value: str) -> str:
    return (f'{qualified}="{value}" 不被读取：zhifa 的办理期限来自时限登记表；请在任务上写 '
            f"{PROPERTY.format(name='time_limit', value='<时限键>')}（时限键在时限管理中查看或新建），并删除该属性 "
            f'({qualified} is not read: deadlines come from the time-limit registry: write '
            f'<spiffworkflow:property name="time_limit" value="<key>"/> and remove it)')


def _code_advice(qualified: str, value: str) -> str:
    shown = f'="{value}"' if value else ""
    return (f"{qualified}{shown} 指向 Java 代码或外部作业，zhifa 不会执行：计算请改用脚本任务 <bpmn:scriptTask>（Python 脚本），"
            f"需要人办理的步骤请改用放在角色泳道中的用户任务 <bpmn:userTask> "
            f"({qualified} names Java code or an external job, which zhifa does not run: use a bpmn:scriptTask with a Python "
            f"script, or a bpmn:userTask in a role lane for a human step)")


def _loop_advice(qualified: str) -> str:
    return (f"{qualified} 不被读取：多实例请用 BPMN 标准写法 <bpmn:multiInstanceLoopCharacteristics><bpmn:loopDataInputRef>集合变量"
            f'</bpmn:loopDataInputRef><bpmn:inputDataItem id="item" name="item"/></bpmn:multiInstanceLoopCharacteristics> '
            f"({qualified} is not read: use bpmn:loopDataInputRef and bpmn:inputDataItem)")


def _mapping_advice(element: Any, qualified: str) -> str:
    before, after = [], []
    for parameter in element:
        kind = local_name(parameter)
        target = parameter.get("name") or parameter.get("target") or ""
        source = parameter.get("source") if parameter.get("source") is not None else (parameter.text or "")
        hint = expression_hint(source)
        python = hint.python if hint is not None and hint.python else (source.strip() or "…")
        line = f"{target} = {python}"
        (before if kind in ("inputParameter", "input") else after).append(line)
    scripts = []
    if before:
        scripts.append(f"<spiffworkflow:preScript>{'; '.join(before)}</spiffworkflow:preScript>")
    if after:
        scripts.append(f"<spiffworkflow:postScript>{'; '.join(after)}</spiffworkflow:postScript>")
    written = "".join(scripts) or "<spiffworkflow:preScript>…</spiffworkflow:preScript>"
    return (f"{qualified} 变量映射不被读取：zhifa 的任务直接读写案件数据；需要换名或计算的值请写成 Python 脚本：{written} "
            f"({qualified} is not read: tasks work on the case data; write {written})")


def _generic(qualified: str) -> str:
    return (f"{qualified} 是其他引擎的扩展，zhifa 不读取也不执行：请删除它；zhifa 读取的扩展只有 spiffworkflow:properties（form、"
            f"time_limit 等）、spiffworkflow:calledDecisionId、spiffworkflow:preScript/postScript 和 "
            f"spiffworkflow:instructionsForEndUser ({qualified} is another engine's extension that zhifa neither reads nor runs: "
            f"remove it)")
