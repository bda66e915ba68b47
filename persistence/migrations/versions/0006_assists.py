"""Friend assist campaigns (助力) and their helpers.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

from persistence.tables import Id, UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assist_campaigns",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("owner_id", Id, sa.ForeignKey("members.id"), nullable=False),
        sa.Column("title", sa.String(40), nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("ends_at", UtcDateTime, nullable=False),
        sa.Column("helpers", sa.Integer, nullable=False),
        sa.Column("points_paid", sa.Integer, nullable=False),
    )
    op.create_index("ix_assist_campaigns_owner_id", "assist_campaigns", ["owner_id", "id"])
    op.create_table(
        "assist_helpers",
        sa.Column("campaign_id", Id, sa.ForeignKey("assist_campaigns.id"), primary_key=True),
        sa.Column("helper_id", Id, sa.ForeignKey("members.id"), primary_key=True),
        sa.Column("assisted_at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("assist_helpers")
    op.drop_table("assist_campaigns")
