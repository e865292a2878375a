"""Task forms: the JSON Schema a task's data must satisfy, read from the case's own deployment."""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

import jsonschema
import re2
import referencing.exceptions
from referencing import Registry
from sqlalchemy import select

from engine.db import caches
from engine.errors import InvalidInput, NotFound
from engine.expressions import SAFE_FUNCTIONS
from engine.forms.messages import describe, summary
from engine.models import DeploymentFile, db

# Case data the engine sets, and the helpers expressions call: no form or fact may overwrite them.
SYSTEM_KEYS = frozenset({"case_number", "party_type", "party_name", "unit_code", "opened_on"})
RESERVED_NAMES = SYSTEM_KEYS | frozenset({"deadline", "case_clock"}) | frozenset(SAFE_FUNCTIONS)
# Set only by a procedure's return path (engine/runtime/returns.py): a form or a fact carrying them
# would put a forged "sent back" banner on the next step and void the case's documents.
RETURN_KEYS = frozenset({"returned_because", "void_documents"})

_cache: dict[tuple[int, str], dict[str, Any]] = {}
_lock = threading.Lock()

# One validation may evaluate at most this many schema keywords: a form whose references fan out
# (allOf of the same definition twice, nested 30 deep, is 2**30 evaluations) is refused, not run.
MAX_VALIDATION_STEPS = 100_000
PATTERN_ADVICE = ("请使用不含反向引用（如 \\1）和前后查找（如 (?=…)、(?<!…)）的正则表达式 "
                  "(use a pattern without backreferences or lookaround)")


# --------------------------------------------------------------------------------------------- patterns
class PatternUnsupported(ValueError):
    """A pattern the linear-time engine (RE2) cannot run: backreferences, lookaround, bad syntax."""


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a refused pattern is reported to the designer, not logged to stderr
_ECMA_ESCAPES = re.compile(r"\\(u[0-9A-Fa-f]{4}|.)", re.DOTALL)


def _to_re2(pattern: str) -> str:
    """JSON Schema patterns are ECMA-262: ``\\uXXXX`` (common in ``[\\u4e00-\\u9fa5]``) is ``\\x{XXXX}`` in RE2."""
    return _ECMA_ESCAPES.sub(lambda m: "\\x{" + m.group(1)[1:] + "}" if len(m.group(1)) == 5 else m.group(0), pattern)


def _compile(pattern: Any) -> Any:
    if not isinstance(pattern, str):
        raise PatternUnsupported(f"正则表达式必须是字符串 (a pattern must be a string): {pattern!r}")
    try:
        return re2.compile(_to_re2(pattern), _RE2_OPTIONS)
    except (re2.error, UnicodeError, ValueError, TypeError) as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise PatternUnsupported(reason)


# Patterns come from deployed forms (few, immutable): compiled once each. Data checked against the
# "regex" format is compiled uncached.
compile_pattern: Callable[[str], Any] = functools.lru_cache(maxsize=4096)(_compile)


def pattern_search(pattern: str, text: str) -> bool:
    """``re.search`` semantics in linear time; a form's unusable pattern is a 422, never a hang."""
    try:
        regex = compile_pattern(pattern)
    except PatternUnsupported as exc:
        raise InvalidInput(
            f"表单中的正则表达式无法使用：{pattern!r}，{PATTERN_ADVICE}: {exc}",
            details=[{"field": None, "label": "表单", "message": f"正则表达式无法使用 (unusable pattern): {pattern!r}"}],
        )
    try:
        return regex.search(text) is not None
    except UnicodeError:  # lone surrogates ("\ud800" is valid JSON) are not text RE2 can read
        return False


def _pattern(validator: Any, patrn: Any, instance: Any, schema: dict[str, Any]) -> Iterator[jsonschema.ValidationError]:
    if validator.is_type(instance, "string") and not pattern_search(patrn, instance):
        yield jsonschema.ValidationError(f"does not match {patrn!r}")


def _pattern_properties(validator: Any, patterns: Any, instance: Any, schema: dict[str, Any]) -> Iterator[jsonschema.ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for patrn, subschema in patterns.items():
        for key, value in instance.items():
            if pattern_search(patrn, key):
                yield from validator.descend(value, subschema, path=key, schema_path=patrn)


def _additional_properties(validator: Any, extra: Any, instance: Any, schema: dict[str, Any]) -> Iterator[jsonschema.ValidationError]:
    """jsonschema's ``additionalProperties`` with ``patternProperties`` matched by RE2 (it uses ``re``)."""
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    extras = [k for k in instance if k not in properties and not any(pattern_search(p, k) for p in patterns)]
    if validator.is_type(extra, "object"):
        for key in extras:
            yield from validator.descend(instance[key], extra, path=key)
    elif not extra and extras:
        yield jsonschema.ValidationError(
            "Additional properties are not allowed (" + ", ".join(repr(k) for k in sorted(extras, key=str)) + " unexpected)"
        )


class _TooComplex(Exception):
    pass


_steps = threading.local()


def _counted(keyword: Callable[..., Any]) -> Callable[..., Any]:
    """Each keyword evaluation spends one step of the validation's budget (``MAX_VALIDATION_STEPS``)."""

    def counted(validator: Any, value: Any, instance: Any, schema: Any) -> Any:
        left = getattr(_steps, "left", None)
        if left is not None:
            if left <= 0:
                raise _TooComplex
            _steps.left = left - 1
        return keyword(validator, value, instance, schema)

    return counted


def _refuse_retrieval(uri: str) -> Any:
    """No ``$ref`` is ever fetched: not over the network, not from a file (deploy refuses them too)."""
    raise referencing.exceptions.NoSuchResource(ref=uri)


# Only references inside the form itself resolve (plus the JSON Schema meta-schemas jsonschema bundles).
REGISTRY: Registry = Registry(retrieve=_refuse_retrieval)  # type: ignore[call-arg]


def _is_regex(instance: object) -> bool:
    if isinstance(instance, str):
        _compile(instance)
    return True


_format_checker = jsonschema.FormatChecker()
_format_checker.checks("regex", raises=PatternUnsupported)(_is_regex)


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


def deployment_forms(deployment_id: int) -> list[dict[str, Any]]:
    """Every form of a deployment (the labels of a choice made on one step are shown on later ones)."""
    paths = db.session.scalars(
        select(DeploymentFile.path).where(DeploymentFile.deployment_id == deployment_id,
                                          DeploymentFile.path.like("forms/%.json")).order_by(DeploymentFile.path)
    ).all()
    return [form_schema(deployment_id, path[len("forms/"):-len(".json")]) for path in paths]


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
    reserved = RESERVED_NAMES | RETURN_KEYS if reserved is None else reserved
    unknown = sorted(k for k in data if (closed and k not in declared) or k in reserved)
    if unknown:
        raise InvalidInput(
            "表单中没有这些字段：" + "、".join(unknown) + " (fields not in this form)",
            details=[{"field": k, "label": k, "message": "表单未定义此字段 (not a field of this form)"} for k in unknown],
        )
    validator = _validator(schema)
    _steps.left = MAX_VALIDATION_STEPS
    try:
        if validator.is_valid(data):  # the common case, and much cheaper than collecting errors
            return data
        errors = sorted(validator.iter_errors(data), key=lambda e: [(isinstance(p, str), p) for p in e.absolute_path])
    except referencing.exceptions.Unresolvable as exc:
        ref = str(getattr(exc, "ref", "") or "")[:200]  # not str(exc): it quotes the whole schema
        raise _unusable(f"表单中的引用 $ref 无法解析，只能引用同一表单内的定义：{ref!r} (a $ref of the form does not resolve)")
    except RecursionError:
        raise _unusable("表单数据嵌套过深，或表单的引用 $ref 形成循环 (data nested too deeply, or the form's $refs loop)")
    except _TooComplex:
        raise _unusable(f"表单校验超过 {MAX_VALIDATION_STEPS} 步的限制 (form validation exceeds {MAX_VALIDATION_STEPS} steps)")
    except jsonschema.exceptions.UnknownType as exc:
        raise _unusable(f"表单定义中有未知类型 (unknown type in the form): {exc.type!r}")
    finally:
        _steps.left = None
    if errors:
        details = [describe(schema, e) for e in errors]
        raise InvalidInput(summary(details), details=details)
    return data


def _unusable(message: str) -> InvalidInput:
    """The form itself cannot check this data: a clear 422, and nothing is applied."""
    return InvalidInput(message, details=[{"field": None, "label": "表单", "message": message}])


@caches.register
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


_KEYWORDS = {**jsonschema.Draft202012Validator.VALIDATORS, "multipleOf": _multiple_of, "pattern": _pattern,
             "patternProperties": _pattern_properties, "additionalProperties": _additional_properties}
_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {name: _counted(keyword) for name, keyword in _KEYWORDS.items()}
)


def unsafe_keyword_mix(schema: Any) -> bool:
    """``unevaluatedProperties`` matches ``patternProperties`` with Python's backtracking ``re``
    inside jsonschema: a form may use one or the other, not both (deploy refuses the mix too)."""
    seen: set[str] = set()
    stack = [schema]
    while stack and len(seen) < 2:
        node = stack.pop()
        if isinstance(node, dict):
            seen.update(k for k in ("patternProperties", "unevaluatedProperties") if k in node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return len(seen) == 2


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """Validators are reused per schema object (schemas are cached and never mutated)."""
    hit = _validators.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    if unsafe_keyword_mix(schema):
        raise _unusable("表单同时使用 patternProperties 与 unevaluatedProperties，无法安全校验 "
                        "(a form may not combine patternProperties with unevaluatedProperties)")
    validator = _Validator(schema, format_checker=_format_checker, registry=REGISTRY)
    with _lock:
        if len(_validators) > 1000:
            _validators.clear()
        _validators[id(schema)] = (schema, validator)
    return validator
