"""Flash sales, and redemptions that name the sale they came from.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

from persistence.tables import Id, UtcDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "flash_sales",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("item_id", Id, sa.ForeignKey("mall_items.id"), nullable=False),
        sa.Column("title", sa.String(60), nullable=False),
        sa.Column("points_price", sa.BigInteger, nullable=False),
        sa.Column("stock", sa.BigInteger, nullable=False),
        sa.Column("per_member_limit", sa.Integer, nullable=False),
        sa.Column("starts_at", UtcDateTime, nullable=False),
        sa.Column("ends_at", UtcDateTime, nullable=False),
        sa.CheckConstraint("stock >= 0", name="ck_flash_sales_stock"),
    )
    op.create_index("ix_flash_sales_ends_at", "flash_sales", ["ends_at"])
    op.add_column("redemptions", sa.Column("flash_sale_id", Id, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("redemptions") as batch:
        batch.drop_column("flash_sale_id")
    op.drop_table("flash_sales")
