"""Earning rules for events from the brand's other systems, and the events recorded.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

from persistence.tables import Id, UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_rules",
        sa.Column("event_type", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("points", sa.Integer, nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("beneficiary", sa.String(16), nullable=False),
        sa.Column("daily_cap", sa.Integer, nullable=True),
        sa.Column("revokes", sa.String(40), nullable=True),
        sa.Column("revoke_within_days", sa.Integer, nullable=False),
        sa.Column("match_attribute", sa.String(40), nullable=True),
        sa.Column("enabled", sa.Boolean, nullable=False),
    )
    op.create_table(
        "brand_events",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False),
        sa.Column("beneficiary_id", Id, sa.ForeignKey("members.id"), nullable=False),
        sa.Column("points", sa.Integer, nullable=False),
        sa.Column("match_value", sa.String(200), nullable=True),
        sa.Column("occurred_at", UtcDateTime, nullable=False),
        sa.Column("revoked_at", UtcDateTime, nullable=True),
        sa.UniqueConstraint("event_type", "event_id", name="uq_brand_events_type_id"),
    )
    op.create_index("ix_brand_events_member", "brand_events", ["event_type", "member_id", "id"])
    op.create_index("ix_brand_events_beneficiary", "brand_events", ["event_type", "beneficiary_id", "occurred_at"])


def downgrade() -> None:
    op.drop_table("brand_events")
    op.drop_table("event_rules")
