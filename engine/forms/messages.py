"""Validation errors told in Chinese, naming the field by its title.

jsonschema's own messages are English and quote raw values (``'x' is a required property``); an
officer must read which field is wrong and what to do. Every keyword of JSON Schema 2020-12 that can
refuse a value has a message here; each names the field by its ``title`` (the label the page shows)
and keeps a short English explanation in parentheses for API clients (the Chinese UI drops it, see
webui/i18n.py ``localized``). A field's own ``x-message`` still replaces the generic text.
"""

from __future__ import annotations

from typing import Any

import jsonschema

TYPES = {"string": "文字", "number": "数字", "integer": "整数", "boolean": "是或否", "array": "列表",
         "object": "对象", "null": "空值"}
FORMATS = {"date": "日期（如 2026-03-02）", "date-time": "日期和时间（如 2026-03-02T09:30）", "time": "时间（如 09:30）",
           "email": "电子邮箱地址", "uri": "网址", "uri-reference": "网址", "regex": "正则表达式", "ipv4": "IPv4 地址",
           "ipv6": "IPv6 地址", "uuid": "UUID 编码", "duration": "时长（如 P3D）", "hostname": "主机名"}
MAX_REF_DEPTH = 20  # a $ref chain longer than this is a loop; the field is then named by its key


def describe(schema: dict[str, Any], error: jsonschema.ValidationError) -> dict[str, Any]:
    """``{"field": "a.0.b", "label": title, "message": …}`` for one error: the field the page marks."""
    path = list(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = _missing(error)
        path = [*path, missing] if missing is not None else path
    elif error.validator == "dependentRequired" and isinstance(error.instance, dict):
        missing = _missing_dependency(error)
        path = [*path, missing] if missing is not None else path
    elif error.validator is None:
        path = [*path, *_false_property(schema, error)]
    prop = field_schema(schema, path)
    label = _title(prop, path)
    own = prop.get("x-message") if len(path) == 1 else None
    if isinstance(own, str):
        message = own
    elif error.validator in ("required", "dependentRequired"):
        message = f"请填写“{label}”，这是必填项 (required)"
    else:
        message = message_for(error, label, prop)
    return {"field": ".".join(str(p) for p in path) or None, "label": label, "message": message}


def summary(details: list[dict[str, Any]], limit: int = 5) -> str:
    """The one-line message above the form: each problem once, in field order."""
    parts = [d["message"] if f"“{d['label']}”" in d["message"] else f"{d['label']}：{d['message']}" for d in details[:limit]]
    more = f"（另有 {len(details) - limit} 处）" if len(details) > limit else ""
    return "表单填写有误：" + "；".join(parts) + more


def field_schema(schema: dict[str, Any], path: list[Any]) -> dict[str, Any]:
    """The subschema that declares the field at ``path`` (following local ``$ref``s), or ``{}``."""
    node: Any = schema
    for step in path:
        node = _deref(schema, node)
        if not isinstance(node, dict):
            return {}
        if isinstance(step, int):
            prefix = node.get("prefixItems")
            node = prefix[step] if isinstance(prefix, list) and step < len(prefix) else node.get("items")
        else:
            node = (node.get("properties") or {}).get(step)
    node = _deref(schema, node)
    return node if isinstance(node, dict) else {}


def message_for(error: jsonschema.ValidationError, label: str, prop: dict[str, Any]) -> str:
    """The message for one refused keyword, naming the field ``label``."""
    v, value = error.validator, error.validator_value
    f = f"“{label}”"
    simple = {
        "minimum": f"{f}不能小于 {value} (must be ≥ {value})",
        "maximum": f"{f}不能大于 {value} (must be ≤ {value})",
        "exclusiveMinimum": f"{f}必须大于 {value} (must be > {value})",
        "exclusiveMaximum": f"{f}必须小于 {value} (must be < {value})",
        "minLength": f"{f}至少 {value} 个字 (at least {value} characters)",
        "maxLength": f"{f}不能超过 {value} 个字 (at most {value} characters)",
        "minItems": f"{f}至少需要 {value} 项 (at least {value} items)",
        "maxItems": f"{f}最多 {value} 项 (at most {value} items)",
        "uniqueItems": f"{f}中有重复的项，每项只能选一次 (items must be unique)",
        "minProperties": f"{f}至少需要 {value} 项内容 (at least {value} properties)",
        "maxProperties": f"{f}最多 {value} 项内容 (at most {value} properties)",
        "enum": f"请从{f}的选项中选择 (choose one of the options)",
        "pattern": f"{f}的格式不符合要求，请按说明填写 (does not match the pattern {value!r})",
        "contains": f"{f}缺少符合要求的项 (no item matches)",
        "minContains": f"{f}中符合要求的项少于 {value} 项 (too few matching items)",
        "maxContains": f"{f}中符合要求的项多于 {value} 项 (too many matching items)",
        "additionalProperties": f"{f}中有表单未定义的内容 (properties not in the form)",
        "unevaluatedProperties": f"{f}中有表单未定义的内容 (properties not in the form)",
        "unevaluatedItems": f"{f}中有多余的项 (unexpected items)",
        "items": f"{f}中有多余的项 (unexpected items)",
        "propertyNames": f"{f}中有名称不符合要求的项 (a property name is refused)",
        "not": f"{f}的填写不符合要求 (must not match)",
        "anyOf": f"{f}的填写不符合任何一种允许的方式，请按说明填写 (matches none of the allowed forms)",
        "oneOf": f"{f}须符合且只符合一种允许的填写方式 (must match exactly one allowed form)",
        "dependentSchemas": f"{f}与相关字段的填写不一致 (a dependent schema is not met)",
    }
    if v in simple:
        return simple[v]
    if v == "type":
        kinds = value if isinstance(value, list) else [value]
        wanted = "或".join(TYPES.get(str(k), str(k)) for k in kinds)
        return f"{f}应填写{wanted} (must be of type {value})"
    if v == "format":
        return f"{f}的格式不正确，应为{FORMATS.get(str(value), str(value))} (must be a {value})"
    if v == "multipleOf":
        if str(value) in ("0.01", "0.010"):
            return f"{f}最多保留两位小数 (at most two decimals)"
        return f"{f}必须是 {value} 的整数倍 (must be a multiple of {value})"
    if v == "const":
        return _const_message(f, value, prop)
    if v is None:  # a ``false`` subschema: nothing may be entered here
        return f"{f}在当前选择下不能填写 (not allowed here)"
    return f"{f}的填写不符合要求 ({error.message})"


# --------------------------------------------------------------------------------------------- helpers
def _const_message(f: str, value: Any, prop: dict[str, Any]) -> str:
    if value is True:
        return f"须勾选{f} (must be ticked)"
    if value is False:
        return f"{f}不能勾选 (must not be ticked)"
    labels = prop.get("x-enum-labels") if isinstance(prop.get("x-enum-labels"), dict) else {}
    shown = labels.get(value, labels.get(str(value), value))
    return f"按当前的选择，{f}只能是“{shown}” (must be {value!r} with the current choices)"


def _missing(error: jsonschema.ValidationError) -> str | None:
    """The property a ``required`` error is about (jsonschema puts it only in its English message)."""
    required = error.validator_value if isinstance(error.validator_value, list) else []
    missing = [name for name in required if isinstance(name, str) and name not in error.instance]
    # One error per missing property, all carrying the whole list: its message names which one.
    return next((name for name in missing if error.message.startswith(repr(name))), missing[0] if missing else None)


def _missing_dependency(error: jsonschema.ValidationError) -> str | None:
    deps = error.validator_value if isinstance(error.validator_value, dict) else {}
    for key, needed in deps.items():
        if key in error.instance and isinstance(needed, list):
            missing = next((n for n in needed if isinstance(n, str) and n not in error.instance), None)
            if missing is not None:
                return missing
    return None


def _false_property(schema: dict[str, Any], error: jsonschema.ValidationError) -> list[str]:
    """jsonschema leaves the property name off the path of a ``false`` property schema's error; when one
    property of that ``properties`` is ``false``, it is the one."""
    node = resolve_pointer(schema, "#/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in error.schema_path))
    names = [k for k, sub in node.items() if sub is False] if isinstance(node, dict) else []
    return names if len(names) == 1 else []


def _title(prop: dict[str, Any], path: list[Any]) -> str:
    title = prop.get("title")
    if isinstance(title, str) and title.strip():
        return title.strip()
    names = [p for p in path if isinstance(p, str)]
    return names[-1] if names else "表单"


def _deref(root: dict[str, Any], node: Any) -> Any:
    """Follow local ``$ref``s (``#/$defs/x``); siblings of the ``$ref`` (a title) win over the target."""
    for _ in range(MAX_REF_DEPTH):
        if not (isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#")):
            return node
        target = resolve_pointer(root, node["$ref"])
        if not isinstance(target, dict):
            return {k: v for k, v in node.items() if k != "$ref"}
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def resolve_pointer(root: Any, ref: str) -> Any:
    """``#/$defs/money`` inside ``root`` (JSON Pointer, RFC 6901), or None when it does not resolve."""
    node = root
    for raw in ref.lstrip("#").split("/")[1:]:
        key = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
    return node
