"""recusal (回避, 法 Art. 43) requests and decisions; designations that end (re-designation, recusal)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10 10:00:00

"""
import sqlalchemy as sa
from alembic import op

from engine.db.session import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "recusal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=80), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("collective", sa.Boolean(), nullable=False),
        sa.Column("discussion_on", sa.Date(), nullable=True),
        sa.Column("discussion_record", sa.Text(), nullable=True),
        sa.Column("document_number", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_recusal_case_id_case")),
        sa.ForeignKeyConstraint(["officer_id"], ["user.id"], name=op.f("fk_recusal_officer_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recusal")),
        sa.UniqueConstraint("case_id", "seq", name=op.f("uq_recusal_case_id")),
    )
    with op.batch_alter_table("recusal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recusal_case_id"), ["case_id"], unique=False)
    with op.batch_alter_table("case_officer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ended_at", UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("case_officer", schema=None) as batch_op:
        batch_op.drop_column("ended_at")
    with op.batch_alter_table("recusal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recusal_case_id"))
    op.drop_table("recusal")
