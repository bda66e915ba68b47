"""Tier upkeep (保级) and growth that follows refunds: each member's upkeep date and the growth earned
since their period began, and growth changes other than earning (refunds, upkeep).

Members already above V1 start their first upkeep period as this runs, with the default 12 months:
none is judged on growth earned before upkeep existed.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from domain.tiers import TierUpkeep
from persistence.tables import Id, UtcDateTime

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("members", sa.Column("period_growth", sa.BigInteger, nullable=False, server_default="0"))
    op.add_column("members", sa.Column("keep_until", UtcDateTime, nullable=True))
    op.create_table(
        "growth_changes",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False),
        sa.Column("delta", sa.BigInteger, nullable=False),
        sa.Column("growth_after", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("occurred_at", UtcDateTime, nullable=False),
        sa.Column("actor", sa.String(160), nullable=False),
        sa.Column("memo", sa.String(500), nullable=True),
        sa.Column("ref", sa.String(160), nullable=True),
    )
    op.create_index("ix_growth_changes_member_id", "growth_changes", ["member_id", "id"])
    start_first_periods()


def start_first_periods() -> None:
    members = sa.table("members", sa.column("tier_level", sa.Integer), sa.column("keep_until", UtcDateTime),
                       sa.column("next_due_at", UtcDateTime))
    until = TierUpkeep().keep_until(2, datetime.now(UTC))
    due = sa.bindparam("until", until, type_=UtcDateTime)
    op.execute(members.update().where(members.c.tier_level > 1).values(
        keep_until=due,
        next_due_at=sa.case((sa.or_(members.c.next_due_at.is_(None), members.c.next_due_at > due), due),
                            else_=members.c.next_due_at)))


def downgrade() -> None:
    op.drop_table("growth_changes")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("keep_until")
        batch.drop_column("period_growth")
