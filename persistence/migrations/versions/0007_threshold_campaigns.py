"""Threshold bonus campaigns (满100送100): a minimum order amount and the bonus points it earns.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("campaigns", sa.Column("min_order_fen", sa.BigInteger, nullable=False, server_default="0"))
    op.add_column("campaigns", sa.Column("bonus_points", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("bonus_points")
        batch.drop_column("min_order_fen")
