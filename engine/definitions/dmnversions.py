"""DMN versions zhifa reads: 1.1 and 1.3 with SpiffWorkflow's own XSDs; 1.2, 1.4 and 1.5 checked as DMN 1.3.

SpiffWorkflow 3.x ships XSDs for DMN 1.1 (``20151101``), 1.2 (``20180521``) and 1.3 (``20191111``)
only (``SpiffWorkflow.dmn.parser.BpmnDmnParser.SCHEMAS``), and its 1.2 schema cannot even be loaded:
the ``DMNDI12.xsd`` it imports holds the DI schema instead, so the ``dmndi:DMNDI`` reference does not
resolve (every DMN 1.2 file used to fail with an lxml schema error). Its DMN parser itself does not
depend on the version: it reads ``decision``, ``decisionTable``, ``input``/``inputExpression``,
``output``, ``rule``, ``inputEntry``/``outputEntry`` and their ``text`` through whatever namespace
the file declares.

Why validating DMN 1.2, 1.4 and 1.5 files with the 1.3 XSD is safe: between 1.2 and 1.5 the model
schema gained new boxed expressions (conditional, iterators, filter), typed constraints on item
definitions and a few optional attributes; the decision-table elements zhifa runs, their attributes
(``hitPolicy``, ``aggregation``, ``typeRef``, ``outputValues``…) and their meaning did not change. So
such a file is renamed into the 1.3 namespace and validated as 1.3: a file that uses only what zhifa
runs validates exactly as its 1.3 twin would, and one that uses a construct added after 1.3 fails the
XSD at that element's line, which is right because zhifa could not run it either. The copy validated
leaves out the diagram (``DMNDI``), which only draws the table and whose namespace changed with the
versions. The file itself is parsed and stored as deployed.
"""

from __future__ import annotations

from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS as DMN_SCHEMAS

DMN_13 = "https://www.omg.org/spec/DMN/20191111/MODEL/"
VERSIONS = {  # namespace -> the DMN version it names
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd": "1.1",
    "http://www.omg.org/spec/DMN/20180521/MODEL/": "1.2",
    DMN_13: "1.3",
    "https://www.omg.org/spec/DMN/20211108/MODEL/": "1.4",
    "https://www.omg.org/spec/DMN/20230324/MODEL/": "1.5",
}
AS_13 = {namespace for namespace, version in VERSIONS.items() if version in ("1.2", "1.4", "1.5")}
SUPPORTED_TEXT = "、".join(f"DMN {v}（{ns}）" for ns, v in VERSIONS.items())
SUPPORTED_TEXT_EN = ", ".join(f"DMN {v} ({ns})" for ns, v in VERSIONS.items())
_validators: dict[str, Any] = {}


def namespace_of(root: Any) -> str | None:
    """The namespace of the ``definitions`` element, whatever its prefix (``dmn:``, ``semantic:``, none)."""
    return etree.QName(root).namespace if isinstance(root.tag, str) else None


def dmn_validator(root: Any) -> Any:
    """A validator for this DMN file's version, or None when its namespace is not a DMN version zhifa reads."""
    namespace = namespace_of(root)
    if namespace in AS_13:
        return _As13Validator(namespace, _plain(DMN_SCHEMAS[DMN_13]))  # one per file: it keeps that file's errors
    schema = DMN_SCHEMAS.get(namespace)
    return None if schema is None else _plain(schema)


def unknown_namespace_message(root: Any) -> str:
    namespace = namespace_of(root) or "（无）"
    return (f"未知的 DMN 版本命名空间 {namespace}：zhifa 支持 {SUPPORTED_TEXT}；请在 Modeler 中以其中一个版本导出，"
            f"或将 definitions 的 xmlns 改为其中之一 "
            f"(unknown DMN namespace {namespace}; supported: {SUPPORTED_TEXT_EN})")


def _plain(schema: str) -> BpmnValidator:
    if schema not in _validators:
        _validators[schema] = BpmnValidator(schema)
    return _validators[schema]


class _As13Validator:
    """Looks like a ``BpmnValidator`` to parse.py: ``preprocess(root)``, then ``validator.validate(root)``
    and ``validator.error_log`` (lines as in the designer's file)."""

    def __init__(self, namespace: str, validator_13: BpmnValidator) -> None:
        self.namespace = namespace
        self.validator = _Renamed(namespace, validator_13.validator)

    def preprocess(self, root: Any) -> None:
        return None


class _Renamed:
    def __init__(self, namespace: str, schema: Any) -> None:
        self.namespace = namespace
        self.schema = schema
        self.error_log: list[Any] = []

    def validate(self, root: Any) -> bool:
        tree = root.getroottree()
        text = etree.tostring(tree, encoding="utf-8", xml_declaration=False)
        copy = etree.fromstring(text.replace(self.namespace.encode(), DMN_13.encode()),
                                etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
        for diagram in [e for e in copy.iter() if isinstance(e.tag, str) and etree.QName(e).localname == "DMNDI"]:
            diagram.getparent().remove(diagram)
        shift = (root.sourceline or 1) - (copy.sourceline or 1)
        valid = bool(self.schema.validate(copy))
        self.error_log = [_Error(e.message.replace(DMN_13, self.namespace), (e.line or 0) + shift) for e in self.schema.error_log]
        return valid


class _Error:
    def __init__(self, message: str, line: int) -> None:
        self.message = message
        self.line = line
