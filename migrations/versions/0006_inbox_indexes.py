"""inbox indexes in list order: a page of 25 is read in index order, never sorted out of 100,000

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 17:55:00

"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_task_unit_status_due", "task", ["unit_id", "status", "due_at", "created_at"])
    op.create_index("ix_task_assignee_status_due", "task", ["assignee_id", "status", "due_at", "created_at"])
    op.drop_index("ix_task_assignee_status", table_name="task")


def downgrade():
    op.create_index("ix_task_assignee_status", "task", ["assignee_id", "status"])
    op.drop_index("ix_task_assignee_status_due", table_name="task")
    op.drop_index("ix_task_unit_status_due", table_name="task")
