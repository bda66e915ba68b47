"""The till: coupons that name the stores taking them and the store that redeemed each, deductions
taken at a store's till, and per-store day figures (orders, deductions, coupons redeemed), filled
from the orders that already name a store.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

from domain.day_figures import STORE_KINDS
from persistence.day_figures import fill_from_rows
from persistence.day_summaries import stored_spans
from persistence.tables import purchase_orders

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("mall_items", sa.Column("coupon_store_ids", sa.Text, nullable=False, server_default=""))
    op.add_column("coupons", sa.Column("store_ids", sa.Text, nullable=False, server_default=""))
    op.add_column("coupons", sa.Column("used_store_id", sa.String(64), nullable=True))
    op.add_column("deductions", sa.Column("store_id", sa.String(64), nullable=True))
    op.create_index("ix_coupons_store_used", "coupons", ["used_store_id", "used_at"])
    op.create_index("ix_deductions_store_created", "deductions", ["store_id", "created_at"])
    op.create_index("ix_purchase_orders_store_placed", "purchase_orders", ["store_id", "placed_at"])
    bind = op.get_bind()
    o = purchase_orders.c
    first, last = bind.execute(sa.select(sa.func.min(o.placed_at), sa.func.max(o.placed_at))
                               .where(o.store_id.is_not(None))).one()
    if first is not None:  # orders that already name a store
        fill_from_rows(bind, stored_spans(bind, first, last), STORE_KINDS)


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM day_figures WHERE kind IN ('STORE_ORDERS', 'STORE_DEDUCTIONS', 'STORE_COUPONS')"))
    op.drop_index("ix_purchase_orders_store_placed", "purchase_orders")
    op.drop_index("ix_deductions_store_created", "deductions")
    op.drop_index("ix_coupons_store_used", "coupons")
    with op.batch_alter_table("deductions") as batch:
        batch.drop_column("store_id")
    with op.batch_alter_table("coupons") as batch:
        batch.drop_column("used_store_id")
        batch.drop_column("store_ids")
    with op.batch_alter_table("mall_items") as batch:
        batch.drop_column("coupon_store_ids")
