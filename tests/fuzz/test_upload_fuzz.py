"""Mutated procedure files uploaded to ``POST /api/v1/deployments`` as the process designer.

Each example takes one shipped file (processes/*.bpmn, *.dmn, forms/*.json) and breaks it the way a
careless editor or an attacker would: drop, duplicate or rename elements, drop or change attributes,
replace an expression, truncate, inject a DOCTYPE with entities, re-encode as non-UTF-8, flip bytes,
or wrap it in a zip with a ``../`` name or a bomb. Property: a clean 4xx with the problems listed, or
a valid new deployment; never a 500; a rejected upload changes nothing (same deployments, same
active versions).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

from flask import Flask
from hypothesis import event, given
from hypothesis import strategies as st
from lxml import etree

from engine.models import db
from tests.conftest import ROOT, deploy_dir
from tests.fuzz import fuzz
from tests.support.uploads import nested_schema

SOURCES = sorted([*ROOT.glob("processes/*.bpmn"), *ROOT.glob("processes/*.dmn"), *ROOT.glob("forms/*.json")])
EXPRESSIONS = ["", "1 +", "__import__('os').system('id')", "().__class__.__bases__[0].__subclasses__()", "9 ** 9 ** 9 ** 9",
               "'a' * 10 ** 10", "lambda: 1", "undefined_name > 1", "deadline('no_such_limit', served_on)", "True",
               "x\x00", "while True: pass", "'%999999999d' % 1", "f'{1:>{10**9}}'"]
# XML text cannot hold a NUL at all (lxml refuses to build it): NUL bytes are the "encoding" mutation's job.
XML_TEXTS = [e for e in EXPRESSIONS if "\x00" not in e]
DOCTYPES = [
    b'<!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
    b'<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
    b'<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>',
    b'<!DOCTYPE d SYSTEM "http://127.0.0.1:9/x.dtd">',
    b'<!DOCTYPE d [<!ENTITY % p SYSTEM "file:///etc/hostname"> %p;]>',
]
ATTRIBUTE_VALUES = ["", "x", "../../etc/passwd", "register", "start", "handler", "no_such_form", "  ", "&amp;", "一二三", "0" * 300]


@st.composite
def mutated_uploads(draw: st.DrawFn) -> list[tuple[str, bytes]]:
    source = draw(st.sampled_from(SOURCES))
    name = f"{source.parent.name}/{source.name}" if draw(st.booleans()) else source.name
    content = source.read_bytes()
    how = draw(st.sampled_from(["tree", "tree", "tree", "truncate", "doctype", "encoding", "bytes", "zip", "name"]))
    event(f"mutation: {how}")
    if how == "tree":
        content = draw(tree_mutation(content, source.suffix))
    elif how == "truncate":
        content = content[: draw(st.integers(0, len(content)))]
    elif how == "doctype":
        declaration = draw(st.sampled_from(DOCTYPES))
        content = content.replace(b"?>", b"?>" + declaration, 1) if content.startswith(b"<?xml") else declaration + content
        content = content.replace(b'name="', b'name="&e;&d;', 1)
    elif how == "encoding":
        content = draw(st.sampled_from([content.decode("utf-8").encode("gb18030", "replace"), content.decode("utf-8").encode("utf-16"),
                                        b"\xff\xfe" + content, content.replace(b">", b">\xc3\x28", 3), content + b"\x00"]))
    elif how == "bytes":
        data = bytearray(content)
        for _ in range(draw(st.integers(1, 8))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        content = bytes(data)
    elif how == "zip":
        return [("bundle.zip", draw(zips(name, content)))]
    elif how == "name":
        name = draw(st.sampled_from(["../" + source.name, "/etc/" + source.name, "..\\" + source.name, source.name + ".exe",
                                     "processes/../../" + source.name, "", ".bpmn", "a" * 300 + source.suffix, "con" + source.suffix,
                                     "forms/\x00.json", "ＰＲＯＣＥＳＳ" + source.suffix]))
    return [(name, content)]


@st.composite
def tree_mutation(draw: st.DrawFn, content: bytes, suffix: str) -> bytes:
    if suffix == ".json":
        return draw(json_mutation(json.loads(content)))
    root = etree.fromstring(content)
    elements = [e for e in root.iter() if isinstance(e.tag, str)]
    for _ in range(draw(st.integers(1, 3))):
        element = draw(st.sampled_from(elements))
        op = draw(st.sampled_from(["drop", "duplicate", "rename", "drop_attribute", "set_attribute", "text"]))
        parent = element.getparent()
        if op == "drop" and parent is not None:
            parent.remove(element)
            elements = [e for e in root.iter() if isinstance(e.tag, str)]
        elif op == "duplicate" and parent is not None:
            parent.append(etree.fromstring(etree.tostring(element)))
        elif op == "rename":
            namespace = etree.QName(element).namespace
            local = draw(st.sampled_from(["task", "scriptTask", "userTask", "foo", "callActivity", "timerEventDefinition"]))
            element.tag = f"{{{namespace}}}{local}" if namespace else local
        elif op == "drop_attribute" and element.attrib:
            del element.attrib[draw(st.sampled_from(sorted(element.attrib)))]
        elif op == "set_attribute":
            key = draw(st.sampled_from(sorted(element.attrib) or ["id"]))
            element.set(key, draw(st.sampled_from(ATTRIBUTE_VALUES) | st.text(alphabet=st.characters(codec="utf-8",
                                                                                                         exclude_categories=["Cs", "Cc"]),
                                                                                 max_size=20)))
        elif op == "text":
            element.text = draw(st.sampled_from(XML_TEXTS))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@st.composite
def json_mutation(draw: st.DrawFn, form: dict[str, Any]) -> bytes:
    properties = form.get("properties") or {}
    op = draw(st.sampled_from(["drop", "type", "ref", "garbage", "properties", "required"]))
    if op == "drop" and form:
        form.pop(draw(st.sampled_from(sorted(form))))
    elif op == "type":
        form["type"] = draw(st.sampled_from(["array", "strin", 1, None, ["object"]]))
    elif op == "ref":
        form["$ref"] = draw(st.sampled_from(["http://127.0.0.1:9/x.json", "file:///etc/passwd", "#", "#/properties", "#/$defs/x"]))
    elif op == "garbage":
        return draw(st.sampled_from([b"", b"{", b"[]", b"null", b"1e999", b'{"type": "object", "properties": []}', b"[" * 50_000,
                                     nested_schema(300)]))
    elif op == "properties" and properties:
        key = draw(st.sampled_from(sorted(properties)))
        properties[key] = draw(st.sampled_from([{"type": "nope"}, {"minimum": "x"}, {"pattern": "("}, {"enum": []}, [], None,
                                                {"x-widget": "<script>"}, {"type": "string", "format": "regex"}]))
    elif op == "required":
        form["required"] = draw(st.sampled_from([["no_such_field"], "facts", [1], []]))
    return json.dumps(form, ensure_ascii=False).encode("utf-8")


@st.composite
def zips(draw: st.DrawFn, name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        inner = draw(st.sampled_from([name, "../" + name, "/abs/" + name, "processes/../../" + name, "ok/" + name]))
        archive.writestr(inner, content)
        extra = draw(st.sampled_from(["none", "bomb", "many", "directory", "nested"]))
        if extra == "bomb":
            archive.writestr("processes/bomb.bpmn", b"\0" * (30 * 1024 * 1024))  # ~30 KB compressed
        elif extra == "many":
            for i in range(250):
                archive.writestr(f"forms/f{i}.json", b"{}")
        elif extra == "directory":
            archive.writestr("processes/", b"")
        elif extra == "nested":
            archive.writestr("inner.zip", b"PK\x03\x04 not really")
    data = buffer.getvalue()
    if draw(st.booleans()):
        return data
    return data[: draw(st.integers(0, len(data)))]  # a truncated archive


def test_mutated_uploads_are_rejected_cleanly_or_deployed(app: Flask, api: Callable[[str], Any]) -> None:
    with app.app_context():
        deploy_dir(ROOT)
        db.session.remove()
    designer = api("designer")

    def state() -> dict[str, Any]:
        status, body = designer.get("/deployments")
        assert status == 200
        return {"ids": [d["id"] for d in body["items"]], "active": body["active"]}

    expected = {"now": state()}

    @fuzz(60, deadline_ms=20_000)
    @given(uploads=mutated_uploads())
    def attempt(uploads: list[tuple[str, bytes]]) -> None:
        r = designer.client.post("/api/v1/deployments", headers=designer.headers, content_type="multipart/form-data",
                                 data={"files": [(io.BytesIO(content), name) for name, content in uploads], "comment": "fuzz"})
        assert r.status_code != 500 and r.status_code < 500, r.get_data(as_text=True)[:500]
        body = r.get_json()
        if r.status_code == 201:
            event("deployed")
            expected["now"] = state()
            assert body["id"] in expected["now"]["ids"]
            return
        event(f"refused {r.status_code}")
        assert r.status_code in (400, 413, 415, 422), r.status_code
        assert isinstance(body, dict) and body.get("error") and body.get("message"), body
        if r.status_code == 422 and body["error"] == "deployment_invalid":
            assert body["details"], "a refused deployment lists its problems"
        assert state() == expected["now"], "a rejected upload changed the deployments"

    attempt()
