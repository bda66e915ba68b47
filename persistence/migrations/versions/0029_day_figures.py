"""Per-day figures of items, tasks and campaigns that analytics read instead of their rows, filled from
those rows in the brand's time zone; what a threshold campaign paid of each order, kept on the order
(orders placed before: its bonus as defined now, as the reports counted them until now); indexes
holding the member ids the reports count distinct.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from domain.day_figures import FigureKind
from persistence.day_figures import fill_from_rows
from persistence.day_summaries import stored_spans
from persistence.tables import campaigns, purchase_orders, redemptions, task_completions

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

INDEXES = (("ix_purchase_orders_campaign_placed", "purchase_orders", ["campaign_code", "placed_at", "member_id"]),
           ("ix_task_completions_task_completed", "task_completions", ["task_code", "completed_at", "member_id"]),
           ("ix_redemptions_item_created", "redemptions", ["item_id", "created_at", "member_id", "status"]))


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column("purchase_orders", sa.Column("threshold_points", sa.BigInteger, nullable=False,
                                               server_default="0"))
    _fill_threshold_points(bind)
    op.create_table(
        "day_figures",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("code", sa.String(100), primary_key=True),
        sa.Column("shard", sa.Integer, primary_key=True),
        *(sa.Column(name, sa.BigInteger, nullable=False) for name in ("times", "quantity", "points", "views")))
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    times = [(first, last) for first, last in bind.execute(sa.union_all(
        sa.select(sa.func.min(redemptions.c.created_at), sa.func.max(redemptions.c.created_at)),
        sa.select(sa.func.min(task_completions.c.completed_at), sa.func.max(task_completions.c.completed_at)),
        sa.select(sa.func.min(purchase_orders.c.placed_at), sa.func.max(purchase_orders.c.placed_at))))
        if first is not None]
    spans = stored_spans(bind, min(f for f, _ in times), max(last for _, last in times)) if times else []
    fill_from_rows(bind, spans, (FigureKind.ITEM, FigureKind.TASK, FigureKind.CAMPAIGN))


def _fill_threshold_points(bind) -> None:
    bonuses = {code: points for code, points in bind.execute(
        sa.select(campaigns.c.code, campaigns.c.bonus_points).where(campaigns.c.bonus_points > 0))}
    o = purchase_orders.c
    for order_id, codes, bonus in bind.execute(
            sa.select(o.id, o.campaign_code, o.bonus_points).where(o.campaign_code.is_not(None))).all():
        threshold = bonuses.get(codes.split("+")[-1])
        if threshold:
            bind.execute(purchase_orders.update().where(o.id == order_id).values(threshold_points=min(threshold,
                                                                                                      bonus)))


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(name, table)
    op.drop_table("day_figures")
    op.drop_column("purchase_orders", "threshold_points")
