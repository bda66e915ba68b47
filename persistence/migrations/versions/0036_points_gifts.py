"""Points gifting: one row per gift, found by giver and by receiver (their daily limits and lists).

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

from persistence.tables import UtcDateTime

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bigint = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "points_gifts",
        sa.Column("id", bigint, primary_key=True, autoincrement=True),
        sa.Column("giver_id", bigint, sa.ForeignKey("members.id"), nullable=False),
        sa.Column("recipient_id", bigint, sa.ForeignKey("members.id"), nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.Column("message", sa.String(60), nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False))
    op.create_index("ix_points_gifts_giver", "points_gifts", ["giver_id", "created_at"])
    op.create_index("ix_points_gifts_recipient", "points_gifts", ["recipient_id", "created_at"])


def downgrade() -> None:
    op.drop_table("points_gifts")
