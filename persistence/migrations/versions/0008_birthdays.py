"""Birthdays (set once) and birthday gift claims (once a year).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

from persistence.tables import Id, UtcDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "member_birthdays",
        sa.Column("member_id", Id, sa.ForeignKey("members.id"), primary_key=True),
        sa.Column("birthday", sa.Date, nullable=False),
    )
    op.create_table(
        "birthday_claims",
        sa.Column("member_id", Id, sa.ForeignKey("members.id"), primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("claimed_at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("birthday_claims")
    op.drop_table("member_birthdays")
