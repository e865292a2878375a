"""provisional (暂定) deadlines: tasks, case clocks and timers counted through a year without a holiday notice

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 09:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_provisional", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index("ix_task_status_provisional", ["status", "due_provisional"], unique=False)
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("clock_provisional", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index("ix_case_clock_provisional", ["clock_provisional"], unique=False)
    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("timers_provisional", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index("ix_process_instance_timers_provisional", ["timers_provisional"], unique=False)


def downgrade():
    with op.batch_alter_table("process_instance", schema=None) as batch_op:
        batch_op.drop_index("ix_process_instance_timers_provisional")
        batch_op.drop_column("timers_provisional")
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_index("ix_case_clock_provisional")
        batch_op.drop_column("clock_provisional")
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index("ix_task_status_provisional")
        batch_op.drop_column("due_provisional")
