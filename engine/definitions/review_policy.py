"""Whether a deployment needs a second person (四眼原则): the rule, written down once.

A designer's change to the procedure library changes how every new case is handled, so in
production it takes two people: the designer submits, a legal reviewer (法制审核) or an administrator
approves (engine/definitions/review.py). Which installations require it, in this order:

1. the administrator's stored setting (``review_settings.required``, audited), when set;
2. else the environment variable ``ZHIFA_DEPLOYMENT_REVIEW`` (``1``/``on`` or ``0``/``off``);
3. else ON when ``ZHIFA_ENV=production`` or the database is PostgreSQL (a real installation), and
   OFF on the embedded SQLite demo, where the README's "deploy and try it" and
   ``POST /api/v1/deployments`` (activates at once, ARCHITECTURE.md) keep working as documented.

The platform's operator (``zhifa deploy``, the start-up deploy of the shipped library) is not a
designer and is never asked for review: it holds the database anyway.
"""

from __future__ import annotations

import os
from typing import Any

from engine import clock
from engine.db.command import command
from engine.errors import InvalidInput
from engine.models import ReviewSettings, db
from engine.policy.actor import Actor
from engine.policy.permissions import require
from engine.record import audit

ENV = "ZHIFA_DEPLOYMENT_REVIEW"
_ON, _OFF = ("1", "true", "on", "yes"), ("0", "false", "off", "no")


def review_required() -> bool:
    return review_setting()["required"]


def review_setting() -> dict[str, Any]:
    """The effective rule and where it comes from: ``setting`` (administrator), ``environment`` or ``default``."""
    row = db.session.get(ReviewSettings, 1)
    if row is not None and row.required is not None:
        return {"required": bool(row.required), "source": "setting", "updated_by": row.updated_by, "updated_at": row.updated_at}
    value = os.environ.get(ENV, "").strip().lower()
    if value in _ON + _OFF:
        return {"required": value in _ON, "source": "environment", "updated_by": None, "updated_at": None}
    production = os.environ.get("ZHIFA_ENV", "").strip().lower() == "production"
    return {"required": production or db.session.connection().dialect.name == "postgresql", "source": "default",
            "updated_by": None, "updated_at": None}


@command
def set_review_required(actor: Actor, required: bool | None) -> dict[str, Any]:
    """Store the administrator's choice (``None``: back to the environment's default); audited."""
    require(actor, "procedure.review_settings")
    if required is not None and not isinstance(required, bool):
        raise InvalidInput("required 须为 true、false 或 null (required must be true, false or null)")
    before = review_setting()
    row = db.session.get(ReviewSettings, 1)
    if row is None:
        row = ReviewSettings(id=1)
        db.session.add(row)
    row.required, row.updated_by, row.updated_at = required, actor.username, clock.now()
    db.session.flush()
    after = review_setting()
    audit.record("deployment_review.configured", actor.username,
                 {"required": required, "effective": after["required"], "was": before["required"]})
    return after
