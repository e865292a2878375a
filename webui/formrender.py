"""Task forms in HTML: a JSON Schema becomes fields to render, and a posted form becomes task data.

The schema stays the single source of truth: the page renders what the schema declares, the
posted values are converted to the schema's types (and nothing else is passed on), and the engine
validates the result exactly as it validates an API call. Values a user typed that do not convert
(``12a`` in a money field) are passed through unchanged so the engine reports them against their
field and the page shows them again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from werkzeug.datastructures import MultiDict

from engine import clock
from engine.errors import InvalidInput
from engine.forms.messages import resolve_pointer

WIDGETS = {"text", "textarea", "integer", "money", "date", "datetime", "select", "radio", "checkbox", "rows", "officers",
           "evidence"}
MAX_ROWS = 200
MAX_ROW_INDEX = 1000  # the page numbers rows from 0; a larger index is not a row the page drew
MAX_EXPONENT = 100  # posted numbers beyond ±1e100 are passed on as text and refused by the schema


@dataclass
class Field:
    """One input as the template draws it."""

    name: str
    label: str
    widget: str
    required: bool
    help: str = ""
    options: list[tuple[Any, str]] = field(default_factory=list)  # (value, label) for select/radio/multi-checkbox
    multiple: bool = False  # an array of enum values shown as checkboxes
    columns: list[Field] = field(default_factory=list)  # sub-fields of a "rows" field
    attrs: dict[str, Any] = field(default_factory=dict)  # min/max/maxlength/step
    role: str | None = None  # officers: the lane role the designated people must hold
    kinds: list[str] = field(default_factory=list)  # evidence: the kinds of item the field accepts (x-kinds; empty: any)
    # Issue 17: when the field becomes required (alternatives of clauses, see required_when) and whether
    # it is shown only then; officers pickers: how many people may be chosen.
    required_when: list[list[dict[str, Any]]] = field(default_factory=list)
    conditional: bool = False
    max_items: int | None = None


def fields_of(schema: dict[str, Any]) -> list[Field]:
    """The fields to draw, in schema order; a ``false`` property (nothing may be entered) is not drawn."""
    required = set(schema.get("required") or [])
    conditions = required_when(schema)
    fields = []
    for name, prop in inlined_properties(schema).items():
        drawn = _field(name, prop, name in required)
        drawn.required_when = conditions.get(name, [])
        drawn.conditional = bool(drawn.required_when) and name not in required
        fields.append(drawn)
    return fields


class UnreadableForm(InvalidInput):
    """Inputs the page never draws (a row number that is not one); ``partial`` is the rest of the form,
    parsed, so the page can come back with what the officer typed."""

    def __init__(self, message: str, details: list[dict[str, Any]], partial: dict[str, Any]) -> None:
        super().__init__(message, details)
        self.partial = partial


def parse_form(schema: dict[str, Any], form: MultiDict[str, str]) -> dict[str, Any]:
    """The posted form as task data of the schema's types (empty inputs are left out).

    Raises ``UnreadableForm`` (an ``InvalidInput``) naming the field when a row input's index is not a row number."""
    data: dict[str, Any] = {}
    refused: list[InvalidInput] = []
    properties = inlined_properties(schema)
    for name, prop in properties.items():
        try:
            value = _parse_value(name, prop, form, properties)
        except InvalidInput as exc:
            refused.append(exc)
            continue
        if value is not None:
            data[name] = value
    if refused:
        raise UnreadableForm(refused[0].message, [d for exc in refused for d in exc.details or []], data)
    return data


def display_value(prop_widget: str, value: Any) -> Any:
    """Stored data as an input shows it (ISO datetimes in local time without the zone)."""
    if value is None:
        return ""
    if prop_widget == "datetime" and isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(clock.SHANGHAI)
        return parsed.strftime("%Y-%m-%dT%H:%M")
    if prop_widget == "money" and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{Decimal(str(value)):.2f}"
    return value


# --------------------------------------------------------------------------------------------- helpers
def _field(name: str, prop: dict[str, Any], required: bool) -> Field:
    widget = prop.get("x-widget") or _default_widget(prop)
    labels = prop.get("x-enum-labels") or {}
    items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
    enum = prop.get("enum") or (items.get("enum") if prop.get("type") == "array" else None) or []
    labels = labels or items.get("x-enum-labels") or {}
    if not enum:
        enum, labels = one_of_choices(prop if prop.get("type") != "array" else items) or (enum, labels)
    if prop.get("type") == "boolean" and widget in ("radio", "select") and not enum:
        enum, labels = [True, False], {True: "是", False: "否"}
    options = [(value, str(labels.get(value, labels.get(str(value), value)))) for value in enum]
    attrs: dict[str, Any] = {}
    for key, attr in (("minimum", "min"), ("maximum", "max"), ("maxLength", "maxlength"), ("minLength", "minlength")):
        if key in prop:
            attrs[attr] = prop[key]
    if widget == "money":
        attrs["step"] = "0.01"
        attrs.setdefault("min", 0)
    elif widget == "integer":
        attrs["step"] = "1"
    columns = []
    if widget == "rows":
        sub_required = set(items.get("required") or [])
        columns = [_field(sub, sub_prop, sub in sub_required) for sub, sub_prop in (items.get("properties") or {}).items()]
    return Field(
        name=name, label=str(prop.get("title", name)), widget=widget if widget in WIDGETS else "text", required=required,
        help=str(prop.get("description", "")), options=options, multiple=prop.get("type") == "array" and widget == "checkbox",
        columns=columns, attrs=attrs, role=prop.get("x-role", "handler") if widget == "officers" else None,
        kinds=[str(k) for k in prop.get("x-kinds") or []] if widget == "evidence" else [],
        max_items=prop.get("maxItems") if isinstance(prop.get("maxItems"), int) and widget == "officers" else None,
    )


def _default_widget(prop: dict[str, Any]) -> str:
    kind = prop.get("type")
    if kind == "boolean":
        return "checkbox"
    if kind == "integer":
        return "integer"
    if kind == "number":
        return "money"
    if "enum" in prop:
        return "select"
    if prop.get("format") == "date":
        return "date"
    if prop.get("format") == "date-time":
        return "datetime"
    return "text"


def _parse_value(name: str, prop: dict[str, Any], form: MultiDict[str, str], siblings: dict[str, Any]) -> Any:
    kind = prop.get("type")
    widget = prop.get("x-widget") or _default_widget(prop)
    if kind == "array":
        if widget == "rows":
            return _parse_rows(name, prop, form, siblings)
        values = [v for v in form.getlist(name) if v != ""]
        item_type = (prop.get("items") or {}).get("type")
        return [_scalar(item_type, "text", v) for v in values] if (values or name in form) else None
    if kind == "boolean" and widget == "checkbox":
        return form.get(name) in ("on", "true", "1", "yes")
    raw = form.get(name)
    if raw is None or raw.strip() == "":
        return None
    return _scalar(kind, widget, raw.strip() if widget != "textarea" else raw)


def _parse_rows(name: str, prop: dict[str, Any], form: MultiDict[str, str],
                siblings: dict[str, Any]) -> list[dict[str, Any]] | None:
    items = prop.get("items") or {}
    subs = items.get("properties") or {}
    rows: list[dict[str, Any]] = []
    indexes = sorted(_row_indexes(name, prop, form, siblings), key=lambda raw: (int(raw), raw))
    for index in indexes[:MAX_ROWS]:
        row = {}
        columns = {f"{name}-{index}-{sub}": sub_prop for sub, sub_prop in subs.items()}
        for (sub, sub_prop), column in zip(subs.items(), columns, strict=True):
            value = _parse_value(column, sub_prop, form, columns)
            if value is not None and value != "":
                row[sub] = value
        if any(v not in (False, None, "") for v in row.values()):
            rows.append(row)  # a row left entirely blank is an unused row, not an error
    return rows if (rows or indexes) else None


def _row_indexes(name: str, prop: dict[str, Any], form: MultiDict[str, str], siblings: dict[str, Any]) -> set[str]:
    """The row numbers posted for rows field ``name`` (inputs ``name-<index>-<column>``).

    Only ASCII digits up to MAX_ROW_INDEX are row numbers: ``"²".isdigit()`` is true but ``int("²")``
    raised (a 500), and ``int`` refuses more than 4,300 digits. Anything else is refused naming the field,
    before anything is applied. Inputs of another field whose name starts with ``name-`` are not rows."""
    prefix = f"{name}-"
    others = [other for other in siblings if other != name and other.startswith(prefix)]
    indexes: set[str] = set()
    for key in form:
        if not key.startswith(prefix) or any(key == o or key.startswith(f"{o}-") for o in others):
            continue
        index = key[len(prefix):].split("-", 1)[0]
        if not (index.isascii() and index.isdigit() and len(index) <= len(str(MAX_ROW_INDEX))
                and int(index) <= MAX_ROW_INDEX):
            title = str(prop.get("title", name))
            shown = index if len(index) <= 20 else index[:20] + "…"
            raise InvalidInput(
                f"“{title}”的行号 “{shown}” 无效：行号只能是 0 到 {MAX_ROW_INDEX} 的阿拉伯数字 (0-9)，"
                f"请刷新页面后重新填写 (row index of {name} must be ASCII digits 0..{MAX_ROW_INDEX})",
                details=[{"field": name, "message": f"行号 “{shown}” 无效，只能是 0 到 {MAX_ROW_INDEX} 的数字"}])
        indexes.add(index)  # as posted: "007" names the inputs "evidence-007-…"
    return indexes


def _scalar(kind: str | None, widget: str, raw: str) -> Any:
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            return raw
    if kind == "number":
        try:
            number = Decimal(raw.replace(",", "").replace("，", ""))
        except InvalidOperation:
            return raw
        if not number.is_finite() or abs(number.adjusted()) > MAX_EXPONENT:
            return raw  # int(Decimal('1e999999999')) would build a billion-digit integer and pin the worker
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "boolean":
        return raw.lower() in ("true", "on", "1", "yes")
    if widget == "datetime" and "T" in raw and "+" not in raw and not raw.endswith("Z"):
        try:
            local = dt.datetime.fromisoformat(raw)
        except ValueError:
            return raw
        return local.replace(tzinfo=clock.SHANGHAI).isoformat()  # what an officer types is Beijing time
    return raw


# --------------------------------------------------------------------------------------------- schema shapes (issue 17)
MAX_REF_DEPTH = 8  # local $refs inlined this deep; deeper (or looping) references draw as a text box


def inlined_properties(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The form's properties as plain dicts: local ``$ref``s inlined (a ``$ref: "#/$defs/money"`` field
    is a money field, not a text box), ``true`` as an unconstrained field and ``false`` left out.

    Only references inside the form resolve, as in the engine's validator (engine/forms/schema.py)."""
    out: dict[str, dict[str, Any]] = {}
    for name, prop in (schema.get("properties") or {}).items():
        shaped = _inline(prop, schema, MAX_REF_DEPTH)
        if isinstance(shaped, dict):
            out[name] = shaped
    return out


def _inline(node: Any, root: dict[str, Any], depth: int) -> Any:
    if node is True:
        return {}
    if not isinstance(node, dict):
        return None if node is False else node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#") and depth > 0:
        target = resolve_pointer(root, ref)
        if isinstance(target, dict):
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
            return _inline(node, root, depth - 1)
    if depth <= 0:
        return node
    shaped = dict(node)
    if "items" in node:
        shaped["items"] = _inline(node["items"], root, depth - 1)
    if isinstance(node.get("properties"), dict):
        shaped["properties"] = {k: v for k, v in ((k, _inline(v, root, depth - 1)) for k, v in node["properties"].items())
                                if isinstance(v, dict)}
    return shaped


def one_of_choices(prop: dict[str, Any]) -> tuple[list[Any], dict[Any, str]] | None:
    """``oneOf: [{"const": …, "title": …}, …]``, the other usual way of giving choices their labels."""
    options = prop.get("oneOf") or prop.get("anyOf")
    if not isinstance(options, list) or not options or not all(isinstance(o, dict) and "const" in o for o in options):
        return None
    values = [o["const"] for o in options]
    return values, {str(o["const"]): str(o.get("title", o["const"])) for o in options}


# --------------------------------------------------------------------------------------------- required when (issue 17)
def required_when(schema: dict[str, Any]) -> dict[str, list[list[dict[str, Any]]]]:
    """Fields an ``if``/``then`` makes required, with the choices that make them so.

    ``{"not_file_reason": [[{"field": "filing_recommendation", "values": ["not_file"]}]]}``: a list of
    alternatives, each a list of clauses that must all hold. Values are written as the page posts them
    (``True``/``False`` for yes/no), so the page's script compares strings. Only conditions the page can
    evaluate are read: ``const``/``enum`` on properties the ``if`` also requires (without ``required`` an
    absent value would match too). Anything else stays a rule the server alone checks."""
    out: dict[str, list[list[dict[str, Any]]]] = {}
    branches = [schema, *[b for b in schema.get("allOf") or [] if isinstance(b, dict)]]
    for branch in branches:
        clauses = _clauses(branch.get("if"))
        then = branch.get("then")
        if clauses is None or not isinstance(then, dict):
            continue
        for name in then.get("required") or []:
            if isinstance(name, str) and clauses not in out.get(name, []):
                out.setdefault(name, []).append(clauses)
    return out


def _clauses(condition: Any) -> list[dict[str, Any]] | None:
    if not isinstance(condition, dict) or set(condition) - {"properties", "required"}:
        return None
    properties, required = condition.get("properties"), set(condition.get("required") or [])
    if not isinstance(properties, dict) or not properties:
        return None
    clauses = []
    for name, test in properties.items():
        if name not in required or not isinstance(test, dict) or set(test) - {"const", "enum"}:
            return None
        values = [test["const"]] if "const" in test else test.get("enum")
        if not isinstance(values, list):
            return None
        clauses.append({"field": name, "values": [_as_posted(v) for v in values]})
    return clauses


def _as_posted(value: Any) -> str:
    return str(value)  # True -> "True": what a yes/no radio posts, and what the script makes of a ticked box
