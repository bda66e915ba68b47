"""Partner brands, their signing keys and seen nonces, and points exchanged with them.

Also indexes ledger entries by ``ref``, so a settlement statement finds the entries of a day's
exchanges without reading the ledger.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

from persistence.tables import Id, UtcDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "partners",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("rate_points", sa.Integer, nullable=False),
        sa.Column("rate_partner_points", sa.Integer, nullable=False),
        sa.Column("fen_per_100_points", sa.Integer, nullable=False),
        sa.Column("daily_points_per_member", sa.BigInteger, nullable=False),
        sa.Column("daily_points", sa.BigInteger, nullable=False),
        sa.Column("confirm_minutes", sa.Integer, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "partner_keys",
        sa.Column("key_id", sa.String(40), primary_key=True),
        sa.Column("partner_code", sa.String(32), sa.ForeignKey("partners.code"), nullable=False),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("revoked_at", UtcDateTime, nullable=True),
    )
    op.create_table(
        "partner_nonces",
        sa.Column("key_id", sa.String(40), primary_key=True),
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("seen_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_partner_nonces_seen_at", "partner_nonces", ["seen_at"])
    op.create_table(
        "partner_exchanges",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("partner_code", sa.String(32), sa.ForeignKey("partners.code"), nullable=False),
        sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.Column("partner_points", sa.BigInteger, nullable=False),
        sa.Column("fen_per_100_points", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("partner_account", sa.String(64), nullable=True),
        sa.Column("partner_ref", sa.String(64), nullable=True),
        sa.Column("failure_reason", sa.String(200), nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
        sa.Column("resolved_at", UtcDateTime, nullable=True),
    )
    op.create_index("ix_partner_exchanges_partner", "partner_exchanges", ["partner_code", "id"])
    op.create_index("ix_partner_exchanges_member", "partner_exchanges", ["member_id", "id"])
    op.create_index("ix_partner_exchanges_day", "partner_exchanges", ["partner_code", "created_at"])
    op.create_index("ix_partner_exchanges_resolved", "partner_exchanges", ["partner_code", "resolved_at"])
    op.create_index("ix_partner_exchanges_pending", "partner_exchanges", ["status", "expires_at"])
    op.create_index("ix_ledger_entries_ref", "ledger_entries", ["ref"])


def downgrade() -> None:
    op.drop_index("ix_ledger_entries_ref", "ledger_entries")
    op.drop_table("partner_exchanges")
    op.drop_table("partner_nonces")
    op.drop_table("partner_keys")
    op.drop_table("partners")
