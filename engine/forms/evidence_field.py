"""``x-widget: evidence`` fields: a task form that requires evidence (照片, 录像 …) of the case.

The field is an array of evidence ids (``{"type": "array", "items": {"type": "integer"}, "x-widget": "evidence",
"x-kinds": ["photo", "video"], "minItems": 1}``). JSON Schema checks the shape and ``minItems``; what it cannot
see is checked here when the task completes, for the page and the API alike: every id names an item of THIS
case (another case's evidence proves nothing here), none was withdrawn (撤回 means it is no longer relied on),
and each is of a kind the field accepts. A refusal names the item and says what to do.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.models import Case, db
from engine.models.evidence import Evidence

# engine.evidence.sniff.KINDS, repeated because forms sit below the evidence layer (tests/test_layers.py)
KIND_LABELS = {"photo": "照片", "audio": "录音", "video": "录像", "scan": "书证扫描件", "electronic": "电子数据", "other": "其他"}


def evidence_problem(case: Case, prop: dict[str, Any], value: Any) -> str | None:
    """Why ``value`` (the submitted ids) may not stand in this field of ``case``'s task; None when it may."""
    if not isinstance(value, list):
        return None  # the schema already refused it
    ids = [v for v in value if isinstance(v, int) and not isinstance(v, bool)]
    found = {e.id: e for e in db.session.scalars(select(Evidence).where(Evidence.id.in_(ids)))} if ids else {}
    kinds = [str(k) for k in prop.get("x-kinds") or []]
    problems: list[str] = []
    for evidence_id in ids:
        item = found.get(evidence_id)
        if item is None or item.case_id != case.id:
            problems.append(f"证据（编号 {evidence_id}）不是本案的证据，请只选择本案已登记的证据 "
                            f"(evidence {evidence_id} is not of this case)")
        elif item.withdrawn:
            problems.append(f"证据 {item.seq} 已撤回（{item.withdraw_reason}），不能再作为本项依据，请取消勾选或登记新的证据 "
                            f"(evidence {item.seq} was withdrawn)")
        elif kinds and item.kind not in kinds:
            allowed = "、".join(KIND_LABELS.get(k, k) for k in kinds)
            problems.append(f"证据 {item.seq} 是{KIND_LABELS.get(item.kind, item.kind)}，本项只接受{allowed}，请选择相应种类的证据 "
                            f"(evidence {item.seq} is {item.kind}; this field accepts {', '.join(kinds)})")
    return "；".join(problems) or None
