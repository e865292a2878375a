"""task start points: the recorded date a task's period counts from (counts_from, counts_from_label, starts_on, extended_by)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("counts_from", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("counts_from_label", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("starts_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("extended_by", sa.String(length=80), nullable=True))


def downgrade():
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_column("extended_by")
        batch_op.drop_column("starts_on")
        batch_op.drop_column("counts_from_label")
        batch_op.drop_column("counts_from")
