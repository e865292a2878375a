"""agencies (行政机关) as the issuers of documents; complete party details on cases

Backfill: one agency per short name the top-level units number with today (units that share a
short name share a document sequence, so they are one organ), named after the first such unit;
every unit joins the agency of its top-level unit. Administrators then complete the agency's
full name, 复议机关, court and payment settings in the admin UI.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 04:00:00

"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

from engine.db.session import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

PARTY_COLUMNS = (
    ("party_id_type", 30), ("party_id_number", 40), ("party_address", 300), ("party_phone", 40),
    ("party_credit_code", 18), ("party_legal_rep", 100), ("party_contact", 200), ("e_service_address", 200),
)


def upgrade():
    op.create_table(
        "agency",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("short_name", sa.String(length=40), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("postal_code", sa.String(length=10), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("seal_png", sa.LargeBinary(), nullable=True),
        sa.Column("review_organ", sa.String(length=200), nullable=False),
        sa.Column("court", sa.String(length=200), nullable=False),
        sa.Column("payment_place", sa.String(length=200), nullable=False),
        sa.Column("payment_account_name", sa.String(length=200), nullable=False),
        sa.Column("payment_account", sa.String(length=60), nullable=False),
        sa.Column("doc_patterns", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency")),
        sa.UniqueConstraint("code", name=op.f("uq_agency_code")),
        sa.UniqueConstraint("short_name", name=op.f("uq_agency_short_name")),
    )
    if op.get_bind().dialect.name == "sqlite":
        # ADD COLUMN with its REFERENCES: rebuilding org_unit (batch mode) would drop a table that
        # cases and users refer to, which SQLite refuses while foreign keys are enforced.
        op.execute("ALTER TABLE org_unit ADD COLUMN agency_id INTEGER "
                   "CONSTRAINT fk_org_unit_agency_id_agency REFERENCES agency (id)")
    else:
        op.add_column("org_unit", sa.Column("agency_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f("fk_org_unit_agency_id_agency"), "org_unit", "agency", ["agency_id"], ["id"])
    op.create_index(op.f("ix_org_unit_agency_id"), "org_unit", ["agency_id"], unique=False)
    # Plain ADD COLUMN (a default fills the existing rows): no rebuild of a table every case row hangs on.
    for name, length in PARTY_COLUMNS:
        op.add_column("case", sa.Column(name, sa.String(length=length), nullable=False, server_default=""))
    op.add_column("case", sa.Column("e_service_consent", sa.Boolean(), nullable=False, server_default=sa.false()))
    _backfill_agencies()


def _backfill_agencies():
    conn = op.get_bind()
    unit = sa.table("org_unit", sa.column("id", sa.Integer), sa.column("code", sa.String), sa.column("name", sa.String),
                    sa.column("agency_short_name", sa.String), sa.column("parent_id", sa.Integer),
                    sa.column("agency_id", sa.Integer))
    agency = sa.table("agency", *(sa.column(c, sa.String) for c in (
        "code", "full_name", "short_name", "address", "postal_code", "phone", "review_organ", "court", "payment_place",
        "payment_account_name", "payment_account", "updated_by")), sa.column("id", sa.Integer), sa.column("doc_patterns", sa.JSON),
        sa.column("updated_at", UTCDateTime()))
    rows = conn.execute(sa.select(unit.c.id, unit.c.code, unit.c.name, unit.c.agency_short_name, unit.c.parent_id)
                        .order_by(unit.c.id)).all()
    parents = {r.id: r.parent_id for r in rows}

    def root(unit_id):
        seen = set()
        while parents.get(unit_id) is not None and unit_id not in seen:  # a cycle is impossible, but never loop
            seen.add(unit_id)
            unit_id = parents[unit_id]
        return unit_id

    by_short_name = {}
    now = dt.datetime.now(dt.UTC)
    for r in rows:
        if r.parent_id is not None:
            continue
        short_name = r.agency_short_name or r.code
        if short_name in by_short_name:
            continue
        values = {k: "" for k in ("address", "postal_code", "phone", "review_organ", "court", "payment_place",
                                  "payment_account_name", "payment_account")}
        conn.execute(agency.insert().values(code=r.code[:40], full_name=r.name, short_name=short_name[:40], doc_patterns={},
                                            updated_by="migration", updated_at=now, **values))
        by_short_name[short_name] = conn.execute(sa.select(agency.c.id).where(agency.c.code == r.code[:40])).scalar_one()
    short_names = {r.id: r.agency_short_name or r.code for r in rows}
    for r in rows:
        agency_id = by_short_name.get(short_names[root(r.id)])
        if agency_id is not None:
            conn.execute(unit.update().where(unit.c.id == r.id).values(agency_id=agency_id))


def _foreign_keys(on):
    """SQLite drops a column by rebuilding its table (copy, drop, rename), and refuses to drop a table
    others refer to while foreign keys are enforced; the pragma is read only outside a transaction."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute("COMMIT")
        op.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")
        op.execute("BEGIN")


def downgrade():
    _foreign_keys(False)
    with op.batch_alter_table("case", schema=None) as batch_op:
        for name, _length in PARTY_COLUMNS:
            batch_op.drop_column(name)
        batch_op.drop_column("e_service_consent")
    op.drop_index(op.f("ix_org_unit_agency_id"), table_name="org_unit")
    with op.batch_alter_table("org_unit", schema=None) as batch_op:
        if op.get_bind().dialect.name != "sqlite":  # SQLite's rebuild leaves the constraint out with the column
            batch_op.drop_constraint(batch_op.f("fk_org_unit_agency_id_agency"), type_="foreignkey")
        batch_op.drop_column("agency_id")
    op.drop_table("agency")
    _foreign_keys(True)
