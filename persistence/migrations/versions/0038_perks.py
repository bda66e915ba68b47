"""Tier perks the system delivers: monthly grants kept once per member, perk and month, and a tier's
members found by an index.

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

from persistence.tables import UtcDateTime

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bigint = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "perk_grants",
        sa.Column("member_id", bigint, sa.ForeignKey("members.id"), primary_key=True),
        sa.Column("perk_key", sa.String(40), primary_key=True),
        sa.Column("period", sa.String(7), primary_key=True),
        sa.Column("granted_at", UtcDateTime, nullable=False))
    op.create_index("ix_members_tier_level", "members", ["tier_level", "id"])


def downgrade() -> None:
    op.drop_index("ix_members_tier_level", "members")
    op.drop_table("perk_grants")
