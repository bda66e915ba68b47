"""Earning: orders with pending points and debt, campaigns, tasks and their completions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

from persistence.tables import Id, UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: rebuilding `members` on SQLite would put its other constraints at risk.
    op.add_column("members", sa.Column("debt", sa.BigInteger, sa.CheckConstraint("debt >= 0", name="ck_members_debt"),
                                       nullable=False, server_default="0"))
    op.create_table(
        "purchase_orders",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False, unique=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("store_id", sa.String(64), nullable=True),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("refunded_fen", sa.BigInteger, nullable=False),
        sa.Column("base_points", sa.BigInteger, nullable=False),
        sa.Column("bonus_points", sa.BigInteger, nullable=False),
        sa.Column("campaign_code", sa.String(40), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("placed_at", UtcDateTime, nullable=False),
        sa.Column("release_at", UtcDateTime, nullable=False),
        sa.Column("released_at", UtcDateTime, nullable=True),
        sa.Column("credited_points", sa.BigInteger, nullable=False),
        sa.Column("reversed_points", sa.BigInteger, nullable=False),
        sa.Column("recorded_by", sa.String(160), nullable=False),
        sa.CheckConstraint("refunded_fen >= 0 AND refunded_fen <= amount_fen", name="ck_purchase_orders_refund"),
    )
    op.create_index("ix_purchase_orders_status_release_at", "purchase_orders", ["status", "release_at"])
    op.create_index("ix_purchase_orders_member_id", "purchase_orders", ["member_id", "id"])
    op.create_table(
        "campaigns",
        sa.Column("code", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("multiplier_permille", sa.Integer, nullable=False),
        sa.Column("starts_at", UtcDateTime, nullable=False),
        sa.Column("ends_at", UtcDateTime, nullable=False),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("tier_levels", sa.JSON, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
    )
    op.create_index("ix_campaigns_ends_at", "campaigns", ["ends_at"])
    op.create_table(
        "tasks",
        sa.Column("code", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("points", sa.Integer, nullable=False),
        sa.Column("period", sa.String(8), nullable=False),
        sa.Column("cap", sa.Integer, nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
    )
    op.create_table(
        "task_completions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False),
        sa.Column("task_code", sa.String(40), nullable=False),
        sa.Column("period_key", sa.String(16), nullable=False),
        sa.Column("completed_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_task_completions_member_task_period", "task_completions",
                    ["member_id", "task_code", "period_key"])


def downgrade() -> None:
    for table in ("task_completions", "tasks", "campaigns", "purchase_orders"):
        op.drop_table(table)
    with op.batch_alter_table("members") as batch:
        batch.drop_constraint("ck_members_debt", type_="check")
        batch.drop_column("debt")
