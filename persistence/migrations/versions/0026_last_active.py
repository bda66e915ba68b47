"""Each member's last activity (the latest entry of their own doing) kept on their row, so segment
refreshes read no member's history. Filled from the ledger as it runs.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

from domain.ledger import ACTIVITY_REASONS
from persistence.tables import UtcDateTime

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("members", sa.Column("last_active_at", UtcDateTime, nullable=True))
    members = sa.table("members", sa.column("id"), sa.column("last_active_at", UtcDateTime))
    entries = sa.table("ledger_entries", sa.column("member_id"), sa.column("reason"),
                       sa.column("occurred_at", UtcDateTime))
    latest = (sa.select(sa.func.max(entries.c.occurred_at))
              .where(entries.c.member_id == members.c.id,
                     entries.c.reason.in_(sorted(reason.value for reason in ACTIVITY_REASONS)))
              .scalar_subquery())
    op.execute(members.update().values(last_active_at=latest))


def downgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.drop_column("last_active_at")
