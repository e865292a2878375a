"""Which diagram elements of a case are done, active or waiting (for the case page's highlights).

Read from the instance's own state: the projection only knows user tasks, the diagram also shows
gateways passed, timers armed and call activities running.
"""

from __future__ import annotations

from collections.abc import Mapping

from lxml import etree
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.definitions.parse import _XML_PARSER_OPTIONS
from engine.definitions.specs import deployment_of
from engine.errors import NotFound
from engine.models import DeploymentFile, ProcessInstance, db
from engine.runtime.instance import open_session

# When a task ran several times (a review returned twice), the liveliest state wins.
_RANK = {"completed": 0, "waiting": 1, "active": 2}


def element_states(instance: ProcessInstance, actor: str) -> dict[str, str]:
    """bpmn id -> completed | active | waiting, for the top-level process of the instance."""
    session = open_session(instance, actor)
    try:
        states: dict[str, str] = {}
        for task in session.workflow.tasks.values():
            bpmn_id = getattr(task.task_spec, "bpmn_id", None)
            if not bpmn_id:
                continue
            if task.state == TaskState.COMPLETED:
                state = "completed"
            elif task.state in (TaskState.READY, TaskState.STARTED):
                state = "active"
            elif task.state == TaskState.WAITING:
                state = "waiting"
            else:
                continue
            if _RANK[state] >= _RANK.get(states.get(bpmn_id, ""), -1):
                states[bpmn_id] = state
        return states
    finally:
        db.session.rollback()  # reading never changes the instance


def process_source(instance: ProcessInstance) -> str:
    """The BPMN XML the instance runs on: from its own deployment, not the active one."""
    deployment_id = deployment_of(instance.process_spec_id)
    return bpmn_source(deployment_id, instance.process_id)


def bpmn_source(deployment_id: int, process_id: str) -> str:
    for content in db.session.scalars(select(DeploymentFile.content).where(
            DeploymentFile.deployment_id == deployment_id, DeploymentFile.kind == "bpmn")):
        if f'id="{process_id}"' in content:
            return content
    raise NotFound(f"流程 '{process_id}' 的 BPMN 文件不存在 (process XML not found)")



_LANE = "{http://www.omg.org/spec/BPMN/20100524/MODEL}lane"


def labelled_lanes(xml: str, labels: Mapping[str, str]) -> str:
    """The diagram with each lane named for people (承办人), not by the role code SpiffWorkflow
    assigns by (``handler``): the viewer shows ``name``, the engine never reads this copy.

    Lanes whose name is not a known role (a designer's own text) keep it. The XML was checked at
    deploy; it is parsed here as there, without entities, DTDs or the network."""
    try:
        root = etree.fromstring(xml.encode("utf-8"), etree.XMLParser(**_XML_PARSER_OPTIONS))
    except etree.XMLSyntaxError:
        return xml
    changed = False
    for lane in root.iter(_LANE):
        name = (lane.get("name") or "").strip()
        if name in labels:
            lane.set("name", str(labels[name]))
            changed = True
    return etree.tostring(root, encoding="unicode") if changed else xml
