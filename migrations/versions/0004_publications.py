"""publications (公示) and the index dashboards read completed tasks by

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 17:20:00

"""
import sqlalchemy as sa
from alembic import op

from engine.db.session import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "publication",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("decision_number", sa.String(length=200), nullable=False),
        sa.Column("party", sa.String(length=200), nullable=False),
        sa.Column("violation", sa.Text(), nullable=False),
        sa.Column("penalty", sa.Text(), nullable=False),
        sa.Column("agency", sa.String(length=200), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("low_fine", sa.Boolean(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("withheld_reason", sa.String(length=200), nullable=True),
        sa.Column("due_by", UTCDateTime(), nullable=True),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("withdraw_requested_at", UTCDateTime(), nullable=True),
        sa.Column("withdraw_due_by", UTCDateTime(), nullable=True),
        sa.Column("withdraw_reason", sa.Text(), nullable=True),
        sa.Column("withdrawn_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_publication_case_id_case")),
        sa.ForeignKeyConstraint(["document_id"], ["document.id"], name=op.f("fk_publication_document_id_document")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publication")),
        sa.UniqueConstraint("document_id", name=op.f("uq_publication_document_id")),
    )
    op.create_index("ix_publication_case_id", "publication", ["case_id"])
    op.create_index("ix_publication_status_due", "publication", ["status", "due_by"])
    op.create_index("ix_publication_status_expires", "publication", ["status", "expires_at"])
    op.create_index("ix_publication_decided_on", "publication", ["decided_on"])
    op.create_index("ix_task_status_completed", "task", ["status", "completed_at"])
    op.create_index("ix_document_doc_type", "document", ["doc_type"])


def downgrade():
    op.drop_index("ix_document_doc_type", table_name="document")
    op.drop_index("ix_task_status_completed", table_name="task")
    op.drop_table("publication")
