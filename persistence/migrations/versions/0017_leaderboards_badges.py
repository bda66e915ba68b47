"""Leaderboard scores per period, prizes paid at a period's close, and member badges.

The all-time board is filled from the ledger written before this revision; the day, week and
month boards start counting from it (a migration does not know the brand's time zone).

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

from persistence.tables import Id, UtcDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leaderboard_scores",
        sa.Column("period", sa.String(8), primary_key=True),
        sa.Column("starts_on", sa.Date, primary_key=True),
        sa.Column("member_id", Id, sa.ForeignKey("members.id"), primary_key=True),
        sa.Column("points", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_leaderboard_scores_rank", "leaderboard_scores", ["period", "starts_on", "points", "member_id"])
    op.create_table(
        "leaderboard_awards",
        sa.Column("period", sa.String(8), primary_key=True),
        sa.Column("starts_on", sa.Date, primary_key=True),
        sa.Column("rank", sa.Integer, primary_key=True),
        sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.Column("awarded_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "member_badges",
        sa.Column("member_id", Id, sa.ForeignKey("members.id"), primary_key=True),
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("awarded_at", UtcDateTime, nullable=False),
    )
    op.execute("INSERT INTO leaderboard_scores (period, starts_on, member_id, points) "
               "SELECT 'ALL_TIME', DATE '2000-01-01', member_id, SUM(delta) FROM ledger_entries "
               "WHERE delta > 0 AND reason IN ('CHECK_IN', 'TASK', 'ORDER', 'REVIEW', 'INVITE', 'ASSIST', "
               "'CAMPAIGN_BONUS', 'STREAK_BONUS') GROUP BY member_id"
               if op.get_context().dialect.name == "postgresql" else
               "INSERT INTO leaderboard_scores (period, starts_on, member_id, points) "
               "SELECT 'ALL_TIME', '2000-01-01', member_id, SUM(delta) FROM ledger_entries "
               "WHERE delta > 0 AND reason IN ('CHECK_IN', 'TASK', 'ORDER', 'REVIEW', 'INVITE', 'ASSIST', "
               "'CAMPAIGN_BONUS', 'STREAK_BONUS') GROUP BY member_id")


def downgrade() -> None:
    op.drop_table("member_badges")
    op.drop_table("leaderboard_awards")
    op.drop_table("leaderboard_scores")
