"""Other tools' conventions in a BPMN file: refused with the line, the element and what to write instead.

Two things designers bring from Camunda Modeler, Zeebe, Activiti or Flowable deploy today without a
word and then do not do what they say:

- **Extensions in those tools' namespaces** (``camunda:formKey``, ``camunda:assignee``,
  ``camunda:properties``, ``zeebe:taskDefinition``, ``zeebe:calledDecision`` …). SpiffWorkflow ignores
  them, so a task looked configured and was not. camunda.py holds the advice for each; extensions
  that only tune the other engine's runtime (``camunda:asyncBefore``, ``historyTimeToLive`` …) are left
  alone because they change nothing about what the process does.
- **FEEL and JUEL** in sequence-flow conditions, conditional events, timers and multi-instance
  expressions (``${amount > 5}``, ``=amount > 5``, ``x = 5``, ``true``), and scripts or conditions
  declared in another language (``scriptFormat="groovy"``). zhifa evaluates Python; feel.py gives the
  Python to write.

Nothing is converted automatically: a deployment stores exactly the files the designer sent, and the
designer sees each equivalent and writes it (an automatic rewrite would have to be announced and
would make the stored file differ from the one in the designer's Modeler).

:func:`review_foreign` is called once from ``lint()``: it adds these problems and the ones DMN cells
got at parse time (dmnpolicy.py) make the bare "syntax error" that the expression check reports for
the same element redundant, so that one is dropped.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from engine.definitions.camunda import TOOLS, attribute_advice, element_advice
from engine.definitions.feel import HINT_MARK, expression_hint, hint_message
from engine.definitions.problems import Problem

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NS = {"bpmn": BPMN}
PYTHON_LANGUAGES = frozenset({"", "python", "python3", "text/python", "text/x-python", "application/x-python", "spiff", "spiffworkflow"})
_SYNTAX = ("syntax error", "语法错误", "unknown function")  # what the expression check says of FEEL
# lint's "no form" / "no time_limit" (engine/definitions/lint.py), by their start
_MISSING = {"用户任务缺少 form 属性": "form", "用户任务缺少 time_limit 属性": "time_limit"}
_PARTS = frozenset({"conditionExpression", "condition", "timeDate", "timeDuration", "timeCycle", "loopCardinality",
                    "completionCondition", "extensionElements", "script"})


def review_foreign(parsed: Any, problems: list[Problem]) -> list[Problem]:
    """``problems`` plus other tools' conventions found in the bundle's BPMN files, without the bare
    syntax errors those explain better (same file and element)."""
    found: list[Problem] = []
    covered: set[tuple[str, str | None]] = set()
    for path, root in parsed.trees.items():
        if path.endswith(".bpmn"):
            for problem, elements in foreign_problems(path, root):
                found.append(problem)
                covered.update((path, element) for element in elements)
    covered.update((p.file, p.element) for p in parsed.problems if HINT_MARK in p.message)
    kept = [p for p in problems
            if not (p.kind == "expression" and (p.file, p.element) in covered and any(s in p.message for s in _SYNTAX))]
    return _missing_properties(kept, found) + found


def _missing_properties(problems: list[Problem], found: list[Problem]) -> list[Problem]:
    """A user task carrying another tool's form or deadline also gets lint's "no form" / "no time_limit":
    dropped where the advice here already gives the property to write for it."""
    advice: dict[tuple[str, str | None], str] = {}
    for p in found:
        advice[(p.file, p.element)] = advice.get((p.file, p.element), "") + p.message
    out = []
    for p in problems:
        name = next((n for start, n in _MISSING.items() if p.message.startswith(start)), None)
        if name is None or f'name="{name}"' not in advice.get((p.file, p.element), ""):
            out.append(p)
    return out


def foreign_problems(path: str, root: Any) -> list[tuple[Problem, tuple[str | None, ...]]]:
    """Each problem of one BPMN tree, with the element ids whose plain syntax errors it explains."""
    out: list[tuple[Problem, tuple[str | None, ...]]] = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        out += [(p, ()) for p in _extension_problems(path, element)]
        out += _expression_problems(path, root, element)
    return out


def _extension_problems(path: str, element: Any) -> list[Problem]:
    problems = []
    namespace = etree.QName(element).namespace
    owner = _owner(element)
    for name, value in element.attrib.items():
        attribute = etree.QName(name)
        tool = TOOLS.get(attribute.namespace or "")
        if tool is None or namespace in TOOLS:
            continue  # attributes of a foreign element are reported with the element
        message = attribute_advice(element, f"{_prefix(attribute.namespace)}:{attribute.localname}", value)
        if message is not None:
            problems.append(_problem(path, element, owner, f"{tool} 扩展属性 {message}"))
    parent = element.getparent()
    if namespace in TOOLS and parent is not None and etree.QName(parent).localname == "extensionElements" \
            and etree.QName(parent).namespace == BPMN:
        message = element_advice(element, f"{_prefix(namespace)}:{etree.QName(element).localname}")
        if message is not None:
            problems.append(_problem(path, element, owner, f"{TOOLS[namespace]} 扩展元素 {message}"))
    return problems


def _expression_problems(path: str, root: Any, element: Any) -> list[tuple[Problem, tuple[str | None, ...]]]:
    if etree.QName(element).namespace != BPMN:
        return []
    local = etree.QName(element).localname
    text = (element.text or "").strip()
    owner = _owner(element)
    if local == "scriptTask":
        language = (element.get("scriptFormat") or "").strip().lower()
        if language not in PYTHON_LANGUAGES:
            written = element.get("scriptFormat")
            return [(_problem(path, element, element,
                              f'脚本语言 scriptFormat="{written}" 不受支持：zhifa 只运行 Python 脚本；请把脚本改写为 Python，'
                              f'并删除 scriptFormat 或写 scriptFormat="python" '
                              f'(scriptFormat "{written}" is not supported: zhifa runs Python scripts only)'), (element.get("id"),))]
        return []
    places = {"conditionExpression": "condition", "condition": "condition", "timeDate": "timer", "timeDuration": "timer",
              "timeCycle": "timer", "loopCardinality": "loop", "completionCondition": "loop"}
    place = places.get(local)
    if place is None or not text:
        return []
    language = (element.get("language") or "").strip().lower()
    if language not in PYTHON_LANGUAGES and language not in ("feel", "juel", "http://www.omg.org/spec/feel/20140401"):
        return [(_problem(path, element, owner, f'表达式语言 language="{element.get("language")}" 不受支持：zhifa 按 Python 计算表达式；'
                                               f"请改写为 Python 并删除 language 属性 (expression language "
                                               f'"{element.get("language")}" is not supported: write Python)'), _explained(root, owner))]
    hint = expression_hint(text)
    if hint is None:
        return []
    return [(_problem(path, element, owner, hint_message(hint, text, place), "expression"), _explained(root, owner))]


def _explained(root: Any, owner: Any) -> tuple[str | None, ...]:
    """Element ids whose syntax errors the problem explains: the flow, and its source (lint reports a
    condition on the task or gateway the flow leaves); the event or task itself otherwise."""
    ids: list[str | None] = [owner.get("id")]
    if etree.QName(owner).localname == "sequenceFlow":
        ids.append(owner.get("sourceRef"))
    event = owner
    while event is not None and etree.QName(event).localname.endswith("EventDefinition"):
        event = event.getparent()
        ids.append(event.get("id") if event is not None else None)
    return tuple(ids)


def _owner(element: Any) -> Any:
    """The nearest BPMN element with an id (the task, flow or event the problem is about)."""
    node = element
    while node is not None:
        local = etree.QName(node).localname if isinstance(node.tag, str) else ""
        if etree.QName(node).namespace == BPMN and node.get("id") and local not in _PARTS \
                and not local.endswith(("EventDefinition", "LoopCharacteristics")):
            return node
        node = node.getparent()
    return element


def _prefix(namespace: str | None) -> str:
    return {"http://camunda.org/schema/zeebe/1.0": "zeebe", "http://activiti.org/bpmn": "activiti",
            "http://flowable.org/bpmn": "flowable"}.get(namespace or "", "camunda")


def _problem(path: str, element: Any, owner: Any, message: str, kind: str = "lint") -> Problem:
    return Problem(path, message, line=element.sourceline, element=owner.get("id") if owner is not None else None, kind=kind)
