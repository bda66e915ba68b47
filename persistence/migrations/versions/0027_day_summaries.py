"""Per-day sums of the ledger (flows per reason, members' active days) that analytics read instead of
the entries. Filled from the ledger as it runs, in the brand's time zone.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06
"""
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

from domain.brand import BRAND_KEY, BrandSettings
from domain.day_summaries import STATUS_KEY, SummaryStatus, offset_spans
from persistence.day_summaries import fill_from_ledger
from persistence.tables import ledger_entries, settings

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "day_flows",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("reason", sa.String(32), primary_key=True),
        sa.Column("shard", sa.Integer, primary_key=True),
        sa.Column("credited", sa.BigInteger, nullable=False),
        sa.Column("debited", sa.BigInteger, nullable=False),
        sa.Column("order_refunds", sa.BigInteger, nullable=False))
    op.create_table(
        "day_active",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("previous_day", sa.Date, primary_key=True),
        sa.Column("shard", sa.Integer, primary_key=True),
        sa.Column("members", sa.BigInteger, nullable=False))
    brand = bind.execute(sa.select(settings.c.value).where(settings.c.key == BRAND_KEY)).scalar()
    timezone = brand["timezone"] if brand else BrandSettings().timezone
    first, last = bind.execute(sa.select(sa.func.min(ledger_entries.c.occurred_at),
                                         sa.func.max(ledger_entries.c.occurred_at))).one()
    spans = [] if first is None else offset_spans(BrandSettings(timezone=timezone).zone, first,
                                                  last + timedelta(microseconds=1))
    fill_from_ledger(bind, spans)
    bind.execute(settings.insert().values(key=STATUS_KEY, value=SummaryStatus(timezone).to_record(),
                                          updated_at=datetime.now(UTC), updated_by="system:migration"))


def downgrade() -> None:
    op.drop_table("day_active")
    op.drop_table("day_flows")
    op.execute(settings.delete().where(settings.c.key == STATUS_KEY))
