"""Versions of the process library: what changed between two deployments, rolling back, dry-run validation.

Deployments are immutable, so a rollback is a *new* deployment carrying an earlier one's files: new
cases use it at once, running cases keep the version they started on (or are migrated explicitly),
and the history of what was active when stays readable.

Element diffs compare each id'd XML element in a canonical form (its attributes, its own text and
its children that carry no id); children with an id are elements of their own, so adding a task
reports the task, its flows and the lane that lists it, not the whole process as "changed".
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import undefer

from engine.db.command import command
from engine.definitions import Bundle, BundleFile, validate_bundle
from engine.definitions.deploy import latest_deployment, store_and_activate
from engine.definitions.parse import _XML_PARSER_OPTIONS
from engine.errors import InvalidInput, InvalidState, NotFound
from engine.models import Deployment, DeploymentFile, User, db
from engine.policy.permissions import DESIGNERS, require
from engine.record import audit

WRITERS = DESIGNERS
# Prefixes the designer knows from the files; any other namespace is shown by its local name.
PREFIXES = {
    "http://www.omg.org/spec/BPMN/20100524/MODEL": "bpmn",
    "http://www.omg.org/spec/BPMN/20100524/DI": "bpmndi",
    "http://www.omg.org/spec/DD/20100524/DC": "dc",
    "http://www.omg.org/spec/DD/20100524/DI": "di",
    "http://spiffworkflow.org/bpmn/schema/1.0/core": "spiffworkflow",
    "https://www.omg.org/spec/DMN/20191111/MODEL/": "dmn",
    "http://www.omg.org/spec/DMN/20180521/MODEL/": "dmn",
    "https://www.omg.org/spec/DMN/20180521/MODEL/": "dmn",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd": "dmn",
    "https://www.omg.org/spec/DMN/20191111/DMNDI/": "dmndi",
}
DIAGRAM_PREFIXES = frozenset({"bpmndi", "dc", "di", "dmndi"})
MAX_TEXT_DIFF_LINES = 2000


@dataclass
class ElementChange:
    """One BPMN/DMN element (by id) or form field (by name) that was added, changed or removed.

    ``changes`` (changed elements only) maps what differs to ``{"from": …, "to": …}``: ``tag``,
    ``attributes``, ``text``, ``properties`` (spiffworkflow extension properties) and ``children``
    (child elements without an id, by tag); for form fields, the keys of the field's schema and
    ``required``. ``diagram`` marks BPMNDI/DMNDI layout elements, which a reader may want to hide.
    """

    id: str
    tag: str
    name: str | None = None
    diagram: bool = False
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass
class FileDiff:
    path: str
    kind: str  # bpmn | dmn | form
    status: str  # added | removed | changed | unchanged
    from_sha256: str | None = None
    to_sha256: str | None = None
    added: list[ElementChange] = field(default_factory=list)
    changed: list[ElementChange] = field(default_factory=list)
    removed: list[ElementChange] = field(default_factory=list)
    # Form-level schema keys other than the fields (title, required order, …) that changed.
    form_changes: dict[str, Any] = field(default_factory=dict)
    text_diff: str = ""  # unified diff, changed files only

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DeploymentDiff:
    from_deployment: int
    to_deployment: int
    files: list[FileDiff]

    @property
    def identical(self) -> bool:
        return all(f.status == "unchanged" for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = {"added": 0, "removed": 0, "changed": 0, "unchanged": 0}
        for f in self.files:
            counts[f.status] += 1
        return {"from": self.from_deployment, "to": self.to_deployment, "identical": self.identical,
                "summary": counts, "files": [f.to_dict() for f in self.files]}


def get_deployment(deployment_id: int) -> Deployment:
    deployment = db.session.get(Deployment, deployment_id)
    if deployment is None:
        raise NotFound(f"部署 #{deployment_id} 不存在 (no such deployment)")
    return deployment


def deployment_file(deployment_id: int, path: str) -> DeploymentFile:
    row = db.session.scalars(
        select(DeploymentFile).where(DeploymentFile.deployment_id == get_deployment(deployment_id).id, DeploymentFile.path == path)
    ).first()
    if row is None:
        raise NotFound(f"部署 #{deployment_id} 中没有文件 {path} (no such file in this deployment)")
    return row


def deployment_files(deployment_id: int) -> list[DeploymentFile]:
    """A deployment's files with their content, in one query."""
    return list(db.session.scalars(
        select(DeploymentFile).where(DeploymentFile.deployment_id == get_deployment(deployment_id).id)
        .options(undefer(DeploymentFile.content)).order_by(DeploymentFile.path)
    ))


def deployment_bundle(deployment: Deployment) -> Bundle:
    return Bundle(tuple(BundleFile(f.path, f.content.encode("utf-8")) for f in deployment_files(deployment.id)))


def diff_deployments(from_id: int, to_id: int) -> DeploymentDiff:
    """Per file of either deployment: its status and, for changed files, the elements or fields that differ."""
    return DeploymentDiff(from_id, to_id, _diff_files(deployment_files(from_id), deployment_files(to_id), f"#{from_id}", f"#{to_id}"))


def diff_against(from_id: int | None, files: Iterable[Any], to_label: str) -> DeploymentDiff:
    """Per file: ``files`` (rows with path, kind, sha256, content — e.g. a submission's) against
    deployment ``from_id`` (``None``: an empty library, everything is added)."""
    old = deployment_files(from_id) if from_id is not None else []
    label = f"#{from_id}" if from_id is not None else "#0"
    return DeploymentDiff(from_id or 0, 0, _diff_files(old, files, label, to_label, whole_added=True))  # a reviewer reads a new file whole


@command
def rollback(actor: User, deployment_id: int, comment: str) -> Deployment:
    """Deploy the files of an earlier deployment as a new deployment; audited with the reason.

    The old files are validated again (a time limit they name may have been removed since) and only
    processes whose spec differs from the active one are activated.

    No second person is asked, even where deployments need review (review_policy.py): a rollback
    only brings back files that were active before — each approved, or deployed by the operator —
    and it is the way out of a bad version, which must not wait for a reviewer. It is audited with
    its reason, and it makes every pending submission stale (they were based on the version it
    replaces), so nothing unreviewed rides along with it.
    """
    require(actor, "procedure.rollback")
    comment = (comment or "").strip()
    if not comment:
        raise InvalidInput("回滚必须填写说明 (a rollback needs a comment saying why)",
                           details=[{"field": "comment", "message": "必填 (required)"}])
    target = get_deployment(deployment_id)
    latest = latest_deployment()
    if latest is not None and latest.bundle_hash == target.bundle_hash:
        raise InvalidState(f"部署 #{target.id} 的内容与当前版本相同，无需回滚 (deployment #{target.id} is the current content)")
    bundle = deployment_bundle(target)
    # Recorded first, committed with the new deployment (deploy_bundle joins this command) or discarded
    # with it; the bundle hash ties this event to the deployment.created event that follows.
    audit.record(
        action="deployment.rolled_back",
        actor=actor.username,
        data={"to_files_of": target.id, "replacing": latest.id if latest else None,
              "bundle_hash": bundle.hash, "comment": comment},
    )
    return store_and_activate(bundle, actor.username, f"回滚至部署 #{target.id} (rollback to #{target.id}): {comment}")


def upload_bundle(uploads: Iterable[tuple[str, bytes]], replace_all: bool = False) -> Bundle:
    """What ``POST /deployments`` deploys: the uploads replacing same-named files of the latest deployment."""
    return merged_with_latest(Bundle.from_uploads(uploads), replace_all)


def merged_with_latest(bundle: Bundle, replace_all: bool = False) -> Bundle:
    """``bundle``'s files added to, or replacing same-named files of, the latest deployment; every
    other file of the library stays (``replace_all``: the bundle alone is the new library). What
    ``POST /deployments`` and ``zhifa deploy DIR`` deploy."""
    latest = latest_deployment()
    if latest is None or replace_all:
        return bundle
    return deployment_bundle(latest).replace(bundle.files)


def validate_files(uploads: Iterable[tuple[str, bytes]], replace_all: bool = False) -> list[dict[str, Any]]:
    """Every problem deploying ``uploads`` would meet (XML, XSD, references, lint, expressions); changes nothing."""
    _parsed, problems = validate_bundle(upload_bundle(uploads, replace_all))
    return [p.to_dict() for p in problems]


# ---------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------
def _diff_files(old_files: Iterable[Any], new_files: Iterable[Any], from_label: str, to_label: str,
                whole_added: bool = False) -> list[FileDiff]:
    old, new = {f.path: f for f in old_files}, {f.path: f for f in new_files}
    return [_diff_file(path, old.get(path), new.get(path), from_label, to_label, whole_added) for path in sorted(old.keys() | new.keys())]


def _diff_file(path: str, a: Any, b: Any, from_label: str, to_label: str, whole_added: bool = False) -> FileDiff:
    kind = (a or b).kind  # type: ignore[union-attr]
    if a is None or b is None:
        status = "added" if a is None else "removed"
    else:
        status = "unchanged" if a.sha256 == b.sha256 else "changed"
    result = FileDiff(path, kind, status, a.sha256 if a else None, b.sha256 if b else None)
    if status == "unchanged":
        return result
    old_text, new_text = (a.content if a else ""), (b.content if b else "")
    if kind == "form":
        _diff_form(result, old_text, new_text)
    else:
        _diff_xml(result, old_text, new_text)
    if status == "changed" or (whole_added and status == "added"):
        result.text_diff = text_diff(old_text, new_text, f"{from_label}/{path}", f"{to_label}/{path}")
    return result


def text_diff(old_text: str, new_text: str, from_name: str, to_name: str) -> str:
    """A unified diff of two sources (difflib, line by line: Chinese text stays as it is), bounded in length."""
    lines = difflib.unified_diff(old_text.splitlines(keepends=True), new_text.splitlines(keepends=True),
                                 fromfile=from_name, tofile=to_name)
    out = []
    for i, line in enumerate(lines):
        if i >= MAX_TEXT_DIFF_LINES:
            out.append(f"… (diff truncated after {MAX_TEXT_DIFF_LINES} lines)\n")
            break
        out.append(line if line.endswith("\n") else line + "\n")
    return "".join(out)


def _diff_xml(result: FileDiff, old_text: str, new_text: str) -> None:
    old, new = _elements(old_text), _elements(new_text)
    for element_id in sorted(new.keys() - old.keys(), key=lambda i: new[i]["order"]):
        result.added.append(_change(element_id, new[element_id]))
    for element_id in sorted(old.keys() - new.keys(), key=lambda i: old[i]["order"]):
        result.removed.append(_change(element_id, old[element_id]))
    for element_id in sorted(old.keys() & new.keys(), key=lambda i: new[i]["order"]):
        changes = _element_changes(old[element_id], new[element_id])
        if changes:
            result.changed.append(_change(element_id, new[element_id], changes))


def _elements(text: str) -> dict[str, dict[str, Any]]:
    """Every element with an id, in canonical form, keyed by id (empty if the file does not parse)."""
    if not text:
        return {}
    try:
        root = etree.fromstring(text.encode("utf-8"), etree.XMLParser(**_XML_PARSER_OPTIONS))
    except etree.XMLSyntaxError:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for order, el in enumerate(root.iter()):
        if not isinstance(el.tag, str) or not el.get("id"):
            continue
        tag = _tag(el)
        properties: dict[str, str] = {}
        children: dict[str, list[str]] = {}
        for child in _plain_children(el):
            if _tag(child) == "bpmn:extensionElements":
                for ext in _plain_children(child):
                    if _tag(ext) == "spiffworkflow:properties":
                        for prop in _plain_children(ext):
                            properties[prop.get("name", "")] = prop.get("value", "")
                    else:
                        children.setdefault(_tag(ext), []).append(_canonical(ext))
            else:
                children.setdefault(_tag(child), []).append(_canonical(child))
        out[el.get("id")] = {
            "order": order,
            "tag": tag,
            "name": el.get("name") or el.get("label"),
            "attributes": {_attr_name(k): v for k, v in el.attrib.items() if k != "id"},
            "text": (el.text or "").strip(),
            "properties": properties,
            "children": children,
        }
    return out


def _element_changes(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if old["tag"] != new["tag"]:
        changes["tag"] = {"from": old["tag"], "to": new["tag"]}
    if old["text"] != new["text"]:
        changes["text"] = {"from": old["text"], "to": new["text"]}
    for key in ("attributes", "properties", "children"):
        differing = {
            name: {"from": old[key].get(name), "to": new[key].get(name)}
            for name in sorted(old[key].keys() | new[key].keys())
            if old[key].get(name) != new[key].get(name)
        }
        if differing:
            changes[key] = differing
    return changes


def _change(element_id: str, element: dict[str, Any], changes: dict[str, Any] | None = None) -> ElementChange:
    prefix = element["tag"].split(":", 1)[0]
    return ElementChange(element_id, element["tag"], element["name"], prefix in DIAGRAM_PREFIXES, changes or {})


def _plain_children(el: Any) -> list[Any]:
    """Child elements that are not elements of their own (no id); comments are ignored."""
    return [c for c in el if isinstance(c.tag, str) and not c.get("id")]


def _canonical(el: Any) -> str:
    """A compact, order-preserving rendering of an id-less element: ``tag[attr=value](text){children}``."""
    attrs = ",".join(f"{_attr_name(k)}={v}" for k, v in sorted(el.attrib.items()))
    inner = ";".join(_canonical(c) for c in _plain_children(el))
    text = (el.text or "").strip()
    out = _tag(el)
    if attrs:
        out += f"[{attrs}]"
    if text:
        out += f"({text})"
    if inner:
        out += "{" + inner + "}"
    return out


def _tag(el: Any) -> str:
    qname = etree.QName(el)
    prefix = PREFIXES.get(qname.namespace or "")
    return f"{prefix}:{qname.localname}" if prefix else qname.localname


def _attr_name(name: str) -> str:
    if not name.startswith("{"):
        return name
    qname = etree.QName(name)
    prefix = PREFIXES.get(qname.namespace or "")
    return f"{prefix}:{qname.localname}" if prefix else qname.localname


def _diff_form(result: FileDiff, old_text: str, new_text: str) -> None:
    old, new = _schema(old_text), _schema(new_text)
    old_fields, new_fields = _fields(old), _fields(new)
    old_required, new_required = set(old.get("required") or []), set(new.get("required") or [])
    for name in [n for n in new_fields if n not in old_fields]:
        result.added.append(ElementChange(name, "field", _title(new_fields[name])))
    for name in [n for n in old_fields if n not in new_fields]:
        result.removed.append(ElementChange(name, "field", _title(old_fields[name])))
    for name in [n for n in new_fields if n in old_fields]:
        a, b = old_fields[name], new_fields[name]
        changes = {key: {"from": a.get(key), "to": b.get(key)} for key in sorted(a.keys() | b.keys()) if a.get(key) != b.get(key)}
        if (name in old_required) != (name in new_required):
            changes["required"] = {"from": name in old_required, "to": name in new_required}
        if changes:
            result.changed.append(ElementChange(name, "field", _title(b), changes=changes))
    for key in sorted((old.keys() | new.keys()) - {"properties", "required"}):
        if old.get(key) != new.get(key):
            result.form_changes[key] = {"from": old.get(key), "to": new.get(key)}


def _schema(text: str) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _fields(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return {}
    return {k: v if isinstance(v, dict) else {"schema": v} for k, v in properties.items()}


def _title(prop: dict[str, Any]) -> str | None:
    title = prop.get("title")
    return title if isinstance(title, str) else None
