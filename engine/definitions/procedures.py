"""What the platform needs to know about a procedure, read from its own BPMN ``<process>``.

A procedure names itself and its legal facts where it is defined, in ``spiffworkflow:property``
entries on the ``<process>`` element, so that a new procedure is a new BPMN file and not a change to
the engine or the pages (docs/adding-a-procedure.md):

- ``label`` / ``label_en``: what pages call it (Chinese; English for the English interface);
- ``clock_key``: the time limit (a registry key) its 办案期限 runs against once filed;
- ``decision_document``: the document type of its decision, the one 公示 publishes;
- ``startable``: a process reached as a call activity may still be started on its own;
- ``start_form``: the form (``forms/<name>.json``) of the facts a case of it is filed with, beyond
  the party (engine/runtime/start_facts.py; without it, the engine's default facts);
- ``supervision_kind``: the part it plays in the 执法监督 figures (engine/queries/supervision.py):
  ``legal_review`` (its ``review_step`` user task records the outcome in ``review_outcome_field``;
  ``review_returned_value`` means 退回补充) or ``hearing`` (a case that ran it was heard).

The properties are checked when a bundle is deployed (unknown names, a time limit the registry
lacks, a decision document no step of the bundle issues, a start form or review step the bundle
lacks) and read from the active deployment, cached per deployment (deployments are immutable).
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import select

from engine.db import caches
from engine.deadlines.reference import reference
from engine.definitions.parse import _XML_PARSER_OPTIONS, ParsedBundle
from engine.definitions.problems import Problem
from engine.definitions.procedure_checks import REVIEW_PROPERTIES, lint_roles
from engine.definitions.runnable import registered_keys
from engine.models import DeploymentFile, db

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}
PROCESS_PROPERTIES = frozenset({"label", "label_en", "clock_key", "decision_document", "startable", "start_form",
                                "supervision_kind", *REVIEW_PROPERTIES})
# Until a procedure says otherwise: the 90-day limit of 法 Art. 60 (ordinary procedure), and the
# decision of 法 Art. 59 as the document 公示 publishes (法 Art. 48).
DEFAULT_CLOCK_KEY = "case_decision"
DEFAULT_DECISION_DOCUMENT = "行政处罚决定书"
_PROPERTIES = "./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property"


@dataclass(frozen=True)
class Procedure:
    process_id: str
    label: str
    label_en: str
    clock_key: str
    decision_document: str
    start_form: str | None = None  # a form of the same deployment; None: the engine's default facts
    supervision_kind: str | None = None  # legal_review | hearing | None
    review_step: str | None = None  # legal_review: the user task whose form records the outcome
    review_outcome_field: str | None = None
    review_returned_value: str | None = None


def procedure(process_id: str) -> Procedure | None:
    """The active procedure ``process_id`` as its BPMN describes it, or None if none is active."""
    return procedures().get(process_id)


def procedures() -> dict[str, Procedure]:
    """Every active process, by id (called and startable ones alike)."""
    found: dict[str, Procedure] = {}
    for process_id, active in reference().active.items():
        described = _deployment(active.deployment_id).get(process_id)
        if described is not None:
            found[process_id] = described
    return found


def library(processes_dir: str | Path) -> dict[str, Procedure]:
    """The procedures of a library folder (``processes/``) as its files describe them: the labels of a
    procedure not deployed here yet, or of cases of one since withdrawn. Read once per folder."""
    key = str(processes_dir)
    with _lock:
        known = _by_folder.get(key)
    if known is not None:
        return known
    described: dict[str, Procedure] = {}
    for path in sorted(Path(processes_dir).glob("*.bpmn")):
        try:
            described.update(_described(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, etree.XMLSyntaxError):
            continue  # a broken file is the deployment's to report, not a page's
    with _lock:
        _by_folder[key] = described
    return described


def known() -> dict[str, Procedure]:
    """The procedures of the library folder, overridden by the active ones: what the supervision
    figures read, since cases of a procedure not (or no longer) deployed here still count."""
    return {**library(library_folder()), **procedures()}


def library_folder() -> Path:
    """The folder this server deploys from: ``ZHIFA_PROCESSES_DIR``, else the repository's ``processes/``
    (the web application's default too)."""
    return Path(os.environ.get("ZHIFA_PROCESSES_DIR") or Path(__file__).resolve().parents[2] / "processes")


def supervised(kind: str, among: dict[str, Procedure] | None = None) -> list[Procedure]:
    """The procedures playing ``kind`` (``legal_review`` | ``hearing``) in the supervision figures, by id."""
    found = known() if among is None else among
    return [found[pid] for pid in sorted(found) if found[pid].supervision_kind == kind]


def decision_documents() -> frozenset[str]:
    """The decision document types of the active procedures: what 公示 publishes."""
    return frozenset(p.decision_document for p in procedures().values()) or frozenset({DEFAULT_DECISION_DOCUMENT})


def clock_key(process_id: str) -> str:
    found = procedure(process_id)
    return found.clock_key if found is not None else DEFAULT_CLOCK_KEY


def lint_procedures(parsed: ParsedBundle, time_limit_keys: set[str]) -> list[Problem]:
    """Deploy-time checks of the ``<process>`` properties of every BPMN file of the bundle."""
    issued = {value for root in parsed.trees.values() for value in root.xpath(
        "//bpmn:userTask/bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property[@name='document']/@value",
        namespaces=NS)}
    problems = []
    for path, root in sorted(parsed.trees.items()):
        if not path.endswith(".bpmn"):
            continue
        for process in root.xpath("//bpmn:process", namespaces=NS):
            pid = process.get("id")
            for prop in process.xpath(_PROPERTIES, namespaces=NS):
                name, value = prop.get("name"), (prop.get("value") or "").strip()
                problem = _property_problem(name, value, time_limit_keys, issued)
                if problem:
                    problems.append(Problem(path, problem, line=prop.sourceline, element=pid))
            problems += lint_roles(path, process, parsed.forms)
    return problems


def process_properties(parsed: ParsedBundle, process_id: str) -> str:
    """The ``<process>`` properties of ``process_id`` as canonical text ("" when it has none), for the
    spec hash: SpiffWorkflow's serialized spec leaves them out."""
    for path, root in sorted(parsed.trees.items()):
        if path.endswith(".bpmn"):
            for process in root.xpath("//bpmn:process[@id=$pid]", namespaces=NS, pid=process_id):
                props = sorted((p.get("name") or "", p.get("value") or "") for p in process.xpath(_PROPERTIES, namespaces=NS))
                return json.dumps(props, ensure_ascii=False) if props else ""
    return ""


def _property_problem(name: str | None, value: str, time_limit_keys: set[str], issued: set[str]) -> str | None:
    if name not in PROCESS_PROPERTIES:
        return (f"未知的流程属性 '{name}'：流程可用的属性为 {', '.join(sorted(PROCESS_PROPERTIES))} "
                f"(unknown process property; allowed: {', '.join(sorted(PROCESS_PROPERTIES))})")
    if name in ("label", "label_en") and not 0 < len(value) <= 40:
        return f"流程属性 {name} 须为 1 至 40 个字符 (process property {name}: 1–40 characters)"
    if name == "clock_key" and value not in time_limit_keys:
        return (f"办案期限 clock_key '{value}' 不是时限登记表中的时限：请先在时限管理中登记 "
                f"(clock_key '{value}' is not a time limit of the registry); " + registered_keys(time_limit_keys))
    if name == "decision_document" and value not in issued:
        return (f"决定文书 '{value}' 不是本部署中任何环节生成的文书：请核对文书名称 "
                f"(decision_document '{value}' is issued by no step of this deployment)")
    if name == "startable" and value not in ("true", "false"):
        return "流程属性 startable 须为 true 或 false (startable: true or false)"
    return None


_lock = threading.Lock()
_by_deployment: dict[int, dict[str, Procedure]] = {}
_by_folder: dict[str, dict[str, Procedure]] = {}


@caches.register
def forget() -> None:
    with _lock:
        _by_deployment.clear()
        _by_folder.clear()


def _deployment(deployment_id: int) -> dict[str, Procedure]:
    with _lock:
        known = _by_deployment.get(deployment_id)
    if known is not None:
        return known
    described: dict[str, Procedure] = {}
    for content in db.session.scalars(select(DeploymentFile.content).where(
            DeploymentFile.deployment_id == deployment_id, DeploymentFile.kind == "bpmn")):
        described.update(_described(content))
    with _lock:
        _by_deployment[deployment_id] = described
    return described


def _described(content: str) -> dict[str, Procedure]:
    # Deployed files passed the deploy-time XML checks; parse them the same safe way (no entities, no network).
    root = etree.fromstring(content.encode("utf-8"), etree.XMLParser(**_XML_PARSER_OPTIONS))
    out = {}
    for process in root.xpath("//bpmn:process", namespaces=NS):
        pid = process.get("id")
        props: dict[str, Any] = {p.get("name"): (p.get("value") or "").strip() for p in process.xpath(_PROPERTIES, namespaces=NS)}
        name = process.get("name") or pid
        label = props.get("label") or name
        out[pid] = Procedure(process_id=pid, label=label, label_en=props.get("label_en") or label,
                             clock_key=props.get("clock_key") or DEFAULT_CLOCK_KEY,
                             decision_document=props.get("decision_document") or DEFAULT_DECISION_DOCUMENT,
                             start_form=props.get("start_form") or None, supervision_kind=props.get("supervision_kind") or None,
                             **{name: props.get(name) or None for name in REVIEW_PROPERTIES})
    return out
