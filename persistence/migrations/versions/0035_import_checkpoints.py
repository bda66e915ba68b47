"""Imports: how far each file got, so a crashed import resumes after its last committed batch.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

from persistence.tables import UtcDateTime

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_checkpoints",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("last_line", sa.BigInteger, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False))


def downgrade() -> None:
    op.drop_table("import_checkpoints")
