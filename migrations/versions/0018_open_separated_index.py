"""open separated steps index: 可认领 checks separation of duty on the open steps that name one
(reviews, approvals) without reading the unit's other open steps

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 08:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

WHERE = "status = 'open' AND separate_from IS NOT NULL"


def upgrade():
    op.create_index("ix_task_open_separated", "task", ["unit_id"], unique=False,
                    postgresql_where=sa.text(WHERE), sqlite_where=sa.text(WHERE))


def downgrade():
    op.drop_index("ix_task_open_separated", table_name="task")
