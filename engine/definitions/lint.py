"""Deploy-time checks SpiffWorkflow does not make.

SpiffWorkflow compiles no expression while parsing, so a typo or a sandbox escape would otherwise
surface only when a case reaches it. Every condition, timer, script and DMN cell is run through the
restricted evaluator's check here; every task's instructions template is compiled with the sandbox
it will be rendered in (engine/expressions/templates.py); no script may assign or delete a name the
engine reserves (the case number and party the runtime sets from the case row, the helper functions),
and no decision table may output one; user tasks must name a lane, a valid form and a known time
limit; constructs SpiffWorkflow mishandles are refused. Scripts, conditions and cells may call only
the functions the runtime offers (runnable.ENGINE_FUNCTIONS and SAFE_FUNCTIONS). What would never run
is refused by its own module: runnable.py (on the XML, before SpiffWorkflow), graph.py (reachability,
starved parallel joins), dataflow.py (data objects), events.py (signals and conditions nothing sends),
dmnshape.py (DMN files SpiffWorkflow cannot read).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import Any

import jsonschema
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.spiff.specs.defaults import UserTask

from engine.deadlines.limits import CASE_CLOCK, EXTENSION, IDENTIFIER
from engine.definitions.dataflow import check_data_objects
from engine.definitions.events import check_events
from engine.definitions.foreign import review_foreign
from engine.definitions.graph import check_graphs
from engine.definitions.parse import ParsedBundle
from engine.definitions.problems import Problem
from engine.definitions.procedures import lint_procedures
from engine.definitions.runnable import ENGINE_FUNCTIONS, LANES, registered_keys, unknown_time_limit
from engine.errors import UnsafeExpression
from engine.expressions import assigned_names, check_expression
from engine.expressions.instructions_check import check_instructions
from engine.forms.schema import RESERVED_NAMES
from engine.policy.roles import CREDENTIAL_KINDS, LANE_ROLES, TASK_PROPERTIES

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}


def lint(parsed: ParsedBundle, time_limit_keys: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    problems += _lint_xml_constructs(parsed)
    problems += check_graphs(parsed.trees)
    problems += check_data_objects(parsed.trees, parsed.forms)
    problems += check_events(parsed.trees)
    problems += _lint_forms(parsed)
    processes: dict[int, BpmnProcessSpec] = {}
    for spec, subprocess_specs in parsed.specs.values():
        for process in (spec, *subprocess_specs.values()):
            processes.setdefault(id(process), process)
    # separate_from may name tasks of the calling procedure (a reviewer vs. the investigators),
    # so ids resolve across the whole bundle; the check at run time is per case, not per process.
    task_ids = {getattr(ts, "bpmn_id", None) for p in processes.values() for ts in p.task_specs.values()}
    for process in processes.values():
        problems += _lint_process(parsed, process, time_limit_keys, task_ids)
    problems += _lint_dmn(parsed)
    problems += lint_procedures(parsed, time_limit_keys)
    problems = review_foreign(parsed, problems)  # Camunda/Zeebe extensions, FEEL and JUEL (foreign.py)
    return sorted(set(problems), key=lambda p: (p.file, p.line or 0, p.message))


def _lint_process(
    parsed: ParsedBundle, process: BpmnProcessSpec, time_limit_keys: set[str], task_ids: set[Any]
) -> list[Problem]:
    problems: list[Problem] = []
    for ts in process.task_specs.values():
        bpmn_id = getattr(ts, "bpmn_id", None) or ts.name
        for source, mode in _expressions_of(ts):
            try:
                tree = check_expression(source, mode, functions=ENGINE_FUNCTIONS)
            except UnsafeExpression as exc:
                problems.append(_at(parsed, bpmn_id, f"表达式不被允许 (expression rejected): {exc.message}", "expression"))
                try:
                    tree = ast.parse(source, mode=mode)  # a rejected script may also rebind a reserved name
                except (SyntaxError, ValueError, RecursionError, MemoryError):
                    continue
            if mode == "exec":
                problems += _reserved_assignments(parsed, bpmn_id, tree)
        instructions = (getattr(ts, "extensions", None) or {}).get("instructionsForEndUser")
        if isinstance(instructions, str) and instructions:
            for line, message in check_instructions(instructions):
                where = f"第 {line} 行: " if line else ""
                problems.append(_at(parsed, bpmn_id, f"办理说明模板不被允许 (instructions rejected): {where}{message}",
                                    "expression"))
        if isinstance(ts, UserTask):
            problems += _lint_user_task(parsed, ts, bpmn_id, task_ids, time_limit_keys)
    return problems


def _reserved_assignments(parsed: ParsedBundle, bpmn_id: str, tree: ast.AST) -> list[Problem]:
    """Scripts must not rebind what the engine sets from the case row (a forged case number or party
    name would reach the instructions, documents and later steps) nor the helper functions."""
    problems = []
    for name, line in sorted(set(assigned_names(tree)), key=lambda found: (found[1], found[0])):
        if name in RESERVED_NAMES:
            problems.append(_at(parsed, bpmn_id,
                                f"脚本第 {line} 行给系统保留的名称 '{name}' 赋值或删除了它 "
                                f"(script line {line} assigns or deletes the reserved name '{name}')", "expression"))
    return problems


def _lint_user_task(
    parsed: ParsedBundle, ts: UserTask, bpmn_id: str, task_ids: set[Any], time_limit_keys: set[str]
) -> list[Problem]:
    problems = []
    props: dict[str, str] = ts.extensions.get("properties", {}) or {}
    if ts.lane not in LANE_ROLES:
        problems.append(_at(parsed, bpmn_id, f"用户任务必须位于角色泳道内，否则没有人能认领：请把它放进这些泳道之一：{LANES} "
                                             f"(lane '{ts.lane}' is not a role lane, so nobody could claim the task: put it "
                                             f"inside a lane named one of {', '.join(LANE_ROLES)})"))
    for name in sorted(set(props) - TASK_PROPERTIES):
        allowed = ", ".join(sorted(TASK_PROPERTIES))
        hint = _FOREIGN_PROPERTY_HINTS.get(name, "")
        problems.append(_at(parsed, bpmn_id, f"未知的扩展属性 '{name}'：{hint}请删除它，或改用这些属性之一 (unknown extension property; "
                                             f"remove it or use one of: {allowed})"))
    form = props.get("form")
    forms = ", ".join(sorted(parsed.forms)[:20]) or "—"
    if not form:
        problems.append(_at(parsed, bpmn_id, "用户任务缺少 form 属性：请添加 <spiffworkflow:property name=\"form\" value=\"表单名\"/>，"
                                             f"表单名为 forms/ 下 JSON 文件名（不含 .json）(user task has no form: add a 'form' property "
                                             f"naming a forms/<name>.json file); 可用的表单 (forms): {forms}"))
    elif form not in parsed.forms and f"forms/{form}.json" not in {f.path for f in parsed.bundle.files}:
        problems.append(_at(parsed, bpmn_id, f"表单 '{form}' 不存在：请一并上传 forms/{form}.json，或改用已有的表单 "
                                             f"(form forms/{form}.json not found: upload it with the process, or use an existing "
                                             f"form): {forms}"))
    key = props.get("time_limit")
    if not key:
        problems.append(_at(parsed, bpmn_id, "用户任务缺少 time_limit 属性：请添加 <spiffworkflow:property name=\"time_limit\" "
                                             "value=\"时限键\"/> (user task has no time_limit: add a 'time_limit' property); "
                                             + registered_keys(time_limit_keys)))
    elif key not in time_limit_keys:
        problems.append(_at(parsed, bpmn_id, unknown_time_limit(key, time_limit_keys)))
    problems += _start_point_problems(parsed, bpmn_id, props, time_limit_keys)
    credential = props.get("requires_credential")
    if credential and credential not in CREDENTIAL_KINDS:
        problems.append(_at(parsed, bpmn_id, f"未知的资格类型 '{credential}'：请改为 {' 或 '.join(CREDENTIAL_KINDS)} "
                                             f"(unknown credential kind; use one of {', '.join(CREDENTIAL_KINDS)})"))
    officer_fields = {name for schema in parsed.forms.values()
                      for name, prop in (schema.get("properties") or {}).items()
                      if isinstance(prop, dict) and prop.get("x-widget") == "officers"}
    for other in filter(None, (s.strip() for s in props.get("separate_from", "").split(","))):
        if other.startswith("@"):
            if other[1:] not in officer_fields:
                problems.append(_at(parsed, bpmn_id, f"separate_from 引用了不存在的人员字段 '{other}'：请改为表单中的人员字段名，或删除 "
                                                     "(no officers field of that name: name one, or remove it)"))
        elif other not in task_ids:
            problems.append(_at(parsed, bpmn_id, f"separate_from 引用了不存在的任务 '{other}'：请改为本部署中用户任务的 id，或删除 "
                                                 "(unknown task id: use the id of a user task of this deployment, or remove it)"))
    return problems


# Other tools' names for what zhifa calls ``form`` (spiff-arena writes the JSON file's name).
_FOREIGN_PROPERTY_HINTS = {
    "formJsonSchemaFilename": "zhifa 用 form 属性指定表单，值为 forms/ 下的文件名去掉 .json；",
    "formUiSchemaFilename": "zhifa 的表单界面由 JSON Schema 生成，不需要界面描述文件；",
}


def _start_point_problems(parsed: ParsedBundle, bpmn_id: str, props: dict[str, str], time_limit_keys: set[str]) -> list[Problem]:
    """``counts_from`` names the recorded date the law counts from; ``extended_by`` an approved extension."""
    problems = []
    counts_from = props.get("counts_from")
    if counts_from is not None and counts_from != CASE_CLOCK and not IDENTIFIER.fullmatch(counts_from):
        problems.append(_at(parsed, bpmn_id, f"counts_from 须为记录日期的字段名或 case_clock (counts_from must name a date field "
                                             f"or be 'case_clock', got '{counts_from}')"))
    label = props.get("counts_from_label")
    if label is not None and (not counts_from or counts_from == CASE_CLOCK or not 0 < len(label) <= 80):
        problems.append(_at(parsed, bpmn_id, "counts_from_label 须与 counts_from（字段名）一起使用，且不超过 80 字 "
                                             "(counts_from_label names the counts_from field; at most 80 characters)"))
    extended = props.get("extended_by")
    if extended is not None:
        match = EXTENSION.fullmatch(extended)
        if match is None:
            problems.append(_at(parsed, bpmn_id, f"extended_by 的格式应为 “时限键 if 字段名” (extended_by must read "
                                                 f"'<time-limit key> if <approval field>', got '{extended}')"))
        elif match.group(1) not in time_limit_keys:
            problems.append(_at(parsed, bpmn_id, "extended_by: " + unknown_time_limit(match.group(1), time_limit_keys)))
    return problems


def _expressions_of(ts: Any) -> Iterator[tuple[str, str]]:
    for cond, _name in getattr(ts, "cond_task_specs", []) or []:
        if cond is not None:
            yield cond.args[0], "eval"
    script = getattr(ts, "script", None)
    if script:
        yield script, "exec"
    for attr in ("prescript", "postscript"):
        value = getattr(ts, attr, None)
        if value:
            yield value, "exec"
    event = getattr(ts, "event_definition", None)
    expression = getattr(event, "expression", None)
    if isinstance(expression, str) and expression.strip():  # a blank timer is refused as such (runnable.py)
        yield expression, "eval"
    for event_def in getattr(event, "event_definitions", []) or []:
        sub = getattr(event_def, "expression", None)
        if isinstance(sub, str) and sub:
            yield sub, "eval"
    if isinstance(ts, LoopTask) or hasattr(ts, "cardinality"):
        for attr in ("condition", "cardinality"):
            value = getattr(ts, attr, None)
            if isinstance(value, str) and value:
                yield value, "eval"


def _lint_dmn(parsed: ParsedBundle) -> list[Problem]:
    problems: list[Problem] = []
    if parsed.parser is None:
        return problems
    for decision_id, dmn_parser in parsed.parser.dmn_parsers.items():
        try:
            dmn_parser.parse()
        except Exception as exc:  # noqa: BLE001 - every parse failure becomes a located problem
            problems.append(_at(parsed, decision_id, "决策表无法解析：请在 DMN 设计器中检查此决策并重新保存 "
                                                     f"(DMN parse error: check the decision in the modeler): {exc}", "reference"))
            continue
        for table in dmn_parser.decision.decisionTables:
            for rule in table.rules:
                for entry in rule.inputEntries:
                    for cell in entry.lhs:
                        if cell is None or not str(cell).strip() or str(cell).strip() == "-":
                            continue
                        problems += _check_cell(parsed, rule.id, entry.input.expression or "None", str(cell))
                for out in rule.outputEntries:
                    if out.text and out.text.strip():
                        problems += _check_one(parsed, rule.id, out.text, "eval")
            for item in table.inputs:
                if item.expression:
                    problems += _check_one(parsed, item.id, item.expression, "eval")
            for output in table.outputs:
                if str(getattr(output, "name", None) or "").split(".")[0] in RESERVED_NAMES:  # "a.b" sets data["a"]["b"]
                    problems.append(_at(parsed, output.id or decision_id,
                                        f"决策表输出使用了系统保留的名称 '{output.name}' (decision output uses the reserved "
                                        f"name '{output.name}')", "expression"))
    return problems


def _check_cell(parsed: ParsedBundle, element: str, input_expr: str, cell: str) -> list[Problem]:
    # Mirror SpiffWorkflow's DMNEngine.evaluate: '?' becomes the input value, a bare value is
    # compared for equality, an operator-led cell ("> 5") is appended to the input expression.
    replaced = re.sub(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)", "dmninputexpr", cell)
    if "dmninputexpr" in replaced:
        return _check_one(parsed, element, replaced, "eval")
    try:
        ast.parse(cell, mode="eval")
    except SyntaxError:
        return _check_one(parsed, element, f"{input_expr} {cell}", "eval")
    return _check_one(parsed, element, f"({input_expr}) == ({cell})", "eval")


def _check_one(parsed: ParsedBundle, element: str, source: str, mode: str) -> list[Problem]:
    try:
        check_expression(source, mode, functions=ENGINE_FUNCTIONS)
    except UnsafeExpression as exc:
        return [_at(parsed, element, f"表达式不被允许 (expression rejected): {exc.message}", "expression")]
    return []


def _lint_forms(parsed: ParsedBundle) -> list[Problem]:
    problems = []
    for name, schema in parsed.forms.items():
        for field in sorted(set((schema.get("properties") or {}) if isinstance(schema.get("properties"), dict) else ())
                            & RESERVED_NAMES):
            problems.append(Problem(f"forms/{name}.json", f"字段名 '{field}' 为系统保留：请改用其他字段名 (reserved field name: "
                                                          "rename it)", element=f"/properties/{field}", kind="form"))
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            pointer = "/" + "/".join(str(p) for p in exc.path)
            message = f"不是有效的 JSON Schema (invalid JSON Schema) at '{pointer}': {exc.message}"
            problems.append(Problem(f"forms/{name}.json", message, element=pointer, kind="form"))
        except RecursionError:  # the meta-schema check recurses once per level: a few hundred levels overflow it
            problems.append(Problem(f"forms/{name}.json", "表单嵌套过深：请减少嵌套层级 (form schema nested too deeply: flatten it)",
                                    kind="form"))
        if schema.get("type") != "object":
            problems.append(Problem(f"forms/{name}.json", "表单的 type 必须为 object (form schema type must be object)", kind="form"))
    return problems


def _lint_xml_constructs(parsed: ParsedBundle) -> list[Problem]:
    problems = []
    for path, root in parsed.trees.items():
        if not path.endswith(".bpmn"):
            continue
        # SpiffWorkflow does not cancel the enclosing scope for interrupting event subprocesses.
        for start in root.xpath(".//bpmn:subProcess[@triggeredByEvent='true']/bpmn:startEvent", namespaces=NS):
            if start.get("isInterrupting", "true") != "false":
                problems.append(Problem(
                    path,
                    "不支持中断型事件子流程；请改用带边界事件的嵌入子流程 "
                    "(interrupting event subprocesses are not supported: use a boundary event on an embedded subprocess)",
                    line=start.sourceline, element=start.get("id"),
                ))
        for cycle in root.xpath(".//bpmn:timerEventDefinition/bpmn:timeCycle", namespaces=NS):
            # Legal periods are absolute deadlines; a cycle's state is not one zhifa can schedule.
            timer = cycle.getparent().getparent()
            problems.append(Problem(path, "不支持循环定时器 timeCycle；请使用 timeDate/timeDuration (timeCycle timers are not supported)",
                                    line=cycle.sourceline, element=timer.get("id"), kind="lint"))
        for gateway in root.xpath(".//bpmn:eventBasedGateway", namespaces=NS):
            targets = root.xpath(
                ".//bpmn:sequenceFlow[@sourceRef=$gid]/@targetRef", namespaces=NS, gid=gateway.get("id")
            )
            timers = [
                t for t in targets
                if root.xpath(".//bpmn:intermediateCatchEvent[@id=$tid]/bpmn:timerEventDefinition", namespaces=NS, tid=t)
            ]
            if len(timers) > 1:
                problems.append(Problem(
                    path,
                    "事件网关后不能有多个定时器：请只保留最先到期的那一个 (an event-based gateway may be followed by at most one "
                    "timer: keep only the one that falls due first)",
                    line=gateway.sourceline, element=gateway.get("id"),
                ))
    return problems


def _at(parsed: ParsedBundle, element: str, message: str, kind: str = "lint") -> Problem:
    path, line = parsed.locate(element)
    return Problem(path, message, line=line, element=element, kind=kind)
