"""Task forms: the JSON Schema a task's data must satisfy, read from the case's own deployment."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

import jsonschema
from sqlalchemy import select

from .errors import InvalidInput, NotFound
from .expressions import SAFE_FUNCTIONS
from .models import DeploymentFile, db

# Case data the engine sets, and the helpers expressions call: no form or fact may overwrite them.
SYSTEM_KEYS = frozenset({"case_number", "party_type", "party_name", "unit_code", "opened_on"})
RESERVED_NAMES = SYSTEM_KEYS | frozenset({"deadline", "case_clock"}) | frozenset(SAFE_FUNCTIONS)

_cache: dict[tuple[int, str], dict[str, Any]] = {}
_lock = threading.Lock()
_format_checker = jsonschema.FormatChecker()


def form_schema(deployment_id: int, form: str) -> dict[str, Any]:
    """Deployments are immutable, so a form read once per deployment stays valid."""
    key = (deployment_id, form)
    schema = _cache.get(key)
    if schema is None:
        content = db.session.scalars(
            select(DeploymentFile.content).where(
                DeploymentFile.deployment_id == deployment_id, DeploymentFile.path == f"forms/{form}.json"
            )
        ).first()
        if content is None:
            raise NotFound(f"表单 '{form}' 不存在 (form not found)")
        schema = json.loads(content)
        with _lock:
            _cache[key] = schema
    return schema


def validate_form_data(
    schema: dict[str, Any], data: Any, reserved: frozenset[str] | None = None, closed: bool = True
) -> dict[str, Any]:
    """Check submitted data; every error names its field so the form can show it inline.

    Only fields the form declares may be submitted: task data drives gateways and DMN tables, so
    an undeclared key (``party_type``, ``legal_review_required``…) must never slip into the case.
    """
    if not isinstance(data, dict):
        raise InvalidInput("表单数据必须是对象 (form data must be an object)")
    declared = set((schema.get("properties") or {}).keys())
    reserved = RESERVED_NAMES if reserved is None else reserved
    unknown = sorted(k for k in data if (closed and k not in declared) or k in reserved)
    if unknown:
        raise InvalidInput(
            "表单中没有这些字段：" + "、".join(unknown) + " (fields not in this form)",
            details=[{"field": k, "label": k, "message": "表单未定义此字段 (not a field of this form)"} for k in unknown],
        )
    validator = _validator(schema)
    if validator.is_valid(data):  # the common case, and much cheaper than collecting errors
        return data
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        details = [_describe(schema, e) for e in errors]
        raise InvalidInput(
            "表单填写有误：" + "；".join(f"{d['label']}：{d['message']}" for d in details[:5]),
            details=details,
        )
    return data


def _describe(schema: dict[str, Any], error: jsonschema.ValidationError) -> dict[str, Any]:
    path = [str(p) for p in error.absolute_path]
    field = path[0] if path else None
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = error.message.split("'")[1] if "'" in error.message else None
        field = ".".join([*path, missing]) if missing else field
        top = missing if not path else path[0]
        label = schema.get("properties", {}).get(top, {}).get("title", top)
        return {"field": field, "label": label, "message": "必填 (required)"}
    label = schema.get("properties", {}).get(path[0], {}).get("title", path[0]) if path else "表单"
    return {"field": ".".join(path) or None, "label": label, "message": _message(error)}


def _message(error: jsonschema.ValidationError) -> str:
    v = error.validator
    if v == "minimum":
        return f"不能小于 {error.validator_value} (must be ≥ {error.validator_value})"
    if v == "maximum":
        return f"不能大于 {error.validator_value} (must be ≤ {error.validator_value})"
    if v == "maxLength":
        return f"不能超过 {error.validator_value} 个字 (at most {error.validator_value} characters)"
    if v == "minLength":
        return f"至少 {error.validator_value} 个字 (at least {error.validator_value} characters)"
    if v == "enum":
        return "请从选项中选择 (choose one of the options)"
    if v == "type":
        return f"类型不正确，应为 {error.validator_value} (wrong type)"
    if v == "format":
        return f"格式不正确，应为 {error.validator_value} (wrong format)"
    if v == "minItems":
        return f"至少 {error.validator_value} 项 (at least {error.validator_value} items)"
    if v == "multipleOf":
        return "最多两位小数 (at most two decimals)"
    return error.message



def clear_cache() -> None:
    with _lock:
        _cache.clear()


_validators: dict[int, tuple[dict[str, Any], jsonschema.Draft202012Validator]] = {}


def _multiple_of(validator: Any, step: Any, instance: Any, schema: dict[str, Any]) -> Iterator[jsonschema.ValidationError]:
    """``multipleOf: 0.01`` on money, decided in decimal: jsonschema divides floats, and so refuses
    a fine of 150.07 元 (150.07 / 0.01 = 15007.000000000002)."""
    if not validator.is_type(instance, "number") or isinstance(instance, bool):
        return
    try:
        ok = Decimal(str(instance)) % Decimal(str(step)) == 0
    except (InvalidOperation, ValueError):
        ok = False
    if not ok:
        yield jsonschema.ValidationError(f"{instance!r} is not a multiple of {step}")


_Validator = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"multipleOf": _multiple_of})


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """Validators are reused per schema object (schemas are cached and never mutated)."""
    hit = _validators.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    validator = _Validator(schema, format_checker=_format_checker)
    with _lock:
        if len(_validators) > 1000:
            _validators.clear()
        _validators[id(schema)] = (schema, validator)
    return validator
