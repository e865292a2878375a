"""evidence items (证据: photos, recordings, video, scans) and resumable uploads (issue 16)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 04:00:00

"""
import sqlalchemy as sa
from alembic import op

from engine.db.session import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("collected_by", sa.String(length=200), nullable=False),
        sa.Column("collected_at", UTCDateTime(), nullable=True),
        sa.Column("collected_place", sa.String(length=300), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("registered_by", sa.String(length=80), nullable=False),
        sa.Column("registered_at", UTCDateTime(), nullable=False),
        sa.Column("withdrawn_at", UTCDateTime(), nullable=True),
        sa.Column("withdrawn_by", sa.String(length=80), nullable=True),
        sa.Column("withdraw_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_evidence_case_id_case")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence")),
        sa.UniqueConstraint("case_id", "seq", name=op.f("uq_evidence_case_id")),
    )
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_evidence_task_id"), ["task_id"], unique=False)
        batch_op.create_index("ix_evidence_sha256", ["sha256"], unique=False)
    op.create_table(
        "evidence_upload",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("collected_by", sa.String(length=200), nullable=False),
        sa.Column("collected_at", UTCDateTime(), nullable=True),
        sa.Column("collected_place", sa.String(length=300), nullable=False),
        sa.Column("declared_size", sa.BigInteger(), nullable=False),
        sa.Column("declared_sha256", sa.String(length=64), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("evidence_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_evidence_upload_case_id_case")),
        sa.ForeignKeyConstraint(["evidence_id"], ["evidence.id"], name=op.f("fk_evidence_upload_evidence_id_evidence")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_upload")),
    )
    with op.batch_alter_table("evidence_upload", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_upload_case_id"), ["case_id"], unique=False)


def downgrade():
    with op.batch_alter_table("evidence_upload", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_upload_case_id"))
    op.drop_table("evidence_upload")
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_index("ix_evidence_sha256")
        batch_op.drop_index(batch_op.f("ix_evidence_task_id"))
        batch_op.drop_index(batch_op.f("ix_evidence_case_id"))
    op.drop_table("evidence")
