"""Member segments, campaigns that target them, and the time indexes analytics read by.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

from persistence.tables import Id, UtcDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

TIME_INDEXES = (("ledger_entries", "occurred_at"), ("task_completions", "completed_at"),
                ("redemptions", "created_at"), ("purchase_orders", "placed_at"))


def upgrade() -> None:
    op.create_table(
        "member_segments",
        sa.Column("member_id", Id, sa.ForeignKey("members.id"), primary_key=True),
        sa.Column("segment", sa.String(16), primary_key=True),
        sa.Column("since", UtcDateTime, nullable=False),
    )
    op.create_index("ix_member_segments_segment", "member_segments", ["segment", "member_id"])
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("segments", sa.JSON, nullable=False, server_default="[]"))
    for table, column in TIME_INDEXES:
        op.create_index(f"ix_{table}_{column}", table, [column])


def downgrade() -> None:
    for table, column in TIME_INDEXES:
        op.drop_index(f"ix_{table}_{column}", table)
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("segments")
    op.drop_table("member_segments")
