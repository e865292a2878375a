"""The foreign corpus (tests/data/foreign/README.md): reading each case's declared verdict, judging a
refusal's problems, and an API client that counts every 5xx (tests/test_foreign_corpus.py)."""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from tests.conftest import DATA, Api

CORPUS = DATA / "foreign"
OUTCOMES = frozenset({"run", "refuse"})
_DECLARATION = re.compile(r"<!--\s*(verdict:.*?)-->", re.S)
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMN_DI = "http://www.omg.org/spec/BPMN/20100524/DI"
# Python object text, tracebacks and bare exception names: a designer cannot act on these.
# Clark notation ({http://…}tag) is lxml's, not the designer's: the files say bpmn:tag.
RAW_TEXT = re.compile(r"<Element|0x[0-9a-f]{6,}|Traceback|KeyError|AttributeError|NameError|TypeError|NoneType|object at |\{https?://")
CJK = re.compile(r"[\u4e00-\u9fff]")
# Words that tell the designer what to do (or what is accepted instead): one must occur in every refusal.
ACTION_WORDS = ("请", "改为", "改用", "改成", "应", "须", "需", "使用", "删除", "去掉", "添加", "补充", "写成", "换成", "可用", "设为",
                "标记", "支持", "允许", "use ", "set ", "add ", "remove ", "write ", "mark ", "instead", "should", "must", "replace",
                "supported", "allowed", "one of", "expected", "give ")


@dataclass
class Verdict:
    """What a case declares: ``outcomes`` ⊆ {run, refuse}; for a refusal, the fragments (each a list of
    alternatives) and element ids its problems must name; for a run, task data it must reach."""

    outcomes: frozenset[str]
    expect: list[list[str]] = field(default_factory=list)
    elements: list[list[str]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    replace_all: bool = False


@dataclass
class Case:
    name: str
    files: list[Path]
    verdict: Verdict

    def uploads(self) -> dict[str, Any]:
        return {"files": [(io.BytesIO(p.read_bytes()), p.name) for p in self.files]}

    @property
    def paths(self) -> set[str]:
        """The bundle paths the upload gives its files (engine/definitions/bundle.py ``safe_path``)."""
        return {f"{'forms' if p.suffix == '.json' else 'processes'}/{p.name}" for p in self.files}

    def process_ids(self) -> list[str]:
        found = []
        for p in self.files:
            if p.suffix == ".bpmn":
                try:
                    root = etree.parse(str(p)).getroot()
                except etree.XMLSyntaxError:
                    continue
                found += [e.get("id") for e in root.iter(f"{{{BPMN_NS}}}process")]
        return found


def parse_verdict(text: str) -> Verdict:
    """``verdict: run-or-refuse; expect: A || B; element: id; data: name=<json>; replace_all``."""
    parts = [p.strip() for p in text.split(";") if p.strip()]
    head = parts[0].removeprefix("verdict:").strip()
    outcomes = frozenset(head.split("-or-"))
    assert outcomes and outcomes <= OUTCOMES, f"unknown verdict {head!r}"
    verdict = Verdict(outcomes)
    for part in parts[1:]:
        key, _, value = part.partition(":")
        key, value = key.strip(), value.strip()
        if key == "expect":
            verdict.expect.append([alt.strip() for alt in value.split("||")])
        elif key == "element":
            verdict.elements.append([alt.strip() for alt in value.split("||")])
        elif key == "data":
            name, _, raw = value.partition("=")
            verdict.data[name.strip()] = json.loads(raw)
        elif key == "replace_all":
            verdict.replace_all = True
        else:
            raise AssertionError(f"unknown key {key!r} in {text!r}")
    if "refuse" in outcomes:
        assert verdict.expect or verdict.elements or outcomes == {"refuse"}, text
    return verdict


def load_case(folder: Path) -> Case:
    files = sorted(p for sub in ("processes", "forms") for p in (folder / sub).glob("*") if p.is_file())
    declared = {}
    for p in files:
        if p.suffix in (".bpmn", ".dmn"):
            match = _DECLARATION.search(p.read_text(encoding="utf-8")[:2000])
            assert match, f"{p} declares no verdict"
            declared[p.name] = match.group(1).strip()
    assert declared and len(set(declared.values())) == 1, f"{folder.name}: files must declare one verdict: {declared}"
    return Case(folder.name, files, parse_verdict(next(iter(declared.values()))))


def all_cases() -> list[Case]:
    return [load_case(folder) for folder in sorted(CORPUS.iterdir()) if folder.is_dir()]


class CountingApi(Api):
    """An API client that records every answer's status; an exception escaping the app counts as a 500."""

    def __init__(self, client: Any, token: str, seen: list[tuple[str, int]]) -> None:
        super().__init__(client, token)
        self.seen = seen

    def _call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        try:
            r = getattr(self.client, method)("/api/v1" + path, headers=self.headers, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the app let an exception escape: that is a 500
            self.seen.append((f"{method.upper()} {path}: {type(exc).__name__}: {exc}", 500))
            return 500, None
        self.seen.append((f"{method.upper()} {path}", r.status_code))
        return r.status_code, r.get_json(silent=True)

    def get(self, path: str, **params: Any) -> tuple[int, Any]:
        return self._call("get", path, query_string=params)

    def post(self, path: str, body: Any = None) -> tuple[int, Any]:
        return self._call("post", path, json=body if body is not None else {})

    def upload(self, case: Case) -> tuple[int, Any]:
        data = {**case.uploads(), "comment": f"foreign corpus: {case.name}"}
        if case.verdict.replace_all:
            data["replace_all"] = "1"
        return self._call("post", "/deployments", content_type="multipart/form-data", data=data)


def refusal_faults(case: Case, details: list[dict[str, Any]]) -> list[str]:
    """Everything wrong with a refusal's problem list, as sentences (empty: a clean refusal)."""
    faults = []
    if not details:
        return ["the refusal lists no problems"]
    for d in details:
        where = f"{d.get('file')}:{d.get('line')} [{d.get('element')}]"
        message = str(d.get("message") or "")
        if d.get("file") not in case.paths:
            faults.append(f"{where} names no file of this case ({sorted(case.paths)}): {message}")
        # A problem of the whole file (no BPMN file in the bundle) has neither; anything placed has both.
        placed = d.get("line") is not None or d.get("element")
        if str(d.get("file", "")).endswith((".bpmn", ".dmn")) and placed:
            if not isinstance(d.get("line"), int) or d["line"] < 1:
                faults.append(f"{where} has no line: {message}")
            if not d.get("element") and d.get("kind") != "xml":
                faults.append(f"{where} names no element: {message}")
        if RAW_TEXT.search(message):
            faults.append(f"{where} shows program text: {message}")
        if not CJK.search(message):
            faults.append(f"{where} is not in Chinese: {message}")
        if not any(word in message for word in ACTION_WORDS):
            faults.append(f"{where} does not say what to do: {message}")
    texts = [f"{d.get('message')} {d.get('element')}".lower() for d in details]
    for alternatives in case.verdict.expect:
        if not any(alt.lower() in t for alt in alternatives for t in texts):
            faults.append(f"no problem mentions {' or '.join(map(repr, alternatives))}")
    for elements in case.verdict.elements:
        if not any(d.get("element") == e or e in str(d.get("message")) for e in elements for d in details):
            faults.append(f"no problem names element {' or '.join(map(repr, elements))}")
    return faults


DRAWN = ("startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent", "task", "userTask",
         "manualTask", "scriptTask", "serviceTask", "businessRuleTask", "sendTask", "receiveTask", "callActivity", "subProcess",
         "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "sequenceFlow", "lane", "participant",
         "messageFlow", "dataObjectReference", "dataStoreReference", "textAnnotation", "association")


def diagram_faults(path: Path) -> list[str]:
    """What a diagram (BPMNDI or DMNDI) of ``path`` draws wrongly; [] when it has none or draws right."""
    try:
        root = etree.parse(str(path)).getroot()
    except etree.XMLSyntaxError:
        return []
    ids = {e.get("id") for e in root.iter() if isinstance(e.tag, str) and e.get("id")}
    refs = [e.get("bpmnElement") or e.get("dmnElementRef") for e in root.iter()
            if isinstance(e.tag, str) and (e.get("bpmnElement") or e.get("dmnElementRef"))]
    faults = [f"draws unknown {r}" for r in refs if r not in ids]
    faults += [f"draws {r} twice" for r in sorted({r for r in refs if refs.count(r) > 1})]
    if any(e.tag == f"{{{BPMN_DI}}}BPMNDiagram" for e in root.iter()):
        shown = set(refs)
        for e in root.iter():
            if isinstance(e.tag, str) and e.tag.startswith(f"{{{BPMN_NS}}}") and etree.QName(e).localname in DRAWN:
                if e.get("id") not in shown:
                    faults.append(f"{etree.QName(e).localname} {e.get('id')} is not drawn")
    return faults
