"""Designers' drafts: edit files of the procedure library without touching what runs, then deploy.

A draft set is the latest deployment with the drafted files replaced. Validating it runs exactly
the checks a deployment runs; deploying it goes through ``deploy_bundle`` (all or nothing), so a
draft with an error never reaches a case. Drafts are text stored in the database, never files on
the server: an upload cannot reach the operating system.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, select

from engine import clock
from engine.db.command import command
from engine.definitions import Bundle, deploy_bundle
from engine.definitions.bundle import MAX_FILE_BYTES, BundleFile, safe_path
from engine.definitions.deploy import latest_deployment, validate_bundle
from engine.definitions.problems import Problem
from engine.definitions.review import submit_bundle
from engine.definitions.versions import deployment_bundle
from engine.errors import Conflict, InvalidInput, NotFound
from engine.models import Deployment, DeploymentFile, DeploymentSubmission, Draft, User, db
from engine.policy.permissions import require
from engine.record import audit

_PROCESS_ID = re.compile(r"^[a-z][a-z0-9_]{1,59}$")


def library() -> list[dict[str, Any]]:
    """Every file of the latest deployment and every draft: path, kind, and whether it is drafted."""
    latest = latest_deployment()
    deployed = {f.path: f for f in (latest.files if latest else [])}
    drafts = {d.path: d for d in db.session.scalars(select(Draft))}
    rows = []
    for path in sorted(set(deployed) | set(drafts)):
        draft = drafts.get(path)
        rows.append({"path": path, "kind": BundleFile(path, b"").kind, "deployed": path in deployed,
                     "draft": draft is not None, "updated_by": draft.updated_by if draft else None,
                     "updated_at": draft.updated_at if draft else None})
    return rows


def source(path: str) -> tuple[str, str]:
    """The text a designer edits: the draft if there is one, else the deployed file."""
    path = safe_path(path)
    draft = db.session.scalars(select(Draft).where(Draft.path == path)).first()
    if draft is not None:
        return draft.content, "draft"
    latest = latest_deployment()
    if latest is not None:
        content = db.session.scalars(select(DeploymentFile.content).where(
            DeploymentFile.deployment_id == latest.id, DeploymentFile.path == path)).first()
        if content is not None:
            return content, "deployed"
    raise NotFound(f"文件 '{path}' 不存在 (file not found)")


@command
def save_draft(actor: User, path: str, content: str) -> Draft:
    require(actor, "procedure.edit")
    path = safe_path(path)
    if not isinstance(content, str) or not content.strip():
        raise InvalidInput("文件内容不能为空 (the file is empty)")
    if len(content.encode("utf-8")) > MAX_FILE_BYTES:
        raise InvalidInput(f"文件超过 {MAX_FILE_BYTES // 1024 // 1024} MB (file too large)")
    draft = db.session.scalars(select(Draft).where(Draft.path == path)).first()
    now = clock.now()
    if draft is None:
        latest = latest_deployment()
        draft = Draft(path=path, content=content, base_deployment_id=latest.id if latest else None,
                      updated_by=actor.username, updated_at=now)
        db.session.add(draft)
    else:
        draft.content, draft.updated_by, draft.updated_at = content, actor.username, now
    audit.record("draft.saved", actor.username, {"path": path, "bytes": len(content.encode("utf-8"))})
    return draft


@command
def discard_draft(actor: User, path: str) -> None:
    require(actor, "procedure.edit")
    path = safe_path(path)
    if db.session.execute(delete(Draft).where(Draft.path == path)).rowcount:  # type: ignore[attr-defined]
        audit.record("draft.discarded", actor.username, {"path": path})


def draft_bundle(overrides: dict[str, str] | None = None) -> Bundle:
    latest = latest_deployment()
    base = deployment_bundle(latest) if latest else Bundle(())
    changed = {d.path: d.content for d in db.session.scalars(select(Draft))}
    changed.update({safe_path(p): c for p, c in (overrides or {}).items()})
    return base.replace(BundleFile(p, c.encode("utf-8")) for p, c in changed.items())


def validate_drafts(overrides: dict[str, str] | None = None) -> list[Problem]:
    """What a deployment of the drafts (plus ``overrides``, e.g. the editor's unsaved text) would say."""
    try:
        return validate_bundle(draft_bundle(overrides))[1]
    finally:
        db.session.rollback()


@command
def deploy_drafts(actor: User, comment: str) -> Deployment:
    """Deploy the draft set as a new version (new cases use it at once) and clear the drafts, in one
    transaction: a deployment whose drafts are still pending, or drafts cleared for a deployment
    that failed, cannot be committed."""
    require(actor, "procedure.edit")
    if not comment.strip():
        raise InvalidInput("请填写部署说明 (give a comment for the version history)")
    paths = list(db.session.scalars(select(Draft.path)))
    if not paths:
        raise Conflict("没有待部署的草稿 (nothing to deploy)")
    deployment = deploy_bundle(draft_bundle(), actor, comment.strip())
    db.session.execute(delete(Draft).where(Draft.path.in_(paths)))
    audit.record("draft.deployed", actor.username, {"paths": paths, "deployment": deployment.id})
    return deployment


@command
def submit_drafts(actor: User, comment: str) -> DeploymentSubmission:
    """Where deployments need review: submit the draft set for a second person's approval. The drafts
    stay (a rejected change is still there to fix); the approval clears those it deploys."""
    require(actor, "procedure.edit")
    if not list(db.session.scalars(select(Draft.path).limit(1))):
        raise Conflict("没有待提交的草稿 (no drafts to submit)")
    return submit_bundle(actor, draft_bundle(), comment)


@command
def new_process(actor: User, process_id: str, name: str) -> Draft:
    """A new procedure from the template: one handler task with its form, ready to be edited."""
    require(actor, "procedure.edit")
    if not _PROCESS_ID.match(process_id or ""):
        raise InvalidInput("流程标识须为小写字母开头的字母、数字、下划线 (process id: lowercase letters, digits, _)",
                           details=[{"field": "process_id", "message": "格式不正确"}])
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput("请填写流程名称 (give the process a name)", details=[{"field": "name", "message": "必填"}])
    path = f"processes/{process_id}.bpmn"
    if any(row["path"] == path for row in library()):
        raise Conflict(f"流程文件 {path} 已存在 (a process file of that id exists)")
    form = f"{process_id}_handle"
    now, latest = clock.now(), latest_deployment()
    base = latest.id if latest else None
    draft = Draft(path=path, content=_TEMPLATE.format(pid=process_id, name=_xml_escape(name), form=form),
                  base_deployment_id=base, updated_by=actor.username, updated_at=now)
    db.session.add(draft)
    db.session.add(Draft(path=f"forms/{form}.json", content=_FORM_TEMPLATE, base_deployment_id=base,
                         updated_by=actor.username, updated_at=now))
    audit.record("draft.created", actor.username, {"path": path, "name": name})
    return draft


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
                  xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
                  xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="{pid}_definitions" targetNamespace="http://zhifa.example/{pid}">
  <bpmn:collaboration id="{pid}_collaboration">
    <bpmn:participant id="{pid}_participant" name="{name}" processRef="{pid}"/>
  </bpmn:collaboration>
  <bpmn:process id="{pid}" name="{name}" isExecutable="true">
    <bpmn:laneSet id="{pid}_lanes">
      <bpmn:lane id="{pid}_lane_handler" name="handler">
        <bpmn:flowNodeRef>{pid}_start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>{pid}_handle</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>{pid}_end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="{pid}_start" name="开始"><bpmn:outgoing>{pid}_f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="{pid}_handle" name="办理">
      <bpmn:documentation>承办人办理本事项。</bpmn:documentation>
      <bpmn:extensionElements>
        <spiffworkflow:instructionsForEndUser>请办理案件 {{{{ case_number }}}}。</spiffworkflow:instructionsForEndUser>
        <spiffworkflow:properties>
          <spiffworkflow:property name="form" value="{form}"/>
          <spiffworkflow:property name="time_limit" value="internal_approval"/>
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>{pid}_f1</bpmn:incoming><bpmn:outgoing>{pid}_f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="{pid}_end" name="结束"><bpmn:incoming>{pid}_f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="{pid}_f1" sourceRef="{pid}_start" targetRef="{pid}_handle"/>
    <bpmn:sequenceFlow id="{pid}_f2" sourceRef="{pid}_handle" targetRef="{pid}_end"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="{pid}_diagram">
    <bpmndi:BPMNPlane id="{pid}_plane" bpmnElement="{pid}_collaboration">
      <bpmndi:BPMNShape id="{pid}_participant_di" bpmnElement="{pid}_participant" isHorizontal="true">
        <dc:Bounds x="100" y="60" width="560" height="180"/>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="{pid}_lane_handler_di" bpmnElement="{pid}_lane_handler" isHorizontal="true">
        <dc:Bounds x="130" y="60" width="530" height="180"/>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="{pid}_start_di" bpmnElement="{pid}_start">
        <dc:Bounds x="182" y="132" width="36" height="36"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="{pid}_handle_di" bpmnElement="{pid}_handle">
        <dc:Bounds x="320" y="110" width="100" height="80"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="{pid}_end_di" bpmnElement="{pid}_end">
        <dc:Bounds x="542" y="132" width="36" height="36"/></bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="{pid}_f1_di" bpmnElement="{pid}_f1">
        <di:waypoint x="218" y="150"/><di:waypoint x="320" y="150"/></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="{pid}_f2_di" bpmnElement="{pid}_f2">
        <di:waypoint x="420" y="150"/><di:waypoint x="542" y="150"/></bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""

_FORM_TEMPLATE = """{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "办理",
  "type": "object",
  "required": ["opinion"],
  "properties": {
    "opinion": {"type": "string", "title": "办理意见", "maxLength": 2000, "x-widget": "textarea"}
  }
}
"""
