"""Invitations, submissions waiting for review, and per-member notifications.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

from persistence.tables import Id, UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "invitations",
        sa.Column("invitee_id", Id, sa.ForeignKey("members.id"), primary_key=True),
        sa.Column("inviter_id", Id, sa.ForeignKey("members.id"), nullable=False),
        sa.Column("accepted_at", UtcDateTime, nullable=False),
        sa.Column("inviter_points", sa.Integer, nullable=False),
        sa.Column("invitee_points", sa.Integer, nullable=False),
        sa.CheckConstraint("inviter_id <> invitee_id", name="ck_invitations_not_self"),
    )
    op.create_index("ix_invitations_inviter_id", "invitations", ["inviter_id"])
    op.create_table(
        "submissions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("content", sa.String(2000), nullable=False),
        sa.Column("image_urls", sa.JSON, nullable=False),
        sa.Column("ref", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("submitted_at", UtcDateTime, nullable=False),
        sa.Column("reviewed_at", UtcDateTime, nullable=True),
        sa.Column("reviewed_by", sa.String(160), nullable=True),
        sa.Column("reject_reason", sa.String(200), nullable=True),
        sa.Column("points", sa.Integer, nullable=False),
    )
    op.create_index("ix_submissions_status_id", "submissions", ["status", "id"])
    op.create_index("ix_submissions_member_id", "submissions", ["member_id", "id"])
    op.create_table(
        "notifications",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("body", sa.String(500), nullable=False),
        sa.Column("ref", sa.String(160), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("read_at", UtcDateTime, nullable=True),
        sa.UniqueConstraint("member_id", "ref", name="uq_notifications_member_ref"),
    )
    op.create_index("ix_notifications_member_id", "notifications", ["member_id", "id"])


def downgrade() -> None:
    for table in ("notifications", "submissions", "invitations"):
        op.drop_table(table)
