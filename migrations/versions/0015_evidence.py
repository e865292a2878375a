"""evidence (placeholder: filled in by the work that owns it)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 04:00:00

"""

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
