"""Idle points turned into a better benefit: one conversion per member a brand month.

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

from persistence.tables import UtcDateTime

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bigint = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "conversions",
        sa.Column("id", bigint, primary_key=True, autoincrement=True),
        sa.Column("member_id", bigint, sa.ForeignKey("members.id"), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.Column("item_id", bigint, nullable=True),
        sa.Column("tier_days", sa.Integer, nullable=False),
        sa.Column("redemption_id", bigint, nullable=True),
        sa.Column("automatic", sa.Boolean, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("member_id", "period", name="uq_conversions_member_period"))


def downgrade() -> None:
    op.drop_table("conversions")
