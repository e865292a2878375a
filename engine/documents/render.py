"""Document content: an administrator-editable template per type, rendered in the bounded sandbox.

A document's text is a template in the same sandboxed, bounded Jinja language as task instructions
(engine/expressions/templates.py: no attribute access beyond plain data, no imports, a CPU, loop and
output budget), so an administrator may edit it without being able to reach the server. Values are
escaped *before* the template sees them and the rendered HTML is cleaned to the subset the PDF writer
understands (h1–h3, p, b, br, u, table/tr/td) by ``nh3``, so neither a party's name nor an edited
template can put markup on the page. What the template may use (see :func:`template_context`):

- ``header``, ``party_block``, ``signature``, ``party_signature``: the organ's heading, the party's
  particulars, the organ's seal line and the party's blank signature/date lines (ready HTML);
- ``agency.*`` (the organ: full_name, address, review_organ, court, payment_place, payment_account…),
  ``party.*``, ``doc.*`` (number, type, issued_on, basis, verify_code), ``case.*`` (number, unit, opened_on);
- ``f.<field>``: a form or case field for reading (enum labels, Chinese dates, amounts with separators),
  ``s.<field>`` the same without closing punctuation (for a sentence that ends with its own 。),
  ``raw.<field>`` the value as entered, ``upper.<field>`` an amount in capitals (伍仟元整);
- ``fields``: (title, value) of every field the task submitted; ``earlier``: type -> number of earlier
  documents of the case; ``serves``: for a 送达回证, the document it is the receipt of; ``officer``; ``blank``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cn2an
import nh3
from jinja2 import nodes
from markupsafe import escape

from engine import clock
from engine.expressions.instructions_check import check_instructions
from engine.expressions.templates import ENVIRONMENT, render_instructions_text

TEMPLATES = Path(__file__).resolve().parent / "templates"
BLANK = "＿＿＿＿＿＿"
TAGS = {"h1", "h2", "h3", "p", "b", "br", "u", "table", "tr", "td", "th"}
ATTRIBUTES = {"h1": {"align"}, "h2": {"align"}, "h3": {"align"}, "p": {"align", "class"}, "table": {"border", "width"},
              "td": {"width", "colspan", "align"}, "th": {"width", "colspan", "align"}}
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
PARTY_KIND = {"citizen": "公民", "organization": "法人或者其他组织"}


def cn_date(value: Any) -> str:
    """``2026-03-02`` -> ``2026年3月2日``; an ISO date-time -> ``2026年12月5日9时30分`` (Beijing time)."""
    text = str(value or "")
    if _DATETIME.match(text):
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            return text
        if moment.tzinfo is not None:
            moment = moment.astimezone(clock.SHANGHAI)
        return f"{moment.year}年{moment.month}月{moment.day}日{moment.hour}时{moment.minute:02d}分"
    found = _DATE.match(text[:10]) if len(text) == 10 else None
    if found:
        return f"{int(found.group(1))}年{int(found.group(2))}月{int(found.group(3))}日"
    return text


def money_upper(value: Any) -> str:
    """An amount in 元 in capitals as the model forms write it (``伍仟元整``); "" when not an amount."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return ""
    return str(cn2an.an2cn(f"{value:.2f}".rstrip("0").rstrip("."), "rmb"))


def display(value: Any, enum_labels: Mapping[str, str] | None = None) -> str:
    """A value for reading: enum labels, Chinese dates, amounts with separators, lists joined by 、."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return f"{value:,.2f}" if value != int(value) else f"{int(value):,}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, list):
        return "、".join(display(v, enum_labels) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{k}：{display(v)}" for k, v in value.items())
    text = str(value)
    return cn_date(str((enum_labels or {}).get(text, text)))


def template_context(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """What a document template sees: escaped values and the ready-made blocks (see the module doc)."""
    form, data = snapshot.get("form") or {}, snapshot.get("data") or {}
    labels = snapshot.get("labels") or {}
    values = {**data, **form}
    document, case = snapshot.get("document") or {}, snapshot.get("case") or {}
    agency = {k: _e(v) for k, v in (snapshot.get("agency") or {}).items() if not isinstance(v, bool)}
    agency.setdefault("full_name", _e(case.get("agency_name", "")))
    party = {k: _e(v) for k, v in (snapshot.get("party") or {}).items() if not isinstance(v, bool)}
    party.setdefault("party_name", _e(case.get("party_name", "")))
    party["kind"] = PARTY_KIND.get(str(case.get("party_type")), "")
    doc = {k: _e(v) for k, v in document.items()}
    doc["issued_on"] = _e(cn_date(document.get("issued_on", "")))
    issued_on = cn_date(form.get("decision_issued_on") or form.get("demand_issued_on") or str(form.get("decided_at") or "")[:10]
                        or document.get("issued_on", ""))
    context = {
        "agency": agency, "party": party, "doc": doc,
        "case": {"number": _e(case.get("number", "")), "unit": _e(case.get("unit", "")),
                 "opened_on": _e(cn_date(case.get("opened_on", ""))), "procedure": _e(case.get("procedure", ""))},
        "f": {k: _e(display(v, (labels.get(k) or {}).get("enum"))) for k, v in values.items()},
        # ``s.<field>``: the same text without its closing punctuation, for a sentence that adds its own。
        "s": {k: _e(display(v, (labels.get(k) or {}).get("enum")).rstrip("。；;，,.、 \n")) for k, v in values.items()},
        "raw": {k: (_e(v) if isinstance(v, str) else v) for k, v in values.items() if isinstance(v, str | int | float | bool)},
        "upper": {k: money_upper(v) for k, v in values.items() if isinstance(v, int | float) and not isinstance(v, bool)},
        "fields": [(_e((labels.get(k) or {}).get("title") or k), _e(display(form[k], (labels.get(k) or {}).get("enum"))))
                   for k in form],
        "earlier": {k: _e(v) for k, v in (snapshot.get("earlier") or {}).items()},
        "serves": {k: _e(v) for k, v in (snapshot.get("serves") or {}).items()},
        "task_name": _e((snapshot.get("task") or {}).get("name", "")),
        "officer": _e((snapshot.get("task") or {}).get("officer", "")),
        "blank": BLANK,
    }
    context["header"] = (f'<h1 align="center">{agency["full_name"]}</h1>\n<h2 align="center">{doc.get("type", "")}</h2>\n'
                         f'<p align="right">{doc.get("number", "")}</p>')
    context["party_block"] = _party_block(party, case)
    context["signature"] = f'<p align="right" class="signature">{agency["full_name"]}（印章）<br>{_e(issued_on)}</p>'
    context["party_signature"] = "<p>当事人（签名或者盖章）：＿＿＿＿＿＿　　＿＿＿＿年＿＿月＿＿日</p>"
    return context


def _party_block(party: Mapping[str, str], case: Mapping[str, Any]) -> str:
    lines = [f"当事人：{party.get('party_name', '')}"]
    if case.get("party_type") == "organization":
        lines.append(f"统一社会信用代码：{party.get('party_credit_code') or party.get('party_id_masked') or BLANK}")
        lines.append(f"住所：{party.get('party_address') or BLANK}")
        lines.append(f"法定代表人（负责人）：{party.get('party_legal_rep') or BLANK}")
        if party.get("party_contact"):
            lines.append(f"联系人及联系方式：{party['party_contact']}")
    else:
        id_type = party.get("party_id_type") or "身份证件"
        lines.append(f"{id_type}号码：{party.get('party_id_masked') or BLANK}")
        lines.append(f"住址：{party.get('party_address') or BLANK}")
        if party.get("party_phone"):
            lines.append(f"联系电话：{party['party_phone']}")
    return '<p align="left">' + "<br>".join(lines) + "</p>"


def _e(value: Any) -> str:
    return str(escape("" if value is None else value))


def shipped_source(template: str) -> str:
    """The shipped text of a template file (engine/documents/templates/<name>)."""
    path = (TEMPLATES / template).resolve()
    if path.parent != TEMPLATES or not path.is_file():
        path = TEMPLATES / "generic.html"
    return path.read_text(encoding="utf-8")


def render_content(source: str, snapshot: Mapping[str, Any]) -> str:
    """The cleaned HTML fragment of one document from a template ``source`` and its data snapshot."""
    html = render_instructions_text(source, template_context(snapshot))
    return clean(html)


def clean(html: str) -> str:
    """Only the markup the print view and the PDF writer understand survives; runs of blank lines go."""
    cleaned = nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, link_rel=None, attribute_filter=_keep_attribute)
    return re.sub(r"\n\s*\n+", "\n", cleaned).strip() + "\n"


def _keep_attribute(tag: str, name: str, value: str) -> str | None:
    """The one class kept: the organ's signature line, where the print view puts the seal."""
    if name == "class":
        return value if tag == "p" and value == "signature" else None
    return value


def template_problems(source: str, required: list[str]) -> list[str]:
    """Why ``source`` may not be used for a type needing ``required`` fields (empty: it may).

    Syntax, unknown filters and unbounded constructs come from the instructions lint; a required field
    (``agency.review_organ``, ``f.decided_fine``, ``party_block``…) is present when the template reads it.
    """
    problems = [f"第{line}行：{message}" if line else message for line, message in check_instructions(source)]
    if problems:
        return problems
    used = used_names(source)
    # A field read as text (f.x), as a sentence part (s.x), as entered (raw.x) or in capitals (upper.x) is used.
    used |= {"f." + name.split(".", 1)[1] for name in used if name.split(".", 1)[0] in ("s", "raw", "upper") and "." in name}
    return [f"缺少必需字段 {name} (required field {name} is missing)" for name in required if name not in used]


def used_names(source: str) -> set[str]:
    """Every name and dotted attribute path the template reads (``f.decided_fine`` and ``f``)."""
    found: set[str] = set()
    for node in ENVIRONMENT.parse_unbounded(source).find_all((nodes.Getattr, nodes.Getitem, nodes.Name)):
        path = _path(node)
        if path:
            found.add(path)
    return found


def _path(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Name):
        return str(node.name)
    if isinstance(node, nodes.Getattr):
        base = _path(node.node)
        return f"{base}.{node.attr}" if base else None
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        base = _path(node.node)
        return f"{base}.{node.arg.value}" if base else None
    return None
