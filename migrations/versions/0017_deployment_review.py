"""deployment review (issue 18): four-eyes deployment — submitted library versions waiting for
approval, their files, and the administrator's setting whether review is required

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 07:00:00

"""
import sqlalchemy as sa
from alembic import op

from engine.db.session import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "deployment_submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("base_deployment_id", sa.Integer(), nullable=True),
        sa.Column("bundle_hash", sa.String(length=64), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("submitted_by", sa.String(length=80), nullable=False),
        sa.Column("submitted_at", UTCDateTime(), nullable=False),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("deployment_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["deployment_id"], ["deployment.id"], name=op.f("fk_deployment_submission_deployment_id_deployment")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployment_submission")),
    )
    op.create_index("ix_deployment_submission_status", "deployment_submission", ["status", "submitted_at"], unique=False)
    op.create_table(
        "deployment_submission_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["submission_id"], ["deployment_submission.id"],
                                name=op.f("fk_deployment_submission_file_submission_id_deployment_submission")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployment_submission_file")),
        sa.UniqueConstraint("submission_id", "path", name=op.f("uq_deployment_submission_file_submission_id")),
    )
    op.create_index(op.f("ix_deployment_submission_file_submission_id"), "deployment_submission_file", ["submission_id"], unique=False)
    op.create_table(
        "review_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=True),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_settings")),
    )


def downgrade():
    op.drop_table("review_settings")
    op.drop_index(op.f("ix_deployment_submission_file_submission_id"), table_name="deployment_submission_file")
    op.drop_table("deployment_submission_file")
    op.drop_index("ix_deployment_submission_status", table_name="deployment_submission")
    op.drop_table("deployment_submission")
