"""Referral and assist farming controls: members' device and phone signals, invitation rewards that
wait for the invitee to become real or for staff review, and the reviews.

Invitations made before this were paid at once: they are PAID, first-order reward included.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

from persistence.tables import Id, UtcDateTime

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("members", sa.Column("device_id", sa.String(64), nullable=True))
    op.add_column("members", sa.Column("phone_hash", sa.String(128), nullable=True))
    op.create_index("ix_members_device_id", "members", ["device_id"])
    op.create_index("ix_members_phone_hash", "members", ["phone_hash"])
    op.add_column("invitations", sa.Column("inviter_reward", sa.String(16), nullable=False, server_default="PAID"))
    op.add_column("invitations", sa.Column("invitee_paid", sa.Boolean, nullable=False, server_default=sa.true()))
    op.add_column("invitations", sa.Column("note", sa.String(200), nullable=True))
    op.add_column("invitations", sa.Column("first_order_paid", sa.Boolean, nullable=False,
                                           server_default=sa.true()))
    op.add_column("invitations", sa.Column("resolved_at", UtcDateTime, nullable=True))
    op.drop_index("ix_invitations_inviter_id", "invitations")
    op.create_index("ix_invitations_inviter_id", "invitations", ["inviter_id", "accepted_at"])
    op.create_index("ix_invitations_inviter_reward", "invitations", ["inviter_reward", "invitee_id"])
    op.create_table(
        "risk_reviews",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False),
        sa.Column("subject_id", Id, nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("resolved_at", UtcDateTime, nullable=True),
        sa.Column("resolved_by", sa.String(160), nullable=True),
    )
    op.create_index("ix_risk_reviews_status", "risk_reviews", ["status", "id"])


def downgrade() -> None:
    op.drop_table("risk_reviews")
    op.drop_index("ix_invitations_inviter_reward", "invitations")
    op.drop_index("ix_invitations_inviter_id", "invitations")
    with op.batch_alter_table("invitations") as batch:
        for column in ("resolved_at", "first_order_paid", "note", "invitee_paid", "inviter_reward"):
            batch.drop_column(column)
    op.create_index("ix_invitations_inviter_id", "invitations", ["inviter_id"])
    op.drop_index("ix_members_phone_hash", "members")
    op.drop_index("ix_members_device_id", "members")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("phone_hash")
        batch.drop_column("device_id")
