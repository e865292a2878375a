"""form number ranges: 号段 of pre-numbered on-the-spot decision forms, and every number spent

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 10:00:00

"""
import sqlalchemy as sa
from alembic import op

from engine.db.session import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "form_number_range",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=40), nullable=False),
        sa.Column("first", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("holder_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("allocated_by", sa.String(length=80), nullable=False),
        sa.Column("allocated_at", UTCDateTime(), nullable=False),
        sa.Column("withdrawn_by", sa.String(length=80), nullable=True),
        sa.Column("withdrawn_at", UTCDateTime(), nullable=True),
        sa.Column("withdraw_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["holder_id"], ["user.id"], name=op.f("fk_form_number_range_holder_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_number_range")),
    )
    with op.batch_alter_table("form_number_range", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_form_number_range_holder_id"), ["holder_id"], unique=False)
    op.create_table(
        "form_number",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("range_id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=40), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_form_number_case_id_case")),
        sa.ForeignKeyConstraint(["range_id"], ["form_number_range.id"],
                                name=op.f("fk_form_number_range_id_form_number_range")),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_form_number_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_number")),
        sa.UniqueConstraint("prefix", "serial", name=op.f("uq_form_number_prefix")),
    )
    with op.batch_alter_table("form_number", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_form_number_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_form_number_range_id"), ["range_id"], unique=False)


def downgrade():
    with op.batch_alter_table("form_number", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_form_number_range_id"))
        batch_op.drop_index(batch_op.f("ix_form_number_case_id"))
    op.drop_table("form_number")
    with op.batch_alter_table("form_number_range", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_form_number_range_holder_id"))
    op.drop_table("form_number_range")
