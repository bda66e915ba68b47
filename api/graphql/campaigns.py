"""Campaigns: time-boxed earn multipliers (double-points days), managed by staff, visible to all."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, TYPE_CHECKING

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
from domain.tags import checked_tags

if TYPE_CHECKING:
    from api.graphql.mall import MallItemType

ScheduleKind = strawberry.enum(campaigns.ScheduleKind, description=(
    "MONTH_DAYS: days of each month (1-31, -1 the last day); WEEKDAYS: 1 Monday .. 7 Sunday; DATES: explicit "
    "dates. Days are the brand's, in its time zone."))


@strawberry.type(description="When a recurring campaign (会员日) runs, between its start and end.")
class CampaignSchedule:
    kind: ScheduleKind  # type: ignore[valid-type]
    days: list[int] = strawberry.field(description="MONTH_DAYS or WEEKDAYS.")
    dates: list[date] = strawberry.field(description="DATES.")

    @classmethod
    def of(cls, schedule: campaigns.Schedule | None) -> "CampaignSchedule | None":
        return None if schedule is None else cls(kind=schedule.kind, days=list(schedule.days),
                                                 dates=list(schedule.dates))


@strawberry.input
class CampaignScheduleInput:
    kind: ScheduleKind  # type: ignore[valid-type]
    days: list[int] = strawberry.field(default_factory=list, description="MONTH_DAYS (1-31, -1 the last day) or "
                                                                         "WEEKDAYS (1 Monday .. 7 Sunday).")
    dates: list[date] = strawberry.field(default_factory=list, description="DATES: at most 366.")

    def to_domain(self) -> campaigns.Schedule:
        return campaigns.Schedule(campaigns.ScheduleKind(self.kind.value), tuple(sorted(set(self.days[:31]))),
                                  tuple(sorted(set(self.dates[:367]))))


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
    schedule: CampaignSchedule | None = strawberry.field(
        description="A member day (会员日): it runs only on these days between startsAt and endsAt. Null: all along.")
    tags: list[str] = strawberry.field(description="Empty: every member; otherwise members holding any of these "
                                                   "tags.")

    @classmethod
    def of(cls, c: campaigns.Campaign) -> "Campaign":
        return cls(code=c.code, name=c.name, multiplier=c.multiplier_permille / 1000, starts_at=c.starts_at,
                   ends_at=c.ends_at, reasons=list(c.reasons), tier_levels=list(c.tier_levels), enabled=c.enabled,
                   min_order_fen=c.min_order_fen, bonus_points=c.bonus_points, segments=list(c.segments),
                   schedule=CampaignSchedule.of(c.schedule), tags=list(c.tags))


@strawberry.type(description="A recurring campaign's next day and the mall items kept for its days (会员日专享).")
class MemberDay:
    campaign: Campaign
    next_day: date = strawberry.field(description="Today when today is one; in the brand's time zone.")
    running: bool = strawberry.field(description="It runs now: its multiplier applies and its items can be "
                                                 "redeemed.")
    items: list[Annotated["MallItemType", strawberry.lazy("api.graphql.mall")]]

    @classmethod
    def of(cls, day: campaigns.MemberDay) -> "MemberDay":
        from api.graphql.mall import MallItemType
        return cls(campaign=Campaign.of(day.campaign), next_day=day.next_day, running=day.running,
                   items=[MallItemType(_item=item) for item in day.items])


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
    schedule: CampaignScheduleInput | None = strawberry.field(
        default=None, description="Makes it a member day: it runs on these days only (up to five years long).")
    tags: list[str] = strawberry.field(default_factory=list, description="Only members holding any of these tags.")


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
                              data.bonus_points, tuple(sorted({DomainSegment(x.value) for x in data.segments})),
                              data.schedule.to_domain() if data.schedule else None, checked_tags(tuple(data.tags[:11])))


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

    @strawberry.field(description="Member days (会员日) still to come, soonest first, each with its shelf.")
    async def member_days(self, info: Info) -> list[MemberDay]:
        return [MemberDay.of(d) for d in await info.context.services.campaigns.member_days()]


@strawberry.type
class CampaignMutations:
    @strawberry.mutation(description="Staff: create a campaign.")
    async def create_campaign(self, info: Info, input: CampaignInput) -> CampaignPayload:
        return await save(info, input, create=True)

    @strawberry.mutation(description="Staff: change a campaign (by code), e.g. `enabled: false` to stop it.")
    async def update_campaign(self, info: Info, input: CampaignInput) -> CampaignPayload:
        return await save(info, input, create=False)
