"""Challenges: tasks made of steps ("do 5 of these this week").

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tasks", sa.Column("steps", sa.JSON, nullable=False, server_default="[]"))
    op.add_column("tasks", sa.Column("target", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("target")
        batch.drop_column("steps")
