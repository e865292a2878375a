"""Events a case would wait for that can never come in zhifa.

zhifa moves a waiting case on by a timer (the scheduler's sweep) or by a BPMN message
(engine/runtime/messages.py); nothing sends a BPMN signal from outside, and nothing re-evaluates a
conditional event: SpiffWorkflow checks its condition once, when the token arrives, and a case whose
condition was false then waits for ever (an error if the name is not yet in task data). So a
conditional event is refused, and so is a signal that something waits for but no event of the bundle
throws.
"""

from __future__ import annotations

from typing import Any

from engine.definitions.problems import Problem
from engine.definitions.xmlnames import local_name

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NS = {"bpmn": BPMN}
_THROWING = ("intermediateThrowEvent", "endEvent")


def check_events(trees: dict[str, Any]) -> list[Problem]:
    bpmn = {path: root for path, root in sorted(trees.items()) if path.endswith(".bpmn")}
    thrown = {_signal_name(root, d) for root in bpmn.values() for d in root.iter(f"{{{BPMN}}}signalEventDefinition")
              if local_name(d.getparent()) in _THROWING}
    problems = []
    for path, root in bpmn.items():
        for definition in root.iter(f"{{{BPMN}}}conditionalEventDefinition"):
            event = definition.getparent()
            problems.append(Problem(
                path, f"zhifa 不支持条件事件“{_name(event)}”：条件只在到达时判断一次，不成立案件就永远停在这里；请改用排他网关加条件顺序流 "
                      f"(conditional events are not supported: zhifa checks the condition once, when reached, and the case would "
                      f"wait for ever if it was false; use an exclusiveGateway with conditional sequence flows instead)",
                line=event.sourceline, element=event.get("id"), kind="lint"))
        for definition in root.iter(f"{{{BPMN}}}signalEventDefinition"):
            event = definition.getparent()
            name = _signal_name(root, definition)
            if local_name(event) in _THROWING or name in thrown:
                continue
            problems.append(Problem(
                path, f"事件“{_name(event)}”等待信号“{name}”，但本部署中没有任何事件发出它，zhifa 也不能从外部发送信号："
                      f"请在流程中用抛出事件发出它，或删除此等待 (event '{event.get('id')}' waits for signal '{name}', which no "
                      "event of this deployment throws and zhifa cannot send from outside: throw it in the procedure, or remove the wait)",
                line=event.sourceline, element=event.get("id"), kind="lint"))
    return problems


def _signal_name(root: Any, definition: Any) -> str:
    """Signals match by name (SpiffWorkflow); ``signalRef`` names the ``<signal>`` element."""
    ref = definition.get("signalRef") or ""
    if not ref:
        return str(definition.getparent().get("name") or "")
    for signal in root.iter(f"{{{BPMN}}}signal"):
        if signal.get("id") == ref:
            return str(signal.get("name") or ref)
    return ref


def _name(event: Any) -> str:
    return str(event.get("name") or event.get("id"))
