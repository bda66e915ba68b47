"""Member tags (by hand, import or rule), members' profiles, and tags that campaigns, mall items and
lotteries target.

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

from persistence.tables import UtcDateTime

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bigint = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "tags",
        sa.Column("code", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("rule", sa.JSON, nullable=True))
    op.create_table(
        "member_tags",
        sa.Column("member_id", bigint, sa.ForeignKey("members.id"), primary_key=True),
        sa.Column("tag_code", sa.String(40), primary_key=True),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("tagged_at", UtcDateTime, nullable=False))
    op.create_index("ix_member_tags_tag", "member_tags", ["tag_code", "member_id"])
    op.create_table(
        "member_profiles",
        sa.Column("member_id", bigint, sa.ForeignKey("members.id"), primary_key=True),
        sa.Column("gender", sa.String(12), nullable=False),
        sa.Column("city", sa.String(40), nullable=True),
        sa.Column("preferred_store_id", sa.String(64), nullable=True),
        sa.Column("attributes", sa.JSON, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=True))
    op.add_column("campaigns", sa.Column("tags", sa.JSON, nullable=False, server_default="[]"))
    op.add_column("mall_items", sa.Column("tags", sa.Text, nullable=False, server_default=""))
    op.add_column("lotteries", sa.Column("tags", sa.Text, nullable=False, server_default=""))


def downgrade() -> None:
    for table in ("lotteries", "mall_items", "campaigns"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("tags")
    op.drop_table("member_profiles")
    op.drop_table("member_tags")
    op.drop_table("tags")
