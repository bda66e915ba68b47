"""Campaigns: time-boxed earn multipliers (double-points days), managed by staff, visible to all."""
from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from api.graphql.conversions import multiplier_permille
from api.graphql.errors import UserError, require_staff, user_errors
from api.graphql.ledger import LedgerReason
from api.graphql.segments import Segment
from domain import campaigns
from domain.errors import DomainError, InvalidInput
from domain.ledger import LedgerReason as DomainReason
from domain.segments import Segment as DomainSegment


@strawberry.type(description="Overlapping campaigns do not stack: the highest multiplier applies.")
class Campaign:
    code: str
    name: str
    multiplier: float
    starts_at: datetime
    ends_at: datetime
    reasons: list[LedgerReason]  # type: ignore[valid-type]
    tier_levels: list[int] = strawberry.field(description="Empty: every tier.")
    enabled: bool
    min_order_fen: int = strawberry.field(description="Threshold bonus: an order of at least this much ...")
    bonus_points: int = strawberry.field(description="... earns this many extra points (满100送100).")
    segments: list[Segment] = strawberry.field(  # type: ignore[valid-type]
        description="Empty: every member; otherwise members in any of these segments.")

    @classmethod
    def of(cls, c: campaigns.Campaign) -> "Campaign":
        return cls(code=c.code, name=c.name, multiplier=c.multiplier_permille / 1000, starts_at=c.starts_at,
                   ends_at=c.ends_at, reasons=list(c.reasons), tier_levels=list(c.tier_levels), enabled=c.enabled,
                   min_order_fen=c.min_order_fen, bonus_points=c.bonus_points, segments=list(c.segments))


@strawberry.input
class CampaignInput:
    code: str
    name: str
    starts_at: datetime
    ends_at: datetime
    reasons: list[LedgerReason] = strawberry.field(default_factory=lambda: [DomainReason.ORDER])  # type: ignore
    tier_levels: list[int] = strawberry.field(default_factory=list)
    enabled: bool = True
    multiplier: float = strawberry.field(default=1.0, description="Above 1.0 for a multiplier campaign.")
    min_order_fen: int = 0
    bonus_points: int = strawberry.field(default=0, description="Above 0 (with minOrderFen) for a threshold bonus.")
    segments: list[Segment] = strawberry.field(default_factory=list)  # type: ignore[valid-type]


@strawberry.type
class CampaignPayload:
    campaign: Campaign | None
    user_errors: list[UserError]


def to_domain(data: CampaignInput) -> campaigns.Campaign:
    if any(not 2000 <= moment.year <= 2200 for moment in (data.starts_at, data.ends_at)):
        raise InvalidInput("campaign dates fall between the years 2000 and 2200", ("startsAt",))
    return campaigns.Campaign(data.code, data.name.strip(), multiplier_permille(data.multiplier, "multiplier"), data.starts_at,
                              data.ends_at, tuple(DomainReason(r.value) for r in data.reasons[:5]),
                              tuple(sorted(set(data.tier_levels[:6]))), data.enabled, data.min_order_fen,
                              data.bonus_points, tuple(sorted({DomainSegment(x.value) for x in data.segments})))


async def save(info: Info, data: CampaignInput, *, create: bool) -> CampaignPayload:
    staff = require_staff(info)
    try:
        campaign = await info.context.services.campaigns.save(staff.actor, to_domain(data), create=create)
    except DomainError as error:
        return CampaignPayload(campaign=None, user_errors=user_errors(error))
    return CampaignPayload(campaign=Campaign.of(campaign), user_errors=[])


@strawberry.type
class CampaignQueries:
    @strawberry.field(description="Every campaign, past, running and upcoming.")
    async def campaigns(self, info: Info) -> list[Campaign]:
        return [Campaign.of(c) for c in await info.context.services.campaigns.list()]


@strawberry.type
class CampaignMutations:
    @strawberry.mutation(description="Staff: create a campaign.")
    async def create_campaign(self, info: Info, input: CampaignInput) -> CampaignPayload:
        return await save(info, input, create=True)

    @strawberry.mutation(description="Staff: change a campaign (by code), e.g. `enabled: false` to stop it.")
    async def update_campaign(self, info: Info, input: CampaignInput) -> CampaignPayload:
        return await save(info, input, create=False)
