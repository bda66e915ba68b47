"""The points mall: items and redemptions.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

from persistence.tables import Id, UtcDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mall_items",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("points_price", sa.BigInteger, nullable=False),
        sa.Column("cash_price_fen", sa.BigInteger, nullable=False),
        sa.Column("stock", sa.BigInteger, nullable=False),
        sa.Column("per_member_limit", sa.Integer, nullable=False),
        sa.Column("min_tier_level", sa.Integer, nullable=False),
        sa.Column("on_shelf", sa.Boolean, nullable=False),
        sa.Column("category", sa.String(30), nullable=False),
        sa.Column("description", sa.String(1000), nullable=False),
        sa.Column("image_url", sa.String(500), nullable=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        # Whatever the code does, stock never goes below zero.
        sa.CheckConstraint("stock >= 0", name="ck_mall_items_stock"),
    )
    op.create_index("ix_mall_items_category", "mall_items", ["category", "position"])
    op.create_table(
        "redemptions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False),
        sa.Column("item_id", Id, sa.ForeignKey("mall_items.id"), nullable=False),
        sa.Column("item_name", sa.String(60), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_redemptions_member_item", "redemptions", ["member_id", "item_id"])


def downgrade() -> None:
    op.drop_table("redemptions")
    op.drop_table("mall_items")
