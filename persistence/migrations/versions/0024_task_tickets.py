"""Server-confirmed tasks: who may complete each task, and the nonces of completion tickets used.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

from persistence.tables import Id, UtcDateTime

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tasks", sa.Column("confirmed_by", sa.String(8), nullable=False, server_default="MEMBER"))
    op.create_table(
        "task_ticket_nonces",
        sa.Column("key_id", sa.String(40), primary_key=True),
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False),
        sa.Column("used_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_task_ticket_nonces_used_at", "task_ticket_nonces", ["used_at"])


def downgrade() -> None:
    op.drop_table("task_ticket_nonces")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("confirmed_by")
