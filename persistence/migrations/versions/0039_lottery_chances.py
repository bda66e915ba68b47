"""Lottery chances: free draws earned by sharing, tasks, orders, streaks or staff, poster shares, and
lotteries that take points, chances or either, limited to tiers from a level.

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

from persistence.tables import UtcDateTime

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bigint = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "lottery_chances",
        sa.Column("id", bigint, primary_key=True, autoincrement=True),
        sa.Column("member_id", bigint, sa.ForeignKey("members.id"), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("ref", sa.String(80), nullable=False),
        sa.Column("granted_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
        sa.Column("used_at", UtcDateTime, nullable=True),
        sa.Column("draw_id", bigint, nullable=True))
    op.create_index("ix_lottery_chances_member_expires", "lottery_chances", ["member_id", "expires_at"])
    op.create_index("ix_lottery_chances_member_granted", "lottery_chances", ["member_id", "source", "granted_at"])
    op.create_table(
        "poster_shares",
        sa.Column("id", bigint, primary_key=True, autoincrement=True),
        sa.Column("member_id", bigint, sa.ForeignKey("members.id"), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("shared_at", UtcDateTime, nullable=False),
        sa.Column("chances", sa.Integer, nullable=False))
    op.create_index("ix_poster_shares_member", "poster_shares", ["member_id", "shared_at"])
    op.add_column("lotteries", sa.Column("payment", sa.String(8), nullable=False, server_default="POINTS"))
    op.add_column("lotteries", sa.Column("min_tier_level", sa.Integer, nullable=False, server_default="1"))
    op.add_column("lottery_draws", sa.Column("paid_with_chance", sa.Boolean, nullable=False,
                                             server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("lottery_draws") as batch:
        batch.drop_column("paid_with_chance")
    with op.batch_alter_table("lotteries") as batch:
        batch.drop_column("min_tier_level")
        batch.drop_column("payment")
    op.drop_table("poster_shares")
    op.drop_table("lottery_chances")
