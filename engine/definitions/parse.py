"""Parse a bundle with SpiffWorkflow, collecting every problem instead of stopping at the first.

XML is parsed here with a hardened lxml parser (no entities, no network) so a syntax error names
file and line, then validated against the BPMN/DMN XSDs with *all* errors reported, then handed
to SpiffBpmnParser. Call activities and DMN references resolve only when specs are built, so that
step is part of parsing too.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from engine.definitions.bounds import BundleCount, check_diagram
from engine.definitions.bundle import Bundle, BundleFile
from engine.definitions.dmncheck import check_decision_tables
from engine.definitions.dmnshape import check_dmn_shape, split_decisions
from engine.definitions.dmnversions import dmn_validator, unknown_namespace_message
from engine.definitions.formcheck import check_form
from engine.definitions.hitpolicy import DmnParserMixin
from engine.definitions.problems import Problem
from engine.definitions.runnable import SUPERSEDED, check_runnable

_XML_PARSER_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "remove_blank_text": False,
}
# Problems after which specs are not built and lint does not run: the files cannot be read, or are
# too large to be worth reading further.
BLOCKING = ("xml", "xsd", "limit")


class BundleParser(DmnParserMixin, SpiffBpmnParser):
    """SpiffBpmnParser whose business rule tasks run every DMN hit policy (hitpolicy.py)."""


@dataclass
class ParsedBundle:
    bundle: Bundle
    trees: dict[str, Any] = field(default_factory=dict)  # path -> lxml root
    specs: dict[str, tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]]] = field(default_factory=dict)
    process_names: dict[str, str] = field(default_factory=dict)
    parser: SpiffBpmnParser | None = None
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def locate(self, element_id: str) -> tuple[str, int | None]:
        """File and line of the element with this id (ids are looked up across all files).

        An id may occur in several files (processes are separate id spaces): the files just uploaded
        or edited are searched first, so a problem is reported where the designer is working, not in
        an unchanged file deployed earlier.
        """
        preferred = {path: i for i, path in enumerate(self.bundle.preferred)}
        for path in sorted(self.trees, key=lambda p: preferred.get(p, len(preferred))):
            found = self.trees[path].xpath("//*[@id=$id]", id=element_id)
            if found:
                return path, found[0].sourceline
        return "", None


def parse_bundle(bundle: Bundle) -> ParsedBundle:
    parsed = ParsedBundle(bundle)
    parser = BundleParser(validator=None)
    parsed.parser = parser
    _parse_forms(bundle, parsed)
    # Size limits first, on the bare tree: a huge diagram is refused in milliseconds, before XSD
    # validation and SpiffWorkflow spend seconds on it (bounds.py).
    total = BundleCount()
    # DMN first: business rule tasks look their decision up while the BPMN is parsed.
    refused_decisions: set[str] = set()  # decisions of DMN files refused whole (their callers' errors follow from that)
    for f in bundle.of_kind("dmn"):
        root = _xml(f, parsed)
        if root is not None and _within_bounds(f, root, total, parsed) and _xsd_ok(f, root, dmn_validator(root), parsed):
            # Missing ids, several decisions, literal expressions (dmnshape.py): refused, or split one decision per tree.
            shape = check_dmn_shape(f.path, root)
            parsed.problems += shape
            if shape:
                refused_decisions.update(str(d) for d in root.xpath("./*[local-name()='decision']/@id"))
                continue
            for tree in split_decisions(root):
                _guard(parsed, f.path, lambda f=f, tree=tree: parser.add_dmn_xml(tree, f.path))
            # Hit policies zhifa runs, and UNIQUE tables whose rules overlap (dmncheck.py).
            parsed.problems += check_decision_tables(f.path, root)
    runnable: set[tuple[str, str | None]] = set()  # (file, element) of each unrunnable construct reported (runnable.py)
    for f in bundle.of_kind("bpmn"):
        root = _xml(f, parsed)
        if root is None or not _within_bounds(f, root, total, parsed):
            continue
        found = check_runnable(f.path, root)  # before the XSD: a service task is refused as such, whatever else is wrong
        parsed.problems += found
        runnable.update((p.file, p.element) for p in found)
        if _xsd_ok(f, root, VALIDATOR, parsed):
            _guard(parsed, f.path, lambda f=f, root=root: parser.add_bpmn_xml(root, f.path))
    if not bundle.of_kind("bpmn") and not parsed.problems:
        names = ", ".join(f.path for f in bundle.files)
        parsed.problems.append(Problem(
            bundle.files[0].path if bundle.files else "",
            f"部署中没有 BPMN 流程文件：决策表和表单须与使用它们的 .bpmn 流程一起部署 (the bundle has no BPMN file: deploy "
            f"decision tables and forms together with the .bpmn process that uses them; files: {names})", kind="reference"))
    if any(p.kind in BLOCKING for p in parsed.problems):
        _drop_superseded(parsed, runnable, refused_decisions)
        return parsed
    for process_id in parser.get_process_ids():
        def build(process_id: str = process_id) -> None:
            spec = parser.get_spec(process_id)
            subprocess_specs = parser.get_subprocess_specs(process_id)
            missing = [k for k, v in subprocess_specs.items() if v is None]
            if missing:
                raise ValidationException(f"调用的流程不存在 (unknown calledElement): {', '.join(missing)}")
            parsed.specs[process_id] = (spec, subprocess_specs)
            parsed.process_names[process_id] = spec.description or process_id

        _guard(parsed, "", build, context=process_id)
    _drop_superseded(parsed, runnable, refused_decisions)
    return parsed


def _drop_superseded(parsed: ParsedBundle, runnable: set[tuple[str, str | None]], refused_decisions: set[str]) -> None:
    """SpiffWorkflow's message for a construct runnable.py already refused on the same element (its own
    names no line, or prints a Python object) gives way to the located one; so does "No DMN Diagram
    available" for a decision whose file dmnshape.py refused. SpiffWorkflow names no element for a
    data store: any refusal in the file stands for it."""
    missing = tuple(f'No DMN Diagram available with id "{d}"' for d in refused_decisions)
    files = {file for file, _element in runnable}

    def superseded(p: Problem) -> bool:
        if p.kind != "reference":
            return False
        if any(m in p.message for m in missing):
            return True
        covered = (p.file, p.element) in runnable or (p.element is None and p.file in files)
        return covered and any(s in p.message for s in SUPERSEDED)

    parsed.problems = [p for p in parsed.problems if not superseded(p)]


def _within_bounds(f: BundleFile, root: Any, total: BundleCount, parsed: ParsedBundle) -> bool:
    problems = check_diagram(f.path, root, total)
    parsed.problems += problems
    return not problems


def _parse_forms(bundle: Bundle, parsed: ParsedBundle) -> None:
    for name, f in bundle.forms().items():
        try:
            schema = json.loads(f.content.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:  # "[" * 50_000 overflows the parser's stack
            line = getattr(exc, "lineno", None)
            parsed.problems.append(Problem(f.path, f"表单不是有效的 JSON：请修正此处后重新上传 (invalid JSON: fix it): {exc}",
                                           line=line, kind="form"))
            continue
        if not isinstance(schema, dict):
            parsed.problems.append(Problem(f.path, "表单必须是 JSON 对象：请以 {\"type\": \"object\", …} 书写 (a form schema must be a "
                                                   "JSON object)", kind="form"))
            continue
        parsed.forms[name] = schema
        # Patterns run with RE2 and $refs stay inside the form (formcheck.py); checked here so the
        # designer's 校验 and every deployment path report them with file and JSON pointer.
        parsed.problems += check_form(f.path, schema)


def _xml(f: BundleFile, parsed: ParsedBundle) -> Any:
    try:
        # Stored and served as UTF-8 text; another encoding would be mangled on the way back out.
        f.content.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = f.content[: exc.start].count(b"\n") + 1
        parsed.problems.append(Problem(f.path, "文件必须使用 UTF-8 编码：请以 UTF-8 重新保存 (files must be UTF-8: save as UTF-8)",
                                       line=line, kind="xml"))
        return None
    try:
        root = etree.fromstring(f.content, etree.XMLParser(**_XML_PARSER_OPTIONS))
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if hasattr(exc, "lineno") else None
        parsed.problems.append(Problem(f.path, f"XML 格式错误：请修正此行附近的标签后重新上传 (malformed XML: fix the tags near this "
                                               f"line and upload again): {exc.msg}", line=line, kind="xml"))
        return None
    doctype = root.getroottree().docinfo
    if doctype.doctype or doctype.internalDTD is not None:
        # BPMN and DMN need no DTD; entities are a classic way in (XXE, expansion bombs).
        parsed.problems.append(Problem(f.path, "不允许 DOCTYPE/实体声明：请删除它们 (DOCTYPE and entity declarations are not allowed: "
                                               "remove them)",
                                       line=1, kind="xml"))
        return None
    parsed.trees[f.path] = root
    return root


def _xsd_ok(f: BundleFile, root: Any, validator: BpmnValidator | None, parsed: ParsedBundle) -> bool:
    if validator is None:
        parsed.problems.append(Problem(f.path, unknown_namespace_message(root), line=root.sourceline, element=root.get("id"), kind="xsd"))
        return False
    validator.preprocess(root)
    schema = validator.validator
    try:
        if schema.validate(root):
            return True
    except etree.XMLSchemaValidateError as exc:
        parsed.problems.append(Problem(f.path, f"不符合 XSD 规范：请按提示修正 (XSD validation failed: fix as described): {exc}",
                                       line=1, element=root.get("id"), kind="xsd"))
        return False
    for err in schema.error_log:
        parsed.problems.append(Problem(f.path, f"不符合 XSD 规范：请按提示修正此行的元素 (XSD violation: fix the element on this line as "
                                               f"described): {readable_names(err.message)}",
                                       line=err.line, element=_element_at(root, err.line),
                                       kind="xsd"))
    return False


_PREFIXES = {"http://www.omg.org/spec/BPMN/20100524/MODEL": "bpmn:", "http://www.omg.org/spec/BPMN/20100524/DI": "bpmndi:",
             "http://spiffworkflow.org/bpmn/schema/1.0/core": "spiffworkflow:"}
_CLARK = re.compile(r"\{([^{}]*)\}")


def readable_names(message: str) -> str:
    """lxml names elements as ``{namespace-uri}name``; a designer's XML says ``bpmn:name``."""
    return _CLARK.sub(lambda m: _PREFIXES.get(m.group(1), "dmn:" if "DMN" in m.group(1).upper() else ""), message)


def _guard(parsed: ParsedBundle, path: str, action: Any, context: str = "") -> None:
    try:
        action()
    except ValidationException as exc:
        file_name = exc.file_name or path
        element = exc.id or context or None
        line = exc.line_number or None
        if element and not line:
            located_file, line = parsed.locate(element)
            file_name = file_name or located_file
        message = _OBJECT_TEXT.sub(lambda m: f"'{element}'", str(exc).split("\n")[0])
        if not _CHINESE.search(message):  # SpiffWorkflow's own, English-only words
            message = f"流程文件无法读取，请按提示修正此元素 (SpiffWorkflow cannot read this element; fix it as described): {message}"
        parsed.problems.append(Problem(file_name, message, line=line, element=element, kind="reference"))
    except (SpiffWorkflowException, LookupError, ValueError, TypeError, AttributeError) as exc:  # LookupError: a DMN without a decision
        located_file, line = parsed.locate(context) if context else ("", None)
        parsed.problems.append(Problem(path or located_file, f"解析失败：请检查并修正此元素 (cannot read this element: {exc!s})", line=line,
                                       element=context or None, kind="reference"))


_OBJECT_TEXT = re.compile(r"<Element [^>]*>")  # lxml's repr in SpiffWorkflow messages
_CHINESE = re.compile(r"[\u4e00-\u9fff]")


def _element_at(root: Any, line: int | None) -> str | None:
    """The id of the element on ``line`` (or the nearest enclosing one with an id): XSD errors give only a line."""
    for node in root.iter():
        if node.sourceline == line and isinstance(node.tag, str):
            while node is not None and not node.get("id"):
                node = node.getparent()
            return node.get("id") if node is not None else None
    return None
