"""A member's history index holds what `jifen check` sums (delta, running balance, reason), so a
batch of members is checked from the index alone: in a ledger written in time order a member's
entries lie spread over the whole table, and visiting each one tripled the check at 5M entries.
It replaces the (member_id, id) index, which it serves in the same order.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06
"""
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_ledger_entries_member_history", "ledger_entries",
                    ["member_id", "id", "delta", "balance_after", "reason"])
    op.drop_index("ix_ledger_entries_member_id_id", "ledger_entries")


def downgrade() -> None:
    op.create_index("ix_ledger_entries_member_id_id", "ledger_entries", ["member_id", "id"])
    op.drop_index("ix_ledger_entries_member_history", "ledger_entries")
