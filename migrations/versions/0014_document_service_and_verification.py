"""document_service_and_verification (placeholder: filled in by the work that owns it)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 04:00:00

"""

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
