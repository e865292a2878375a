"""A generic JSON-Schema client: fills any form from the schema the API serves and the data the task
holds, knowing nothing of zhifa's procedures, forms or people (tests/test_api_generic_client.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import jsonschema

CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER


class GenericClient:
    """Fills a JSON Schema from itself: nothing here knows a field name of any form."""

    def __init__(self, today: dt.date) -> None:
        self.today = today
        self.picked_officers: list[list[str]] = []  # officers' fields filled from the served enum

    def fill(self, schema: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        props = schema.get("properties") or {}
        out = {name: self.value(props.get(name) or {}, data.get(name)) for name in schema.get("required", [])}
        validator = jsonschema.Draft202012Validator(schema, format_checker=CHECKER)
        for _ in range(20):  # conditional requirements (if/then) appear as the values do
            errors = list(validator.iter_errors(out))
            if not errors:
                return out
            for error in errors:
                target = self._container(out, list(error.absolute_path))
                if error.validator == "required":
                    for name in error.validator_value:
                        if name not in target:
                            sub = self._subschema(schema, list(error.absolute_path)).get("properties", {})
                            target[name] = self.value(sub.get(name) or error.schema.get("properties", {}).get(name) or {},
                                                      data.get(name))
                elif error.validator == "const" and error.absolute_path:
                    self._set(out, list(error.absolute_path), error.validator_value)
                elif error.validator == "enum" and error.absolute_path:
                    self._set(out, list(error.absolute_path), error.validator_value[0])
                else:
                    raise AssertionError(f"cannot satisfy {error.message} at {list(error.absolute_path)}")
        raise AssertionError("the form's conditions never settle")

    def value(self, prop: dict[str, Any], current: Any) -> Any:
        if current is not None and not list(jsonschema.Draft202012Validator(prop, format_checker=CHECKER).iter_errors(current)):
            return current  # what the case already holds (the form shows it pre-filled)
        if "const" in prop:
            return prop["const"]
        if prop.get("enum"):
            return next((v for v in prop["enum"] if v not in ("", None)), prop["enum"][0])
        if "default" in prop:
            return prop["default"]
        kind = prop.get("type")
        kind = next((k for k in kind if k != "null"), None) if isinstance(kind, list) else kind
        if kind == "array":
            items = prop.get("items") or {}
            count = max(prop.get("minItems", 0), 1)
            if items.get("enum") is not None:  # officers resolved by the server: pick the first allowed
                assert len(items["enum"]) >= count, f"the served schema offers {items['enum']}, {count} needed"
                self.picked_officers.append(items["enum"][:count])
                return items["enum"][:count]
            return [self.value(items, None) for _ in range(count)]
        if kind == "object":
            return self.fill(prop, {})
        if kind == "boolean":
            return False
        if kind in ("number", "integer"):
            low = prop.get("minimum", prop.get("exclusiveMinimum", -1) + 1)
            return max(low, 0)
        fmt = prop.get("format")
        if fmt == "date":
            return self.today.isoformat()
        if fmt == "date-time":
            return f"{self.today.isoformat()}T10:00:00+08:00"
        if fmt == "time":
            return "10:00:00+08:00"
        text = "经核实的情况说明"
        while len(text) < prop.get("minLength", 0):
            text += text
        return text[: prop.get("maxLength", len(text))]

    def _subschema(self, schema: dict[str, Any], path: list[Any]) -> dict[str, Any]:
        for part in path:
            schema = (schema.get("items") if isinstance(part, int) else (schema.get("properties") or {}).get(part)) or {}
        return schema

    @staticmethod
    def _container(out: Any, path: list[Any]) -> Any:
        for part in path:
            out = out[part]
        return out

    @staticmethod
    def _set(out: Any, path: list[Any], value: Any) -> None:
        for part in path[:-1]:
            out = out[part]
        out[path[-1]] = value
