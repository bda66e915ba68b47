"""Lotteries with versioned prize tables, committed seeds and recorded draws; group redemption (拼团).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

from persistence.tables import Id, UtcDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _lotteries()
    _groups()


def _lotteries() -> None:
    op.create_table(
        "lotteries",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("entry_cost", sa.BigInteger, nullable=False),
        sa.Column("daily_limit", sa.Integer, nullable=False),
        sa.Column("pity_after", sa.Integer, nullable=False),
        sa.Column("starts_at", UtcDateTime, nullable=True),
        sa.Column("ends_at", UtcDateTime, nullable=True),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("draws", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "lottery_prizes",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("lottery_id", Id, sa.ForeignKey("lotteries.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("weight", sa.Integer, nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.Column("item_id", Id, sa.ForeignKey("mall_items.id"), nullable=True),
        sa.Column("stock", sa.BigInteger, nullable=True),
        sa.Column("fallback", sa.Boolean, nullable=False),
        sa.CheckConstraint("stock IS NULL OR stock >= 0", name="ck_lottery_prizes_stock"),
    )
    op.create_index("ix_lottery_prizes_lottery_version", "lottery_prizes", ["lottery_id", "version", "position"])
    op.create_table(
        "lottery_seeds",
        sa.Column("lottery_id", Id, sa.ForeignKey("lotteries.id"), primary_key=True),
        sa.Column("epoch", sa.Integer, primary_key=True),
        sa.Column("seed", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("revealed_at", UtcDateTime, nullable=True),
    )
    op.create_table(
        "lottery_draws",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("lottery_id", Id, sa.ForeignKey("lotteries.id"), nullable=False),
        sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("epoch", sa.Integer, nullable=False),
        sa.Column("sequence", sa.BigInteger, nullable=False),
        sa.Column("client_seed", sa.String(128), nullable=False),
        sa.Column("roll", sa.BigInteger, nullable=False),
        sa.Column("candidates", sa.String(400), nullable=False),
        sa.Column("drawn_prize_id", Id, nullable=True),
        sa.Column("prize_id", Id, sa.ForeignKey("lottery_prizes.id"), nullable=False),
        sa.Column("pity_applied", sa.Boolean, nullable=False),
        sa.Column("misses_after", sa.Integer, nullable=False),
        sa.Column("entry_cost", sa.BigInteger, nullable=False),
        sa.Column("drawn_at", UtcDateTime, nullable=False),
        sa.Column("redemption_id", Id, nullable=True),
        sa.UniqueConstraint("lottery_id", "sequence", name="uq_lottery_draws_sequence"),
    )
    op.create_index("ix_lottery_draws_member", "lottery_draws", ["member_id", "lottery_id", "id"])


def _groups() -> None:
    with op.batch_alter_table("mall_items") as batch:
        batch.add_column(sa.Column("group_size", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("group_points_price", sa.BigInteger, nullable=False, server_default="0"))
        batch.add_column(sa.Column("group_hours", sa.Integer, nullable=False, server_default="24"))
    op.create_table(
        "group_redemptions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("item_id", Id, sa.ForeignKey("mall_items.id"), nullable=False),
        sa.Column("item_name", sa.String(60), nullable=False),
        sa.Column("owner_id", Id, sa.ForeignKey("members.id"), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("points_price", sa.BigInteger, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("deadline", UtcDateTime, nullable=False),
        sa.Column("filled", sa.Boolean, nullable=False),
        sa.Column("filled_at", UtcDateTime, nullable=True),
    )
    op.create_index("ix_group_redemptions_item_deadline", "group_redemptions", ["item_id", "deadline"])
    op.create_table(
        "group_members",
        sa.Column("group_id", Id, sa.ForeignKey("group_redemptions.id"), primary_key=True),
        sa.Column("member_id", Id, sa.ForeignKey("members.id"), primary_key=True),
        sa.Column("joined_at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("group_members")
    op.drop_table("group_redemptions")
    with op.batch_alter_table("mall_items") as batch:
        batch.drop_column("group_hours")
        batch.drop_column("group_points_price")
        batch.drop_column("group_size")
    op.drop_table("lottery_draws")
    op.drop_table("lottery_seeds")
    op.drop_table("lottery_prizes")
    op.drop_table("lotteries")
