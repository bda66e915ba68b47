"""Campaigns: read on every earning, so the active ones are found by an indexed end time."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select

from domain.campaigns import Campaign, Schedule
from domain.ledger import LedgerReason
from domain.segments import Segment
from persistence.members import upsert
from persistence.direct_statements import direct
from persistence.settings import SqlSettingsRepository
from persistence.tables import campaigns


def campaign_from_row(row) -> Campaign:
    return Campaign(row.code, row.name, row.multiplier_permille, row.starts_at, row.ends_at,
                    tuple(LedgerReason(r) for r in row.reasons), tuple(row.tier_levels), row.enabled,
                    row.min_order_fen, row.bonus_points, tuple(Segment(s) for s in row.segments or ()),
                    Schedule.from_record(row.schedule), tuple(row.tags or ()))


# Built once: every earning asks which campaigns run now. The ones still to start come too, so the
# list kept with the rules holds until one of them changes.
NOT_ENDED = direct(select(campaigns).where(campaigns.c.ends_at > bindparam("at"), campaigns.c.enabled.is_(True)))
# Kept with the rules (brand settings), and forgotten with them when a campaign is written.
NOT_ENDED_KEY = "campaigns:not-ended"


class SqlCampaignRepository:
    def __init__(self, connection, settings: SqlSettingsRepository) -> None:
        self.connection = connection
        self.settings = settings  # its cache, and what this transaction wrote

    async def get(self, code: str) -> Campaign | None:
        row = (await self.connection.execute(select(campaigns).where(campaigns.c.code == code))).first()
        return campaign_from_row(row) if row else None

    async def all(self) -> list[Campaign]:
        rows = await self.connection.execute(select(campaigns).order_by(campaigns.c.starts_at, campaigns.c.code))
        return [campaign_from_row(row) for row in rows]

    async def active(self, at: datetime) -> list[Campaign]:
        kept = self.settings.kept(NOT_ENDED_KEY)
        if kept is None or kept[0] > at:  # read at a later moment (a test's clock went back): read again
            kept = (at, [campaign_from_row(row) for row in await self.connection.execute(NOT_ENDED, {"at": at})])
            self.settings.keep(NOT_ENDED_KEY, kept)
        return [campaign for campaign in kept[1] if campaign.starts_at <= at < campaign.ends_at]

    async def put(self, campaign: Campaign) -> None:
        values = {"name": campaign.name, "multiplier_permille": campaign.multiplier_permille,
                  "starts_at": campaign.starts_at, "ends_at": campaign.ends_at,
                  "reasons": [r.value for r in campaign.reasons], "tier_levels": list(campaign.tier_levels),
                  "enabled": campaign.enabled, "min_order_fen": campaign.min_order_fen,
                  "bonus_points": campaign.bonus_points, "segments": [s.value for s in campaign.segments],
                  "schedule": campaign.schedule.to_record() if campaign.schedule else None,
                  "tags": list(campaign.tags)}
        self.settings.wrote(NOT_ENDED_KEY)
        statement = upsert(self.connection.dialect.name)(campaigns).values(code=campaign.code, **values)
        await self.connection.execute(statement.on_conflict_do_update(index_elements=["code"], set_=values))
