"""Redemption fulfilment (code, note, update time) and coupon code pools.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

from persistence.tables import Id, UtcDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("redemptions", sa.Column("code", sa.String(40), nullable=True))
    op.add_column("redemptions", sa.Column("note", sa.String(200), nullable=True))
    op.add_column("redemptions", sa.Column("updated_at", UtcDateTime, nullable=True))
    op.create_table(
        "coupon_codes",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("item_id", Id, sa.ForeignKey("mall_items.id"), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("taken", sa.Boolean, nullable=False),
        sa.UniqueConstraint("item_id", "code", name="uq_coupon_codes_item_code"),
    )
    op.create_index("ix_coupon_codes_item_taken", "coupon_codes", ["item_id", "taken", "id"])


def downgrade() -> None:
    op.drop_table("coupon_codes")
    with op.batch_alter_table("redemptions") as batch:
        batch.drop_column("updated_at")
        batch.drop_column("note")
        batch.drop_column("code")
