"""Mall item views, a member's once per item and brand day: item heat's view-to-redemption conversion.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

from persistence.tables import Id, UtcDateTime

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "item_views",
        sa.Column("item_id", Id, sa.ForeignKey("mall_items.id"), primary_key=True),
        sa.Column("member_id", Id, sa.ForeignKey("members.id"), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("viewed_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_item_views_day", "item_views", ["day", "item_id"])


def downgrade() -> None:
    op.drop_table("item_views")
