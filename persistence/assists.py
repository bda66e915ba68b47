"""Assist campaigns and their helpers (one row per helper and campaign)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select, update

from domain.assists import AssistCampaign
from persistence.members import on_device
from persistence.tables import assist_campaigns, assist_helpers, members


def campaign_from_row(row) -> AssistCampaign:
    return AssistCampaign(row.owner_id, row.title, row.started_at, row.ends_at, row.helpers, row.points_paid, row.id,
                          tuple(tuple(t) for t in row.thresholds))


class SqlAssistRepository:
    def __init__(self, connection) -> None:
        self.connection = connection

    async def get(self, campaign_id: int) -> AssistCampaign | None:
        row = (await self.connection.execute(
            select(assist_campaigns).where(assist_campaigns.c.id == campaign_id))).first()
        return campaign_from_row(row) if row else None

    async def latest_of(self, owner_id: int) -> AssistCampaign | None:
        found = await self.of_owner(owner_id, 1)
        return found[0] if found else None

    async def of_owner(self, owner_id: int, limit: int) -> list[AssistCampaign]:
        rows = await self.connection.execute(select(assist_campaigns).where(assist_campaigns.c.owner_id == owner_id)
                                             .order_by(assist_campaigns.c.id.desc()).limit(limit))
        return [campaign_from_row(row) for row in rows]

    async def add(self, campaign: AssistCampaign) -> None:
        result = await self.connection.execute(insert(assist_campaigns).values(
            owner_id=campaign.owner_id, title=campaign.title, started_at=campaign.started_at, ends_at=campaign.ends_at,
            helpers=campaign.helpers, points_paid=campaign.points_paid,
            thresholds=[list(t) for t in campaign.thresholds]).returning(assist_campaigns.c.id))
        campaign.id = result.scalar_one()

    async def update(self, campaign: AssistCampaign) -> None:
        await self.connection.execute(update(assist_campaigns).where(assist_campaigns.c.id == campaign.id).values(
            helpers=campaign.helpers, points_paid=campaign.points_paid))

    async def has_helped(self, campaign_id: int, helper_id: int) -> bool:
        found = await self.connection.scalar(select(assist_helpers.c.helper_id).where(
            assist_helpers.c.campaign_id == campaign_id, assist_helpers.c.helper_id == helper_id))
        return found is not None

    async def device_helped(self, campaign_id: int, device_id: str | None, phone_hash: str | None) -> bool:
        same = on_device(device_id, phone_hash)
        if same is None:
            return False
        found = await self.connection.scalar(select(assist_helpers.c.helper_id).select_from(
            assist_helpers.join(members, members.c.id == assist_helpers.c.helper_id))
            .where(assist_helpers.c.campaign_id == campaign_id, same).limit(1))
        return found is not None

    async def helps_since(self, helper_id: int, since: datetime) -> int:
        return await self.connection.scalar(select(func.count()).select_from(assist_helpers).where(
            assist_helpers.c.helper_id == helper_id, assist_helpers.c.assisted_at >= since))

    async def add_helper(self, campaign_id: int, helper_id: int, at: datetime) -> None:
        await self.connection.execute(insert(assist_helpers).values(
            campaign_id=campaign_id, helper_id=helper_id, assisted_at=at))
