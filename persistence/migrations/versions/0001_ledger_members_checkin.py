"""Members, the points ledger (entries, lots, holds), check-ins, tiers, idempotency, settings, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

from persistence.tables import Id, UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

IMMUTABLE_SQLITE = """
CREATE TRIGGER ledger_entries_no_{op} BEFORE {OP} ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are immutable: correct with a new entry'); END
"""
IMMUTABLE_PG_FUNCTION = """
CREATE FUNCTION ledger_entries_immutable() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'ledger entries are immutable: correct with a new entry'; END
$$ LANGUAGE plpgsql
"""
IMMUTABLE_PG_TRIGGER = """
CREATE TRIGGER ledger_entries_immutable BEFORE UPDATE OR DELETE ON ledger_entries
FOR EACH ROW EXECUTE FUNCTION ledger_entries_immutable()
"""


def upgrade() -> None:
    op.create_table(
        "members",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("external_id", sa.String(64), nullable=False, unique=True),
        sa.Column("nickname", sa.String(40), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("tier_level", sa.Integer, nullable=False),
        sa.Column("growth", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("balance", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("held", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("pending", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("lifetime_earned", sa.BigInteger, nullable=False, server_default="0"),
        # The database itself refuses a negative available balance, whatever the code does.
        sa.CheckConstraint("held >= 0 AND balance >= held", name="ck_members_available_not_negative"),
        sa.CheckConstraint("growth >= 0 AND pending >= 0", name="ck_members_growth_pending"),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False),
        sa.Column("delta", sa.BigInteger, nullable=False),
        sa.Column("balance_after", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("occurred_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=True),
        sa.Column("memo", sa.String(500), nullable=True),
        sa.Column("actor", sa.String(160), nullable=False),
        sa.Column("ref", sa.String(160), nullable=True),
        sa.CheckConstraint("delta <> 0", name="ck_ledger_entries_delta"),
    )
    op.create_index("ix_ledger_entries_member_id_id", "ledger_entries", ["member_id", "id"])
    op.create_table(
        "point_lots",
        sa.Column("member_id", Id, sa.ForeignKey("members.id"), primary_key=True),
        sa.Column("expires_at", UtcDateTime, primary_key=True),
        sa.Column("remaining", sa.BigInteger, nullable=False),
        sa.CheckConstraint("remaining >= 0", name="ck_point_lots_remaining"),
    )
    op.create_index("ix_point_lots_expires_at", "point_lots", ["expires_at", "member_id"])
    op.create_table(
        "holds",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("ref", sa.String(160), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
        sa.Column("resolved_at", UtcDateTime, nullable=True),
        sa.CheckConstraint("amount > 0", name="ck_holds_amount"),
    )
    op.create_index("ix_holds_status_expires_at", "holds", ["status", "expires_at"])
    op.create_index("ix_holds_member_id", "holds", ["member_id"])
    op.create_table(
        "check_ins",
        sa.Column("member_id", Id, sa.ForeignKey("members.id"), primary_key=True),
        sa.Column("local_date", sa.Date, primary_key=True),
        sa.Column("streak", sa.Integer, nullable=False),
        sa.Column("checked_in_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "tier_changes",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False),
        sa.Column("from_level", sa.Integer, nullable=False),
        sa.Column("to_level", sa.Integer, nullable=False),
        sa.Column("growth", sa.BigInteger, nullable=False),
        sa.Column("changed_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_tier_changes_member_id", "tier_changes", ["member_id", "id"])
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(200), primary_key=True),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("result", sa.JSON, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])
    op.create_table(
        "settings",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.JSON, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("updated_by", sa.String(160), nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("actor", sa.String(160), nullable=False),
        sa.Column("action", sa.String(80), nullable=False),
        sa.Column("target", sa.String(160), nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    make_ledger_immutable()


def make_ledger_immutable() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("update", "delete"):
            op.execute(IMMUTABLE_SQLITE.format(op=name, OP=name.upper()))
    else:
        op.execute(IMMUTABLE_PG_FUNCTION)
        op.execute(IMMUTABLE_PG_TRIGGER)


def downgrade() -> None:
    for table in ("audit_log", "settings", "idempotency_keys", "tier_changes", "check_ins", "holds",
                  "point_lots", "ledger_entries", "members"):
        op.drop_table(table)
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP FUNCTION ledger_entries_immutable()")
