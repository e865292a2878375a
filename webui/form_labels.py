"""Choices shown by their labels outside the form they were made on (issue 17).

A choice is stored as its code (``discretion_tier: "mitigated"``) because gateways and decision
tables read codes. Where a later step prints it (a task's instructions), the officer reads the label
the form showed (减轻处罚), and a yes/no answer as 是/否 rather than ``True``.
"""

from __future__ import annotations

from typing import Any

from engine.forms.schema import deployment_forms

from .formrender import inlined_properties, one_of_choices


def enum_labels(schemas: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Field name -> {stored value: label} over the given forms (the labels the forms show)."""
    labels: dict[str, dict[str, str]] = {}
    for schema in schemas:
        for name, prop in inlined_properties(schema).items():
            items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
            own = prop.get("x-enum-labels") or items.get("x-enum-labels")
            choices = one_of_choices(prop) or one_of_choices(items)
            if isinstance(own, dict):
                labels.setdefault(name, {}).update({str(k): str(v) for k, v in own.items()})
            elif choices:
                labels.setdefault(name, {}).update(choices[1])
    return labels


class LabelledValue(str):
    """A choice's code that prints as its label: ``{{ discretion_tier }}`` shows 减轻处罚 while
    ``{% if discretion_tier == "mitigated" %}`` still compares the code a designer wrote."""

    label: str

    def __new__(cls, code: str, label: str) -> LabelledValue:
        value = super().__new__(cls, code)
        value.label = label
        return value

    def __str__(self) -> str:
        return self.label

    def __format__(self, spec: str) -> str:
        return format(self.label, spec)

    def __repr__(self) -> str:
        return self.label


class YesNo(int):
    """A yes/no answer that prints 是/否 and still tests and compares as the boolean it is."""

    def __str__(self) -> str:
        return "是" if self else "否"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __repr__(self) -> str:
        return str(self)


_labels_by_deployment: dict[int, dict[str, dict[str, str]]] = {}


def deployment_labels(deployment_id: int) -> dict[str, dict[str, str]]:
    """``enum_labels`` of every form of a deployment; deployments never change, so it is read once."""
    labels = _labels_by_deployment.get(deployment_id)
    if labels is None:
        if len(_labels_by_deployment) > 256:
            _labels_by_deployment.clear()
        labels = _labels_by_deployment[deployment_id] = enum_labels(deployment_forms(deployment_id))
    return labels


def labelled_data(data: dict[str, Any], labels: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Task data as instructions print it: choices by their labels, yes/no as 是/否 (not "mitigated", "True")."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        table = labels.get(key, {})
        if isinstance(value, bool):
            out[key] = YesNo(value)
        elif isinstance(value, str) and value in table:
            out[key] = LabelledValue(value, table[value])
        elif isinstance(value, list) and table and all(isinstance(v, str) for v in value):
            out[key] = [LabelledValue(v, table[v]) if v in table else v for v in value]
        else:
            out[key] = value
    return out
