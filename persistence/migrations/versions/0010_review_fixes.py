"""Room for a multiplier and a threshold campaign code on one order; assist thresholds fixed at start.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite does not enforce VARCHAR lengths; PostgreSQL does, and "a+b" of two 40-character codes needs 81.
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("purchase_orders", "campaign_code", type_=sa.String(100))
    op.add_column("assist_campaigns", sa.Column("thresholds", sa.JSON, nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("assist_campaigns") as batch:
        batch.drop_column("thresholds")
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("purchase_orders", "campaign_code", type_=sa.String(40))
