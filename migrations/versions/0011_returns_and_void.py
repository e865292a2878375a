"""returns and void: why a task came back (``task.returned_because``) and documents voided (作废)

A gateway that sends work back names its reason in the task the officer lands on; the 文书 issued on
the refused path are marked void, with the reason, and stay in the record and its hash chain (the
document's own hash covers neither column, so it is unchanged).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10 10:00:00

"""
import sqlalchemy as sa
from alembic import op

from engine.db.session import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("returned_because", sa.Text(), nullable=True))
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.add_column(sa.Column("voided_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("void_reason", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.drop_column("void_reason")
        batch_op.drop_column("voided_at")
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_column("returned_because")
