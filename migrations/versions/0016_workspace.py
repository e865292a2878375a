"""workspace (issue 17): case search projection and its full-text indexes, comments (办理意见), task
drafts (暂存), notification delivery (e-mail digest, webhook)

SQLite: FTS5 ``trigram`` over the search text and FTS5 over its characters and character bigrams
(1- and 2-character Chinese substrings), kept in step by triggers. PostgreSQL: ``pg_trgm`` GIN index
for ILIKE, and a GIN index over the gram tokens.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 04:00:00

"""
import sqlalchemy as sa
from alembic import op

from engine.db.session import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE case_search_fts USING fts5(text, content='case_search', content_rowid='case_id', tokenize='trigram')",
    "CREATE VIRTUAL TABLE case_search_grams USING fts5(grams, content='case_search', content_rowid='case_id', tokenize='ascii')",
    """CREATE TRIGGER case_search_ai AFTER INSERT ON case_search BEGIN
         INSERT INTO case_search_fts(rowid, text) VALUES (new.case_id, new.text);
         INSERT INTO case_search_grams(rowid, grams) VALUES (new.case_id, new.grams);
       END""",
    """CREATE TRIGGER case_search_ad AFTER DELETE ON case_search BEGIN
         INSERT INTO case_search_fts(case_search_fts, rowid, text) VALUES ('delete', old.case_id, old.text);
         INSERT INTO case_search_grams(case_search_grams, rowid, grams) VALUES ('delete', old.case_id, old.grams);
       END""",
    """CREATE TRIGGER case_search_au AFTER UPDATE ON case_search BEGIN
         INSERT INTO case_search_fts(case_search_fts, rowid, text) VALUES ('delete', old.case_id, old.text);
         INSERT INTO case_search_grams(case_search_grams, rowid, grams) VALUES ('delete', old.case_id, old.grams);
         INSERT INTO case_search_fts(rowid, text) VALUES (new.case_id, new.text);
         INSERT INTO case_search_grams(rowid, grams) VALUES (new.case_id, new.grams);
       END""",
]


def upgrade():
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("emailed_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("push_state", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("push_attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("push_next_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("push_error", sa.Text(), nullable=True))
        batch_op.create_index("ix_notification_emailed", ["emailed_at", "user_id"], unique=False)
        batch_op.create_index("ix_notification_push", ["push_state", "push_next_at"], unique=False)
    op.create_table(
        "notification_preference",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("digest", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_notification_preference_user_id_user"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notification_preference")),
    )
    op.create_table(
        "delivery_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email_enabled", sa.Boolean(), nullable=False),
        sa.Column("digest_minutes", sa.Integer(), nullable=False),
        sa.Column("smtp_host", sa.String(length=200), nullable=False),
        sa.Column("smtp_port", sa.Integer(), nullable=False),
        sa.Column("smtp_security", sa.String(length=10), nullable=False),
        sa.Column("smtp_username", sa.String(length=200), nullable=False),
        sa.Column("smtp_password", sa.String(length=200), nullable=False),
        sa.Column("smtp_sender", sa.String(length=254), nullable=False),
        sa.Column("last_digest_at", UTCDateTime(), nullable=True),
        sa.Column("digest_after_id", sa.Integer(), nullable=False),
        sa.Column("webhook_after_id", sa.Integer(), nullable=False),
        sa.Column("webhook_enabled", sa.Boolean(), nullable=False),
        sa.Column("webhook_url", sa.String(length=500), nullable=False),
        sa.Column("webhook_secret", sa.String(length=200), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_settings")),
    )
    op.create_table(
        "comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_comment_case_id_case")),
        sa.ForeignKeyConstraint(["author_id"], ["user.id"], name=op.f("fk_comment_author_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comment")),
    )
    op.create_index("ix_comment_case_created", "comment", ["case_id", "created_at"], unique=False)
    op.create_table(
        "task_draft",
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("saved_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_task_draft_user_id_user"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("task_id", "user_id", name=op.f("pk_task_draft")),
    )
    op.create_table(
        "case_search",
        sa.Column("case_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("procedure", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("grams", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_case_search_case_id_case"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_search")),
    )
    op.create_index("ix_case_search_unit_opened", "case_search", ["unit_id", "opened_at"], unique=False)
    op.create_index("ix_case_search_opened", "case_search", ["opened_at"], unique=False)
    op.create_table(
        "case_participant",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_case_participant_case_id_case"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_case_participant_user_id_user"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("case_id", "user_id", name=op.f("pk_case_participant")),
    )
    op.create_index("ix_case_participant_user", "case_participant", ["user_id", "case_id"], unique=False)
    op.create_table(
        "task_offer_pending",
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_task_offer_pending")),
    )
    op.create_table(
        "case_search_pending",
        sa.Column("case_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_search_pending")),
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE_FTS:
            op.execute(statement)
    elif bind.dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_case_search_text_trgm ON case_search USING gin (text gin_trgm_ops)")
        # 1- and 2-character queries have no trigram: they match a gram token (engine/models/search.py).
        # Stored (PostgreSQL 12+), not an expression index: the bitmap recheck then reads it instead of
        # tokenizing every candidate's grams again. Not in the model: PostgreSQL keeps it.
        op.execute("ALTER TABLE case_search ADD COLUMN grams_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', grams)) STORED")
        op.execute("CREATE INDEX ix_case_search_grams ON case_search USING gin (grams_tsv)")
    _backfill(bind)


def _backfill(bind: sa.Connection) -> None:
    """Existing cases get their search rows (in batches: an upgrade of a large database stays bounded)."""
    from engine.models.search import rebuild

    ids = [row[0] for row in bind.execute(sa.text('SELECT id FROM "case" ORDER BY id'))]
    for i in range(0, len(ids), 1000):
        rebuild(bind, ids[i:i + 1000])


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("case_search_ai", "case_search_ad", "case_search_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS case_search_fts")
        op.execute("DROP TABLE IF EXISTS case_search_grams")
    elif bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_case_search_text_trgm")
        op.execute("DROP INDEX IF EXISTS ix_case_search_grams")
        op.execute("ALTER TABLE case_search DROP COLUMN IF EXISTS grams_tsv")
    op.drop_index("ix_case_participant_user", table_name="case_participant")
    op.drop_table("case_search_pending")
    op.drop_table("task_offer_pending")
    op.drop_table("case_participant")
    op.drop_index("ix_case_search_opened", table_name="case_search")
    op.drop_index("ix_case_search_unit_opened", table_name="case_search")
    op.drop_table("case_search")
    op.drop_table("task_draft")
    op.drop_index("ix_comment_case_created", table_name="comment")
    op.drop_table("comment")
    op.drop_table("delivery_settings")
    op.drop_table("notification_preference")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_push")
        batch_op.drop_index("ix_notification_emailed")
        batch_op.drop_column("push_error")
        batch_op.drop_column("push_next_at")
        batch_op.drop_column("push_attempts")
        batch_op.drop_column("push_state")
        batch_op.drop_column("emailed_at")
