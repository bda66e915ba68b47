"""Each member's next due moment (order release, hold timeout, lot expiry), so the sweep and reads
find due members through one index.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

from persistence.tables import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("members", sa.Column("next_due_at", UtcDateTime, nullable=True))
    op.create_index("ix_members_next_due_at", "members", ["next_due_at"])
    # Members with anything that may fall due are marked due now; the first sweep computes the real moment.
    op.execute("UPDATE members SET next_due_at = created_at WHERE balance > 0 OR held > 0 OR pending > 0")


def downgrade() -> None:
    op.drop_index("ix_members_next_due_at", "members")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("next_due_at")
