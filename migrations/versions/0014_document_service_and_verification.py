"""document_service_and_verification: service facts attached to documents, 核验码, 已更正, editable texts

- ``document.verify_code``: the short unguessable code of /verify/<code> (existing documents get one);
- ``document.serves_id``: a 送达回证 names the document it is the receipt of;
- ``document.superseded_by_id`` / ``superseded_at``: 已更正 (a later document replaced this one);
- ``document_service``: 送达 recorded after the document was printed and handed over;
- ``document_template``: administrators' texts per document type (history kept).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 04:00:00

"""
import secrets

import sqlalchemy as sa
from alembic import op

from engine.db.session import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def upgrade():
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verify_code", sa.String(16), nullable=True))
        batch_op.add_column(sa.Column("serves_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("superseded_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("superseded_at", UTCDateTime(), nullable=True))
        batch_op.create_unique_constraint("uq_document_verify_code", ["verify_code"])
        batch_op.create_foreign_key("fk_document_serves", "document", ["serves_id"], ["id"])
        batch_op.create_foreign_key("fk_document_superseded_by", "document", ["superseded_by_id"], ["id"])
    conn = op.get_bind()
    ids = [row[0] for row in conn.execute(sa.text("SELECT id FROM document"))]
    for document_id in ids:
        code = "".join(secrets.choice(ALPHABET) for _ in range(10))
        conn.execute(sa.text("UPDATE document SET verify_code = :code WHERE id = :id"), {"code": code, "id": document_id})
    op.create_table(
        "document_service",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("document_id", sa.Integer(), sa.ForeignKey("document.id"), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("case.id"), nullable=False),
        sa.Column("task_id", sa.String(36), nullable=True),
        sa.Column("method", sa.String(40), nullable=False),
        sa.Column("method_label", sa.String(60), nullable=False),
        sa.Column("served_on", sa.String(10), nullable=False),
        sa.Column("effective_on", sa.String(10), nullable=True),
        sa.Column("recipient", sa.String(200), nullable=False),
        sa.Column("address", sa.String(300), nullable=False),
        sa.Column("witness", sa.String(200), nullable=False),
        sa.Column("recorded_by", sa.String(80), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_document_service_document_id", "document_service", ["document_id"])
    op.create_index("ix_document_service_case_id", "document_service", ["case_id"])
    op.create_table(
        "document_template",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("doc_type", sa.String(40), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_document_template_doc_type", "document_template", ["doc_type"])


def downgrade():
    op.drop_index("ix_document_template_doc_type", table_name="document_template")
    op.drop_table("document_template")
    op.drop_index("ix_document_service_case_id", table_name="document_service")
    op.drop_index("ix_document_service_document_id", table_name="document_service")
    op.drop_table("document_service")
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.drop_constraint("fk_document_superseded_by", type_="foreignkey")
        batch_op.drop_constraint("fk_document_serves", type_="foreignkey")
        batch_op.drop_constraint("uq_document_verify_code", type_="unique")
        batch_op.drop_column("superseded_at")
        batch_op.drop_column("superseded_by_id")
        batch_op.drop_column("serves_id")
        batch_op.drop_column("verify_code")
