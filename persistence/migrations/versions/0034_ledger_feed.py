"""The ledger change feed: on PostgreSQL each entry records the transaction that wrote it, so the
feed can show entries in transaction order and none of a transaction still running; entries already
there are transaction 0, in id order.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A constant default first: PostgreSQL adds the column without rewriting the ledger.
    op.add_column("ledger_entries", sa.Column("xact_id", sa.BigInteger, nullable=False, server_default="0"))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE ledger_entries ALTER COLUMN xact_id SET DEFAULT (pg_current_xact_id()::text::bigint)")
        op.create_index("ix_ledger_entries_feed", "ledger_entries", ["xact_id", "id"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_ledger_entries_feed", "ledger_entries")
    with op.batch_alter_table("ledger_entries") as batch:
        batch.drop_column("xact_id")
