"""The coupon wallet: a coupon item's terms (face value, minimum spend, days valid) and the coupons
members hold, one a unit of each coupon redemption. Redemptions of coupon items made before get
their coupons here, valid for the default 30 days from the redemption (the first with the
redemption's code, any further units a new one), standing as their redemption does.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-06
"""
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

from domain.mall import generated_code
from persistence.tables import coupons, mall_items, redemptions

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

DEFAULT_VALID_DAYS = 30
STATUS_OF_REDEMPTION = {"USED": "USED", "CANCELLED": "CANCELLED"}  # any other: AVAILABLE (or past its window)


def upgrade() -> None:
    with op.batch_alter_table("mall_items") as batch:
        batch.add_column(sa.Column("coupon_value_fen", sa.BigInteger, nullable=False, server_default="0"))
        batch.add_column(sa.Column("coupon_min_spend_fen", sa.BigInteger, nullable=False, server_default="0"))
        batch.add_column(sa.Column("coupon_valid_days", sa.Integer, nullable=False,
                                   server_default=str(DEFAULT_VALID_DAYS)))
    bigint = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "coupons",
        sa.Column("id", bigint, primary_key=True, autoincrement=True),
        sa.Column("member_id", bigint, sa.ForeignKey("members.id"), nullable=False),
        sa.Column("redemption_id", bigint, sa.ForeignKey("redemptions.id"), nullable=False),
        sa.Column("item_id", bigint, sa.ForeignKey("mall_items.id"), nullable=False),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("value_fen", sa.BigInteger, nullable=False),
        sa.Column("min_spend_fen", sa.BigInteger, nullable=False),
        sa.Column("valid_from", coupons.c.valid_from.type, nullable=False),
        sa.Column("valid_until", coupons.c.valid_until.type, nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("used_at", coupons.c.used_at.type, nullable=True),
        sa.Column("reminded_at", coupons.c.reminded_at.type, nullable=True))
    op.create_index("ix_coupons_member_id", "coupons", ["member_id", "id"])
    op.create_index("ix_coupons_redemption_id", "coupons", ["redemption_id"])
    op.create_index("ix_coupons_code", "coupons", ["code"])
    op.create_index("ix_coupons_status_valid_until", "coupons", ["status", "valid_until"])
    _issue_for_earlier_redemptions(op.get_bind())


def _issue_for_earlier_redemptions(bind) -> None:
    r = redemptions.c
    held = bind.execute(sa.select(r.id, r.member_id, r.item_id, r.item_name, r.quantity, r.points, r.code, r.note,
                                  r.status, r.created_at, r.updated_at)
                        .select_from(redemptions.join(mall_items, mall_items.c.id == r.item_id))
                        .where(mall_items.c.kind == "COUPON").order_by(r.id)).all()
    rows = []
    for row in held:
        status = STATUS_OF_REDEMPTION.get(row.status, "AVAILABLE")
        lottery = row.points == 0 and (row.note or "").startswith("抽奖")
        codes = [row.code or generated_code(), *(generated_code() for _ in range(row.quantity - 1))]
        rows += [{"member_id": row.member_id, "redemption_id": row.id, "item_id": row.item_id,
                  "name": row.item_name, "code": code, "value_fen": 0, "min_spend_fen": 0,
                  "valid_from": row.created_at, "valid_until": row.created_at + timedelta(days=DEFAULT_VALID_DAYS),
                  "source": "LOTTERY" if lottery else "MALL", "status": status,
                  "used_at": row.updated_at if status == "USED" else None} for code in codes]
    if rows:
        bind.execute(coupons.insert(), rows)


def downgrade() -> None:
    op.drop_table("coupons")
    with op.batch_alter_table("mall_items") as batch:
        for column in ("coupon_valid_days", "coupon_min_spend_fen", "coupon_value_fen"):
            batch.drop_column(column)
