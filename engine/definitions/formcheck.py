"""Deploy-time checks of form schemas that the meta-schema check (lint) does not make.

A form's ``pattern`` runs on what an officer types, and its ``$ref``s are followed while a task is
completed, under the case's lock. So, before a form is deployed:

- every ``pattern`` and ``patternProperties`` key must compile with RE2, the linear-time engine the
  run time matches with (engine/forms/schema.py): no backreferences, no lookaround;
- every ``$ref`` must point inside the same form (``#/$defs/…``, ``#/definitions/…``, ``#anchor``),
  resolve there, and land on a schema; nothing is fetched, from the network or from files;
- references must not loop without consuming input (A → B → A through ``$ref``/``allOf``/…, with no
  ``properties``/``items`` in between): jsonschema recurses until the stack overflows;
- references must not fan out: ``allOf`` of the same definition twice, thirty levels deep, is a
  billion evaluations of one value.

Each problem names the file and the JSON pointer of the offending keyword.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema
import referencing.exceptions
from referencing.jsonschema import DRAFT202012

from engine.definitions.problems import Problem
from engine.forms.schema import PATTERN_ADVICE, REGISTRY, PatternUnsupported, compile_pattern, unsafe_keyword_mix

# Keywords whose subschemas apply to the same value (no input consumed) …
IN_PLACE_ONE = ("not", "if", "then", "else")
IN_PLACE_LIST = ("allOf", "anyOf", "oneOf")
IN_PLACE_MAP = ("dependentSchemas",)
# … and those that apply to a part of it (a property, an item, a key).
CONSUMING_ONE = ("additionalProperties", "unevaluatedProperties", "items", "contains", "propertyNames", "unevaluatedItems")
CONSUMING_LIST = ("prefixItems",)
CONSUMING_MAP = ("properties", "patternProperties")
DEFINITIONS = ("$defs", "definitions")
MAX_EXPANSION = 1_000  # schemas applied in place to one value, references expanded


def check_form(path: str, schema: Any) -> list[Problem]:
    if not isinstance(schema, dict):
        return []
    return _FormCheck(path, schema).run()


def escape(key: str) -> str:
    """One JSON pointer segment (RFC 6901)."""
    return key.replace("~", "~0").replace("/", "~1")


class _FormCheck:
    def __init__(self, path: str, schema: dict[str, Any]) -> None:
        self.path, self.schema = path, schema
        self.problems: list[Problem] = []
        self.where = _pointers(schema)
        self.resolver = REGISTRY.resolver_with_root(DRAFT202012.create_resource(schema))
        # pointer -> [(pointer of a schema applied to the same value, pointer of the keyword that applies it)]
        self.in_place: dict[str, list[tuple[str, str]]] = {}
        self.ref_targets: dict[str, Any] = {}

    def add(self, pointer: str, message: str) -> None:
        self.problems.append(Problem(self.path, message, element=pointer or "/", kind="form"))

    def run(self) -> list[Problem]:
        self._walk()
        for pointer, target in sorted(self.ref_targets.items()):
            if not _is_schema_position(pointer):
                self._check_schema(pointer, target)
        if not self._cycles():
            self._expansion()
        if unsafe_keyword_mix(self.schema):
            pointer = next((p for p, node in _iter_nodes(self.schema) if isinstance(node, dict) and "unevaluatedProperties" in node), "")
            self.add(pointer + "/unevaluatedProperties",
                     "patternProperties 不能与 unevaluatedProperties 同用：后者以回溯式正则匹配属性名 "
                     "(patternProperties cannot be combined with unevaluatedProperties, which matches them with a backtracking engine)")
        return self.problems

    # ------------------------------------------------------------------------------------------ walk
    def _walk(self) -> None:
        todo: list[tuple[str, Any]] = [("", self.schema)]
        seen: set[str] = set()
        while todo:
            pointer, node = todo.pop()
            if pointer in seen or not isinstance(node, dict):
                continue  # booleans are schemas too; anything else is the meta-schema check's to report
            seen.add(pointer)
            edges = self.in_place.setdefault(pointer, [])
            self._keywords(pointer, node)
            if "$ref" in node:
                target = self._resolve(pointer + "/$ref", node["$ref"])
                if target is not None:
                    edges.append((target[0], pointer + "/$ref"))
                    todo.append(target)
            for child_pointer, child, in_place in _children(pointer, node):
                if in_place:
                    edges.append((child_pointer, child_pointer))
                todo.append((child_pointer, child))

    def _keywords(self, pointer: str, node: dict[str, Any]) -> None:
        if "pattern" in node and isinstance(node["pattern"], str):
            self._pattern(pointer + "/pattern", node["pattern"])
        if isinstance(node.get("patternProperties"), dict):
            for key in node["patternProperties"]:
                self._pattern(f"{pointer}/patternProperties/{escape(key)}", key)
        if pointer and "$id" in node:
            self.add(pointer + "/$id", "表单的子模式中不允许 $id：引用只能指向同一表单内的定义 "
                                       "($id is not allowed below the form's root: references stay inside the form)")
        for keyword in ("$dynamicRef", "$recursiveRef"):
            if keyword in node:
                self.add(f"{pointer}/{keyword}", f"表单不支持 {keyword}，请使用 \"$ref\": \"#/$defs/…\" "
                                                 f"({keyword} is not supported in forms: use $ref to #/$defs/…)")

    def _pattern(self, pointer: str, pattern: str) -> None:
        try:
            compile_pattern(pattern)
        except PatternUnsupported as exc:
            self.add(pointer, f"正则表达式 {pattern!r} 无法使用：{PATTERN_ADVICE}: {exc}")

    def _resolve(self, pointer: str, ref: Any) -> tuple[str, Any] | None:
        if not isinstance(ref, str):
            return None  # the meta-schema check reports a $ref that is not a string
        if not ref.startswith("#"):
            self.add(pointer, f"$ref {ref!r} 指向表单之外：只允许引用同一表单内的定义，如 \"#/$defs/…\"；"
                              f"不会读取网络地址或文件 (only references inside the same form are allowed)")
            return None
        try:
            contents = self.resolver.lookup(ref).contents
        except referencing.exceptions.Unresolvable:
            self.add(pointer, f"$ref {ref!r} 无法解析：表单中没有该位置 (the reference does not resolve inside the form)")
            return None
        except (AttributeError, TypeError, ValueError, LookupError, RecursionError) as exc:  # a malformed schema on the way
            self.add(pointer, f"$ref {ref!r} 无法解析 (the reference does not resolve): {exc}")
            return None
        if isinstance(contents, bool):
            return None
        if not isinstance(contents, dict):
            self.add(pointer, f"$ref {ref!r} 指向的不是模式 (the reference does not point to a schema)")
            return None
        target = self.where.get(id(contents), ref[1:])
        self.ref_targets[target] = contents
        return target, contents

    def _check_schema(self, pointer: str, target: dict[str, Any]) -> None:
        """A target outside the schema's own keywords (``#/x-parts/a``) was never seen by the meta-schema check."""
        try:
            jsonschema.Draft202012Validator.check_schema(target)
        except jsonschema.SchemaError as exc:
            where = pointer + "".join(f"/{escape(str(p))}" for p in exc.path)
            self.add(where, f"$ref 指向的不是有效的 JSON Schema (the referenced schema is invalid): {exc.message}")
        except RecursionError:
            self.add(pointer, "$ref 指向的模式嵌套过深 (the referenced schema is nested too deeply)")

    # ------------------------------------------------------------------------------------- structure
    def _cycles(self) -> bool:
        """Report every loop of in-place applications (white/grey/black depth-first search, no recursion)."""
        colour: dict[str, int] = {}
        found = False
        for start in sorted(self.in_place):
            if colour.get(start):
                continue
            colour[start] = 1
            stack: list[tuple[str, Iterator[tuple[str, str]]]] = [(start, iter(self.in_place.get(start, [])))]
            while stack:
                node, edges = stack[-1]
                step = next(edges, None)
                if step is None:
                    colour[node] = 2
                    stack.pop()
                    continue
                target, via = step
                state = colour.get(target, 0)
                if state == 1:
                    found = True
                    loop = [n for n, _e in stack]
                    loop = loop[loop.index(target):] + [target]
                    self.add(via, "$ref 循环引用且不消耗输入，校验会无限递归："
                                  + " → ".join(p or "#" for p in loop)
                                  + " (reference cycle that consumes no input)")
                elif state == 0:
                    colour[target] = 1
                    stack.append((target, iter(self.in_place.get(target, []))))
        return found

    def _expansion(self) -> None:
        """How many schemas one value meets, references expanded; the loop-free graph makes this finite."""
        size: dict[str, int] = {}
        for start in sorted(self.in_place):
            stack = [start]
            while stack:
                node = stack[-1]
                if node in size:
                    stack.pop()
                    continue
                pending = [t for t, _v in self.in_place.get(node, []) if t not in size]
                if pending:
                    stack.extend(pending)
                    continue
                size[node] = min(1 + sum(size[t] for t, _v in self.in_place.get(node, [])), 10 * MAX_EXPANSION)
                stack.pop()
        over = sorted((n, p) for p, n in size.items() if n > MAX_EXPANSION)
        if over:
            count, pointer = over[0]
            self.add(pointer or "/", f"表单引用展开后过大：一个值要经过 {count} 次以上的子模式校验（上限 {MAX_EXPANSION}） "
                                     f"(references expand to more than {MAX_EXPANSION} schemas applied to one value)")


def _children(pointer: str, node: dict[str, Any]) -> Iterator[tuple[str, Any, bool]]:
    """(pointer, subschema, applies to the same value) of every subschema jsonschema applies or defines."""
    for group, in_place in (((IN_PLACE_ONE, IN_PLACE_LIST, IN_PLACE_MAP), True),
                            ((CONSUMING_ONE, CONSUMING_LIST, CONSUMING_MAP), False),
                            (((), (), DEFINITIONS), False)):
        ones, lists, maps = group
        for keyword in ones:
            if keyword in node:
                yield f"{pointer}/{keyword}", node[keyword], in_place
        for keyword in lists:
            if isinstance(node.get(keyword), list):
                for i, child in enumerate(node[keyword]):
                    yield f"{pointer}/{keyword}/{i}", child, in_place
        for keyword in maps:
            if isinstance(node.get(keyword), dict):
                for key, child in node[keyword].items():
                    yield f"{pointer}/{keyword}/{escape(str(key))}", child, in_place


def _iter_nodes(schema: Any) -> Iterator[tuple[str, Any]]:
    """Every object and array of the document with its JSON pointer, without recursion."""
    stack: list[tuple[str, Any]] = [("", schema)]
    while stack:
        pointer, node = stack.pop()
        yield pointer, node
        if isinstance(node, dict):
            stack.extend((f"{pointer}/{escape(str(k))}", v) for k, v in node.items() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend((f"{pointer}/{i}", v) for i, v in enumerate(node) if isinstance(v, dict | list))


def _pointers(schema: Any) -> dict[int, str]:
    return {id(node): pointer for pointer, node in _iter_nodes(schema)}


def _is_schema_position(pointer: str) -> bool:
    """Whether the meta-schema check saw the schema at ``pointer`` (reached through schema keywords only)."""
    segments = pointer.split("/")[1:] if pointer else []
    expect = "schema"
    for segment in segments:
        if expect == "schema":
            if segment in IN_PLACE_ONE or segment in CONSUMING_ONE:
                expect = "schema"
            elif segment in IN_PLACE_LIST or segment in CONSUMING_LIST:
                expect = "index"
            elif segment in IN_PLACE_MAP or segment in CONSUMING_MAP or segment in DEFINITIONS:
                expect = "key"
            else:
                return False
        elif expect == "index":
            if not segment.isdigit():
                return False
            expect = "schema"
        else:
            expect = "schema"
    return expect == "schema"
