"""Staff: the operator's numbers over a range of the brand's days."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from api.graphql.errors import require_staff
from api.graphql.ledger import LedgerReason
from api.graphql.members import Tier
from api.graphql.relay import check_first, to_global_id
from api.graphql.scalars import Long
from domain import analytics

@strawberry.type(description="One reason's points on a day: credited, and debited (as a positive number).")
class ReasonFlow:
    reason: LedgerReason  # type: ignore[valid-type]
    credited: Long
    debited: Long


@strawberry.type(description="Points issued and taken on one of the brand's days.")
class DailyPoints:
    _flow: strawberry.Private[analytics.DayFlow]

    @strawberry.field
    def day(self) -> date:
        return self._flow.day

    @strawberry.field(description="Every credit but refunds, imported balances and gifts: the points issued, less "
                                  "the order points refunds took back (refundedOrderPoints).")
    def earned(self) -> Long:
        return self._flow.earned

    @strawberry.field(description="Order points refunds took back that day: left out of earned and reversed.")
    def refunded_order_points(self) -> Long:
        return self._flow.refunded_order_points

    @strawberry.field(description="Given back when a redemption or deduction was cancelled.")
    def refunded(self) -> Long:
        return self._flow.refunded

    @strawberry.field(description="Spent on redemptions, checkout, deductions, lottery entries, exchanges out and "
                                  "conversions.")
    def burned(self) -> Long:
        return self._flow.burned

    @strawberry.field(description="Expired (breakage).")
    def expired(self) -> Long:
        return self._flow.expired

    @strawberry.field(description="Taken back: reversals (order refunds aside) and negative staff adjustments.")
    def reversed(self) -> Long:
        return self._flow.reversed

    @strawberry.field(description="Points members gave each other: neither earned nor burned.")
    def gifted(self) -> Long:
        return self._flow.gifted

    @strawberry.field(description="Idle or expiring points turned into a better benefit (part of burned).")
    def converted(self) -> Long:
        return self._flow.converted

    @strawberry.field(description="Members who did something themselves that day.")
    def active_members(self) -> int:
        return self._flow.active_members

    @strawberry.field
    def by_reason(self) -> list[ReasonFlow]:
        return [ReasonFlow(reason=f.reason, credited=f.credited, debited=f.debited)
                for f in sorted(self._flow.reasons.values(), key=lambda f: f.reason.value)]


@strawberry.type
class WeeklyActive:
    week_starting: date
    members: int


@strawberry.type(description="A mall item's redemptions (cancelled ones left out) and views in the range.")
class ItemHeat:
    item_id: strawberry.ID
    item_name: str
    redemptions: int
    quantity: int
    points: Long
    members: int
    views: int = strawberry.field(description="Member-days of views (viewMallItem): a member counts once a day.")
    conversion: float | None = strawberry.field(description="redemptions / views; null when nobody viewed it.")


@strawberry.type(description="A task's completions, or a campaign's boosted orders, in the range.")
class Participation:
    code: str
    times: int
    members: int
    bonus_points: Long


@strawberry.type(description="Figures over the range `from`..`to` (brand time zone, at most 92 days).")
class Analytics:
    _period: strawberry.Private[analytics.Period]

    @strawberry.field(name="from")
    def first_day(self) -> date:
        return self._period.first_day

    @strawberry.field(name="to")
    def last_day(self) -> date:
        return self._period.last_day

    @strawberry.field
    def days(self) -> list[DailyPoints]:
        return [DailyPoints(_flow=d) for d in self._period.days]

    @strawberry.field(description="Points issued over the range, less the order points refunds took back.")
    def earned(self) -> Long:
        return self._period.earned

    @strawberry.field(description="Order points refunds took back over the range.")
    def refunded_order_points(self) -> Long:
        return self._period.refunded_order_points

    @strawberry.field
    def refunded(self) -> Long:
        return self._period.refunded

    @strawberry.field
    def burned(self) -> Long:
        return self._period.burned

    @strawberry.field
    def expired(self) -> Long:
        return self._period.expired

    @strawberry.field
    def reversed(self) -> Long:
        return self._period.reversed

    @strawberry.field(description="Points members gave each other over the range.")
    def gifted(self) -> Long:
        return self._period.gifted

    @strawberry.field(description="Idle or expiring points turned into a better benefit (part of burned).")
    def converted(self) -> Long:
        return self._period.converted

    @strawberry.field(description="burned / earned (0 when nothing was earned).")
    def redemption_rate(self) -> float:
        return self._period.redemption_rate

    @strawberry.field(description="expired / earned (0 when nothing was earned).")
    def breakage_rate(self) -> float:
        return self._period.breakage_rate

    @strawberry.field(description="Distinct members active on any day of the range.")
    def active_members(self) -> int:
        return self._period.active_members

    @strawberry.field(description="Distinct active members per week (Monday to Sunday, clipped to the range).")
    def weekly_active_members(self) -> list[WeeklyActive]:
        return [WeeklyActive(week_starting=monday, members=n) for monday, n in self._period.weekly_active]

    @strawberry.field(description="The most redeemed items, by quantity.")
    async def item_heat(self, info: Info, first: int = 10) -> list[ItemHeat]:
        found = await info.context.services.analytics.item_heat(self._period.first_day, self._period.last_day,
                                                                 check_first(first))
        return [ItemHeat(item_id=to_global_id("MallItem", h.item_id), item_name=h.item_name,
                         redemptions=h.redemptions, quantity=h.quantity, points=h.points, members=h.members,
                         views=h.views, conversion=h.conversion) for h in found]

    @strawberry.field
    async def task_participation(self, info: Info) -> list[Participation]:
        found = await info.context.services.analytics.task_participation(self._period.first_day,
                                                                         self._period.last_day)
        return [participation(p) for p in found]

    @strawberry.field(description="Orders a campaign boosted (multiplier or threshold bonus) and what it paid.")
    async def campaign_participation(self, info: Info) -> list[Participation]:
        found = await info.context.services.analytics.campaign_participation(self._period.first_day,
                                                                             self._period.last_day)
        return [participation(p) for p in found]


def participation(p: analytics.Participation) -> Participation:
    return Participation(code=p.code, times=p.times, members=p.members, bonus_points=p.points)


@strawberry.type(description="What the brand owes its members in points, now.")
class Liability:
    _liability: strawberry.Private[analytics.Liability]

    @strawberry.field(description="Points members hold, spendable or held by an open order.")
    def outstanding_points(self) -> Long:
        return self._liability.outstanding_points

    @strawberry.field
    def held_points(self) -> Long:
        return self._liability.held_points

    @strawberry.field(description="Not yet members' for good (orders in their return window).")
    def pending_points(self) -> Long:
        return self._liability.pending_points

    @strawberry.field(description="Points members owe after reversals of points they had spent.")
    def debt_points(self) -> Long:
        return self._liability.debt_points

    @strawberry.field
    def members_with_points(self) -> int:
        return self._liability.members_with_points

    @strawberry.field(description="outstandingPoints at the deduction rate, in fen (rounded down).")
    def value_fen(self) -> Long:
        return self._liability.value_fen

    @strawberry.field(description="When these sums were taken: a server keeps them a minute (`refresh: true` "
                                  "takes them again).")
    def as_of(self) -> datetime:
        return self._liability.as_of

    @strawberry.field(description="Breakage forecast: points in lots that expire within `days` unless spent.")
    async def expiring_within(self, info: Info, days: int) -> Long:
        return await info.context.services.analytics.expiring_within(days)


@strawberry.type
class TierCount:
    tier: Tier
    members: int
    as_of: datetime = strawberry.field(description="When counted: a server keeps the counts a minute.")


@strawberry.type
class AnalyticsQueries:
    @strawberry.field(description="Staff: earned vs burned, rates, active members, item heat and participation.")
    async def analytics(self, info: Info, from_: Annotated[date, strawberry.argument(name="from")],
                        to: date) -> Analytics:
        require_staff(info)
        return Analytics(_period=await info.context.services.analytics.period(from_, to))

    @strawberry.field(description="Staff: the points liability, as of at most a minute ago (`refresh: true`: now).")
    async def liability(self, info: Info, refresh: bool = False) -> Liability:
        require_staff(info)
        return Liability(_liability=await info.context.services.analytics.liability(refresh=refresh))

    @strawberry.field(description="Staff: how many members each tier holds, as of at most a minute ago "
                                  "(`refresh: true`: now).")
    async def tier_distribution(self, info: Info, refresh: bool = False) -> list[TierCount]:
        require_staff(info)
        as_of, counts = await info.context.services.analytics.tier_distribution(refresh=refresh)
        table = await info.context.loaders.tiers.load("tiers")
        return [TierCount(tier=Tier.of(t), members=counts.get(t.level, 0), as_of=as_of) for t in table.tiers]
