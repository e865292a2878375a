"""clock pauses: the case clock's uncounted periods as intervals (中止, hearing, 检测/检验/检疫/鉴定, 公告)

Existing cases get their intervals back from their audit chains: every pause and resume of the
clock was recorded there (``case.clock_pause`` / ``case.clock_resume`` with the date), so the
intervals are facts, not guesses. ``case.paused_days`` keeps its meaning: the days of their union.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 10:00:00

"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

from engine.db.session import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "clock_pause",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("started_by", sa.String(length=80), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ended_by", sa.String(length=80), nullable=True),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_clock_pause_case_id_case")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clock_pause")),
        sa.UniqueConstraint("case_id", "seq", name=op.f("uq_clock_pause_case_id")),
    )
    with op.batch_alter_table("clock_pause", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_clock_pause_case_id"), ["case_id"], unique=False)
    _intervals_from_audit()


def downgrade():
    with op.batch_alter_table("clock_pause", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clock_pause_case_id"))
    op.drop_table("clock_pause")


def _intervals_from_audit():
    conn = op.get_bind()
    events = sa.table("audit_event", sa.column("case_id", sa.Integer), sa.column("seq", sa.Integer),
                      sa.column("action", sa.String), sa.column("actor", sa.String), sa.column("at", UTCDateTime()),
                      sa.column("data", sa.JSON))
    pauses = sa.table("clock_pause", *(sa.column(c) for c in (
        "case_id", "seq", "kind", "started_on", "ended_on", "description", "started_by", "started_at", "ended_by",
        "ended_at")))
    rows = conn.execute(sa.select(events.c.case_id, events.c.action, events.c.actor, events.c.at, events.c.data)
                        .where(events.c.action.in_(("case.clock_pause", "case.clock_resume")))
                        .order_by(events.c.case_id, events.c.seq))
    open_by_case: dict[int, dict] = {}
    out: list[dict] = []
    count: dict[int, int] = {}
    for case_id, action, actor, at, data in rows:
        data = data if isinstance(data, dict) else {}
        try:
            on = dt.date.fromisoformat(str(data.get("on"))[:10])
        except ValueError:
            continue
        if action == "case.clock_pause" and case_id not in open_by_case:
            count[case_id] = count.get(case_id, 0) + 1
            why = str(data.get("why") or "")
            row = {"case_id": case_id, "seq": count[case_id], "kind": "suspension" if why.startswith("中止") else "procedure",
                   "started_on": on, "ended_on": None, "description": why, "started_by": actor, "started_at": at,
                   "ended_by": None, "ended_at": None}
            open_by_case[case_id] = row
            out.append(row)
        elif action == "case.clock_resume" and case_id in open_by_case:
            row = open_by_case.pop(case_id)
            row.update(ended_on=max(on, row["started_on"]), ended_by=actor, ended_at=at)
    if out:
        conn.execute(pauses.insert(), out)
