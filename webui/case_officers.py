"""The case page's officers panel: designated handlers, 回避 requests and decisions, and which of
these actions the user may take now (the engine decides; the page only offers what it would accept)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from engine import clock
from engine.models import Case, Document, Recusal, User
from engine.policy.access import CREDENTIAL_FOR_ROLE, HANDLER_ROLE, case_facts, conflict_in_case, standing, unit_officers
from engine.policy.officers import DESIGNATOR_ROLE, designated_handlers
from engine.policy.roles import LANE_ROLES
from engine.runtime.recusal import DECIDER_ROLE, handlers_short, recusals_of

SOURCE_LABELS = {"party": _l("当事人申请回避"), "self": _l("执法人员自行回避")}
STATUS_LABELS = {"pending": _l("待决定"), "granted": _l("决定回避"), "rejected": _l("决定不予回避")}
OPEN = ("open", "suspended")


@dataclass(frozen=True)
class OfficersPanel:
    handlers: list[User]
    handlers_short: bool  # filed, but fewer than two designated handlers remain (法 Art. 42)
    recusals: list[Recusal]
    documents: dict[str, int]  # 回避决定书 number -> document id
    officers: list[User]  # whom a recusal may name: the unit's officers
    handler_choices: list[User]  # whom the unit head may designate
    can_request: bool
    can_decide: bool
    can_designate: bool
    heads: set[int]  # officers whose recusal the agency heads decide collectively
    today: str
    source_labels: dict[str, Any]
    status_labels: dict[str, Any]


def officers_panel(user: User, case: Case, documents: list[Document]) -> OfficersPanel:
    facts = case_facts([case.id])
    recused = (case.id, user.id) in facts.recused
    handlers = designated_handlers(case.id)
    filed = bool(handlers) or any(key[0] == case.id and key[1] == "assigned_handlers" for key in facts.designated)
    officers = [u for u in unit_officers(case.unit_id) if u.has_role(*LANE_ROLES)]
    today = clock.today_shanghai()
    live = case.status in OPEN
    can_designate = live and filed and not recused and user.has_role(DESIGNATOR_ROLE) and user.unit_id == case.unit_id
    choices = [u for u in officers if standing(u, case.unit_id, HANDLER_ROLE, CREDENTIAL_FOR_ROLE[HANDLER_ROLE], today) is None
               and conflict_in_case(u, case.id, facts) is None] if can_designate else []
    return OfficersPanel(
        handlers=handlers, handlers_short=filed and handlers_short(case.id), recusals=recusals_of(case.id),
        documents={d.number: d.id for d in documents if d.doc_type == "回避决定书"},
        officers=officers, handler_choices=choices,
        can_request=live and not recused and user.has_role(*LANE_ROLES) and user.unit_id == case.unit_id,
        can_decide=live and not recused and user.has_role(DECIDER_ROLE) and user.unit_id == case.unit_id,
        can_designate=can_designate, heads={u.id for u in officers if u.has_role(DECIDER_ROLE)},
        today=today.isoformat(), source_labels=SOURCE_LABELS, status_labels=STATUS_LABELS,
    )
