"""agencies_and_parties (placeholder: filled in by the work that owns it)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 04:00:00

"""

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
