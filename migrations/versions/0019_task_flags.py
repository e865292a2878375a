"""task flags: a pool step's pending offer (was the task_offer_pending table) and whether it has
暂存 drafts, so that a case start and a completion send no statement for either

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 10:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("task") as batch:
        batch.add_column(sa.Column("offer_pending", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("has_draft", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute("UPDATE task SET offer_pending = true WHERE id IN (SELECT task_id FROM task_offer_pending)")
    op.execute("UPDATE task SET has_draft = true WHERE id IN (SELECT task_id FROM task_draft)")
    op.create_index("ix_task_offer_pending", "task", ["id"], unique=False,
                    postgresql_where=sa.text("offer_pending"), sqlite_where=sa.text("offer_pending = 1"))
    op.drop_table("task_offer_pending")


def downgrade():
    op.create_table(
        "task_offer_pending",
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_task_offer_pending")),
    )
    op.execute("INSERT INTO task_offer_pending (task_id) SELECT id FROM task WHERE offer_pending = true")
    op.drop_index("ix_task_offer_pending", table_name="task")
    with op.batch_alter_table("task") as batch:
        batch.drop_column("has_draft")
        batch.drop_column("offer_pending")
