"""Points-plus-cash checkout orders.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

from persistence.tables import Id, UtcDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "checkout_orders",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False),
        sa.Column("item_id", Id, sa.ForeignKey("mall_items.id"), nullable=False),
        sa.Column("item_name", sa.String(60), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("points_held", sa.BigInteger, nullable=False),
        sa.Column("cash_due_fen", sa.BigInteger, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("payment_ref", sa.String(64), nullable=True),
        sa.Column("resolved_at", UtcDateTime, nullable=True),
    )
    op.create_index("ix_checkout_orders_member_id", "checkout_orders", ["member_id", "id"])


def downgrade() -> None:
    op.drop_table("checkout_orders")
