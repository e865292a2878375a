"""Parse a bundle with SpiffWorkflow, collecting every problem instead of stopping at the first.

XML is parsed here with a hardened lxml parser (no entities, no network) so a syntax error names
file and line, then validated against the BPMN/DMN XSDs with *all* errors reported, then handed
to SpiffBpmnParser. Call activities and DMN references resolve only when specs are built, so that
step is part of parsing too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS as DMN_SCHEMAS
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from engine.definitions.bounds import BundleCount, check_diagram
from engine.definitions.bundle import Bundle, BundleFile
from engine.definitions.dmncheck import check_decision_tables
from engine.definitions.formcheck import check_form
from engine.definitions.hitpolicy import DmnParserMixin
from engine.definitions.problems import Problem

_XML_PARSER_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "remove_blank_text": False,
}
_dmn_validators: dict[str, BpmnValidator] = {}
# Problems after which specs are not built and lint does not run: the files cannot be read, or are
# too large to be worth reading further.
BLOCKING = ("xml", "xsd", "limit")


class BundleParser(DmnParserMixin, SpiffBpmnParser):
    """SpiffBpmnParser whose business rule tasks honour the FIRST hit policy (hitpolicy.py)."""


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
    for f in bundle.of_kind("dmn"):
        root = _xml(f, parsed)
        if root is not None and _within_bounds(f, root, total, parsed) and _xsd_ok(f, root, _dmn_validator(root), parsed):
            _guard(parsed, f.path, lambda f=f, root=root: parser.add_dmn_xml(root, f.path))
            # Hit policies zhifa runs, and UNIQUE tables whose rules overlap (dmncheck.py).
            parsed.problems += check_decision_tables(f.path, root)
    for f in bundle.of_kind("bpmn"):
        root = _xml(f, parsed)
        if root is not None and _within_bounds(f, root, total, parsed) and _xsd_ok(f, root, VALIDATOR, parsed):
            _guard(parsed, f.path, lambda f=f, root=root: parser.add_bpmn_xml(root, f.path))
    if not bundle.of_kind("bpmn") and not parsed.problems:
        parsed.problems.append(Problem("", "部署中没有 BPMN 流程文件 (the bundle has no BPMN file)", kind="reference"))
    if any(p.kind in BLOCKING for p in parsed.problems):
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
    return parsed


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
            parsed.problems.append(Problem(f.path, f"表单不是有效的 JSON (invalid JSON): {exc}", line=line, kind="form"))
            continue
        if not isinstance(schema, dict):
            parsed.problems.append(Problem(f.path, "表单必须是 JSON 对象 (a form schema must be an object)", kind="form"))
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
        parsed.problems.append(Problem(f.path, "文件必须使用 UTF-8 编码 (files must be UTF-8 encoded)", line=line, kind="xml"))
        return None
    try:
        root = etree.fromstring(f.content, etree.XMLParser(**_XML_PARSER_OPTIONS))
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if hasattr(exc, "lineno") else None
        parsed.problems.append(Problem(f.path, f"XML 格式错误 (malformed XML): {exc.msg}", line=line, kind="xml"))
        return None
    doctype = root.getroottree().docinfo
    if doctype.doctype or doctype.internalDTD is not None:
        # BPMN and DMN need no DTD; entities are a classic way in (XXE, expansion bombs).
        parsed.problems.append(Problem(f.path, "不允许 DOCTYPE/实体声明 (DOCTYPE and entity declarations are not allowed)",
                                       line=1, kind="xml"))
        return None
    parsed.trees[f.path] = root
    return root


def _dmn_validator(root: Any) -> BpmnValidator | None:
    namespace = root.nsmap.get(None) or root.nsmap.get("dmn")
    schema = DMN_SCHEMAS.get(namespace)
    if schema is None:
        return None
    if schema not in _dmn_validators:
        _dmn_validators[schema] = BpmnValidator(schema)
    return _dmn_validators[schema]


def _xsd_ok(f: BundleFile, root: Any, validator: BpmnValidator | None, parsed: ParsedBundle) -> bool:
    if validator is None:
        parsed.problems.append(Problem(f.path, "未知的 DMN 版本命名空间 (unknown DMN namespace)", kind="xsd"))
        return False
    validator.preprocess(root)
    schema = validator.validator
    try:
        if schema.validate(root):
            return True
    except etree.XMLSchemaValidateError as exc:
        parsed.problems.append(Problem(f.path, f"不符合 XSD 规范 (XSD validation failed): {exc}", line=1, kind="xsd"))
        return False
    for err in schema.error_log:
        parsed.problems.append(Problem(f.path, f"不符合 XSD 规范 (XSD violation): {err.message}", line=err.line, kind="xsd"))
    return False


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
        parsed.problems.append(Problem(file_name, str(exc).split("\n")[0], line=line, element=element, kind="reference"))
    except (SpiffWorkflowException, LookupError, ValueError, TypeError, AttributeError) as exc:  # LookupError: a DMN without a decision
        parsed.problems.append(Problem(path, f"解析失败 (parse error): {exc}", element=context or None, kind="reference"))
