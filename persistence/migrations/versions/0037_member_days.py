"""Recurring member days (会员日): a campaign's schedule, and the scheduled campaign whose days alone
a mall item is redeemed on.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("campaigns", sa.Column("schedule", sa.JSON, nullable=True))
    op.add_column("mall_items", sa.Column("member_day", sa.String(40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mall_items") as batch:
        batch.drop_column("member_day")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("schedule")
