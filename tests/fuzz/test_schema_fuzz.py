"""Hostile form schemas: random regex patterns and random ``$ref``s in a deployed 登记 form.

Patterns nest quantifiers (``(a+)+``), alternate, refer back (``\\1``), look around (``(?=…)``) and
break the syntax; references point inside the form (JSON pointers with ``~0``/``~1`` escapes, percent
signs, anchors), to nowhere, to things that are not schemas, over the network, to files, and to
each other in cycles that consume input or do not.

Property: validating the bundle never raises; the form is either refused with its problems listed
(file and JSON pointer named), or every validation of data against it ends within 2 s with the data
accepted or refused as ``InvalidInput`` (a 422), never another exception (a 500).
"""

from __future__ import annotations

import json
import time
from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

from engine.definitions import BundleFile
from engine.definitions.deploy import validate_bundle
from engine.errors import InvalidInput
from engine.forms.schema import validate_form_data
from engine.models import db
from tests.conftest import ROOT
from tests.fuzz import fuzz
from tests.support.bundles import mini_bundle

REGISTER = "forms/mini_register.json"
BASE_FORM = json.loads((ROOT / "tests/data/mini" / REGISTER).read_text(encoding="utf-8"))
BOUND_S = 2.0

# ------------------------------------------------------------------------------------------ patterns
ATOMS = st.sampled_from(["a", "b", "x", ".", "\\d", "\\w", "\\s", "[a-c]", "[^x]", "\\u4e00", "张", "\\.", "\\\\", "\\-", "()"])
QUANTIFIERS = st.sampled_from(["+", "*", "?", "{1,3}", "{2}", "+?", "*?", "{0,}", "{2,}"])
BROKEN = st.sampled_from(["(", ")", "[", "a{2,1}", "\\", "(?<n", "a{1001}", "*a", "\\p{Han}+", "(?i)abc", "\\Z", "[z-a]",
                          "(?P<n>a)(?P<n>b)", "\\k<n>", "\\cA", "(?#c)", "\\b\\B", "$^", "a**", "\ud800"])


def _compound(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(inner, QUANTIFIERS).map(lambda t: f"({t[0]}){t[1]}"),  # quantified group: nesting builds (a+)+
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: "(" + "|".join(xs) + ")"),  # alternation, (a|a)*
        st.lists(inner, min_size=2, max_size=3).map("".join),
        st.tuples(st.sampled_from(["(?=", "(?!", "(?<=", "(?<!"]), inner).map(lambda t: f"{t[0]}{t[1]})"),  # lookaround
        inner.map(lambda s: f"({s})\\1"),  # backreference
        inner.map(lambda s: f"(?P<n>{s})(?P=n)"),
        inner.map(lambda s: f"^{s}$"),
    )


patterns = st.recursive(ATOMS, _compound, max_leaves=8) | BROKEN | st.sampled_from(["^(a+)+$", "(a|aa)+$", "^(a|a?)+$", "(.*a){12}",
                                                                                      "^(\\w+\\s?)*$", "([a-c]+)*x"])
# Inputs that make backtracking engines explode on the patterns above, and ordinary text.
texts = (st.tuples(st.sampled_from(["a", "aa", "ab", "a ", "张"]), st.integers(0, 3000), st.sampled_from(["!", "", "x", "\ud800"]))
         .map(lambda t: t[0] * t[1] + t[2])
         | st.text(alphabet="ab张x!. -\\", max_size=60))


@st.composite
def pattern_forms(draw: st.DrawFn) -> dict[str, Any]:
    form = json.loads(json.dumps(BASE_FORM))
    where = draw(st.sampled_from(["pattern", "patternProperties", "propertyNames", "both"]))
    x: dict[str, Any] = {"type": "string", "pattern": draw(patterns)}
    if where in ("patternProperties", "both"):
        x = {"type": "object", "patternProperties": {draw(patterns): {"type": "integer"}},
             "additionalProperties": draw(st.booleans())}
        if where == "both":
            x["unevaluatedProperties"] = False
    elif where == "propertyNames":
        x = {"type": "object", "propertyNames": {"pattern": draw(patterns)}}
    form["properties"]["x"] = x
    return form


# ------------------------------------------------------------------------------------------ references
DEF_NAMES = ["a", "b", "c", "a/b", "t~1", "~", "%25", "with space", "中文", "", "0"]
REMOTE = ["http://127.0.0.1:9/x.json", "https://example.invalid/s.json#/a", "file:///etc/passwd", "file:///etc/hostname",
          "other.json#/$defs/a", "//evil.invalid/x", "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66", "#/$defs/nope", "#nope",
          "#/required/0", "#/%24defs/a", "#//", "#/$defs/a/", "", "#/properties/facts/title", "https://json-schema.org/draft/2020-12/schema"]


def escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


@st.composite
def ref_forms(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(DEF_NAMES), min_size=1, max_size=5, unique=True))

    def ref() -> str:
        kind = draw(st.sampled_from(["local", "local", "local", "raw", "anchor", "root", "elsewhere"]))
        name = draw(st.sampled_from(names))
        if kind == "local":
            return "#/$defs/" + escape(name)
        if kind == "raw":  # unescaped or percent-encoded: resolves only by chance
            return "#/$defs/" + draw(st.sampled_from([name, name.replace("/", "%2F"), name.replace(" ", "%20")]))
        if kind == "anchor":
            return "#anchor_" + str(names.index(name))
        if kind == "root":
            return draw(st.sampled_from(["#", "#/properties/x", "#/properties/facts"]))
        return draw(st.sampled_from(REMOTE))

    def body(depth: int = 0) -> Any:
        shape = draw(st.sampled_from(["leaf", "ref", "allOf", "anyOf", "not", "if", "properties", "items", "pattern", "bool"]
                                     if depth < 2 else ["leaf", "ref", "bool"]))
        if shape == "leaf":
            return {"type": draw(st.sampled_from(["string", "integer", "object", "array"]))}
        if shape == "ref":
            return {"$ref": ref()}
        if shape in ("allOf", "anyOf"):  # in place: a cycle through these never consumes input
            return {shape: [body(depth + 1) for _ in range(draw(st.integers(1, 3)))]}
        if shape == "not":
            return {"not": body(depth + 1)}
        if shape == "if":
            return {"if": body(depth + 1), "then": body(depth + 1), "else": body(depth + 1)}
        if shape == "properties":  # consuming: a cycle through properties is a recursive data type
            return {"type": "object", "properties": {"c": body(depth + 1), "d": body(depth + 1)}}
        if shape == "items":
            return {"type": "array", "items": body(depth + 1), "maxItems": 5}
        if shape == "pattern":
            return {"type": "string", "pattern": draw(patterns)}
        return draw(st.booleans())

    defs = {}
    for i, name in enumerate(names):
        definition = body()
        if isinstance(definition, dict) and draw(st.booleans()):
            definition["$anchor"] = f"anchor_{i}"
        defs[name] = definition
    form = json.loads(json.dumps(BASE_FORM))
    form["$defs"] = defs
    form["properties"]["x"] = body()
    if draw(st.booleans()):
        form["properties"]["y"] = {"$ref": ref()}
    return form


json_values = st.recursive(st.none() | st.booleans() | st.integers(-5, 5) | texts | st.sampled_from(["a", "aaaa", "张三", ""]),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["c", "d", "a", "aaaa", "x"]),
                                                                                        inner, max_size=3),
                           max_leaves=10)
# Deep values for recursive (consuming) schemas: {"c": {"c": … }} and [[[…]]].
deep_values = st.integers(1, 3000).flatmap(lambda n: st.sampled_from([_nest({"c": None}, "c", n), _nest([], None, n)]))


def _nest(leaf: Any, key: str | None, depth: int) -> Any:
    value = leaf
    for _ in range(depth):
        value = {key: value} if key else [value]
    return value


# ------------------------------------------------------------------------------------------ property
def check(form: dict[str, Any], values: list[Any]) -> None:
    started = time.monotonic()
    _parsed, problems = validate_bundle(mini_bundle().replace([BundleFile(REGISTER, json.dumps(form).encode())]))
    db.session.rollback()
    assert time.monotonic() - started < 5, "validating the bundle took more than 5 s"
    assert all(p.file == REGISTER for p in problems), [str(p) for p in problems if p.file != REGISTER]
    if problems:
        event("refused at deploy")
        for p in problems:
            assert p.message and p.kind in ("form", "lint"), p
            assert p.element or p.line, f"a refused form names where: {p}"
        return
    event("deployable")
    for value in values:
        data = {"facts": "违法事实", "proposed_fine": 1, "x": value}
        started = time.monotonic()
        try:
            validate_form_data(form, data)
            event("data accepted")
        except InvalidInput as exc:
            assert exc.message
            event("data refused (422)")
        elapsed = time.monotonic() - started
        assert elapsed < BOUND_S, f"validation took {elapsed:.2f} s"


def test_random_patterns_are_refused_at_deploy_or_match_in_bounded_time(ctx) -> None:
    @fuzz(150)
    @given(form=pattern_forms(), values=st.lists(texts | st.dictionaries(texts, st.integers(0, 3), max_size=3), min_size=1, max_size=3))
    def attempt(form: dict[str, Any], values: list[Any]) -> None:
        check(form, values)

    attempt()


def test_random_refs_are_refused_at_deploy_or_validate_in_bounded_time(ctx) -> None:
    @fuzz(150)
    @given(form=ref_forms(), values=st.lists(json_values | deep_values, min_size=1, max_size=3))
    def attempt(form: dict[str, Any], values: list[Any]) -> None:
        check(form, values)

    attempt()
