"""A partner brand may be limited to members of a tier and above, as mall items are.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("partners", sa.Column("min_tier_level", sa.Integer, nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("partners") as batch:
        batch.drop_column("min_tier_level")
