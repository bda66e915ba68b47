"""Campaigns (活动): time-boxed earn multipliers (a double-points day) and order threshold bonuses
(满100送100: an order of at least 100 yuan earns 100 extra points).

Overlap rule: multipliers do not stack with each other, nor threshold bonuses with each other.
When several multipliers are active for the same earning, the highest applies (on a tie, the
one that ends first, then the lowest code); when several threshold bonuses are met, the largest
applies.

A campaign may target tiers and segments (千人千面): a member qualifies when their tier is among the
campaign's tiers (if it names any) and they are in at least one of its segments (if it names any),
as the last segment refresh stored them. One multiplier and one threshold bonus do combine: the bonus is added to the
multiplied points. Extra points go in a separate ``CAMPAIGN_BONUS`` entry that names the
campaign(s).

Recurring member days (会员日): a campaign with a ``Schedule`` runs only on the days it names, in
the brand's time zone, between its start and end: the Nth day(s) of each month (-1: the month's
last day; a month without the 18th simply has no 18th), weekdays (1 Monday .. 7 Sunday), or
explicit dates. Mall items can be kept for the days of such a campaign (``MallItem.member_day``).
"""
from __future__ import annotations

import re
import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING

from domain.brand import brand_settings
from domain.configuration import Actor, check_presence
from domain.errors import ErrorCode, InvalidInput, Refusal
from domain.ledger import LedgerReason
from domain.segments import Segment, member_segments
from domain.tags import check_tags_exist
from domain.text import checked_text
from domain.tiers import TIER_LEVELS

if TYPE_CHECKING:
    from domain.clock import Clock
    from domain.members import Member
    from domain.ports import Transactions, UnitOfWork

CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}\Z")
BOOSTABLE = frozenset({LedgerReason.ORDER, LedgerReason.TASK, LedgerReason.CHECK_IN})
MAX_CAMPAIGN_LENGTH = timedelta(days=366)
MAX_SCHEDULED_LENGTH = timedelta(days=5 * 366)  # member days are set up for years, not for one event
MAX_DATES = 366


class ScheduleKind(str, Enum):
    MONTH_DAYS = "MONTH_DAYS"  # days of each month: 8, 18, 28; -1 the last day
    WEEKDAYS = "WEEKDAYS"  # ISO weekdays: 1 Monday .. 7 Sunday
    DATES = "DATES"  # explicit dates


@dataclass(frozen=True)
class Schedule:
    kind: ScheduleKind
    days: tuple[int, ...] = ()  # MONTH_DAYS or WEEKDAYS
    dates: tuple[date, ...] = ()  # DATES

    def __post_init__(self) -> None:
        if self.kind is ScheduleKind.DATES:
            if not 1 <= len(self.dates) <= MAX_DATES or self.days:
                raise InvalidInput(f"a DATES schedule names 1-{MAX_DATES} dates and no days", ("schedule", "dates"))
            return
        allowed = set(range(1, 32)) | {-1} if self.kind is ScheduleKind.MONTH_DAYS else set(range(1, 8))
        if not self.days or self.dates or any(d not in allowed for d in self.days):
            what = "days of the month 1-31 (or -1, the last)" if self.kind is ScheduleKind.MONTH_DAYS \
                else "weekdays 1 (Monday) to 7 (Sunday)"
            raise InvalidInput(f"a {self.kind.value} schedule names {what}", ("schedule", "days"))

    def falls_on(self, day: date) -> bool:
        if self.kind is ScheduleKind.DATES:
            return day in self.dates
        if self.kind is ScheduleKind.WEEKDAYS:
            return day.isoweekday() in self.days
        last = calendar.monthrange(day.year, day.month)[1]
        return day.day in self.days or (day.day == last and -1 in self.days)

    def next_day(self, start: date, last: date) -> date | None:
        """The first day in [start, last] the schedule falls on."""
        if self.kind is ScheduleKind.DATES:
            return min((d for d in self.dates if start <= d <= last), default=None)
        day = start
        while day <= last and day - start <= timedelta(days=62):  # every day of the month comes within 62
            if self.falls_on(day):
                return day
            day += timedelta(days=1)
        return None

    def to_record(self) -> dict:
        return {"kind": self.kind.value, "days": list(self.days), "dates": [d.isoformat() for d in self.dates]}

    @classmethod
    def from_record(cls, record: dict | None) -> "Schedule | None":
        if not record:
            return None
        return cls(ScheduleKind(record["kind"]), tuple(record.get("days", ())),
                   tuple(date.fromisoformat(d) for d in record.get("dates", ())))


@dataclass(frozen=True)
class Campaign:
    code: str
    name: str
    multiplier_permille: int
    starts_at: datetime
    ends_at: datetime
    reasons: tuple[LedgerReason, ...] = (LedgerReason.ORDER,)
    tier_levels: tuple[int, ...] = ()  # empty: every tier
    enabled: bool = True
    min_order_fen: int = 0  # threshold bonus: an order of at least this much ...
    bonus_points: int = 0  # ... earns this many extra points
    segments: tuple[Segment, ...] = ()  # empty: every member
    schedule: Schedule | None = None  # None: every moment between start and end
    tags: tuple[str, ...] = ()  # empty: every member; otherwise members holding any of these tags

    @property
    def is_threshold_bonus(self) -> bool:
        return self.bonus_points > 0

    def __post_init__(self) -> None:
        if not CODE_PATTERN.match(self.code):
            raise InvalidInput("code must be 1-40 lowercase letters, digits, _ or -", ("code",))
        checked_text(self.name, "name", max_length=60)
        if self.is_threshold_bonus:
            self._check_threshold()
        elif not 1001 <= self.multiplier_permille <= 10000:
            raise InvalidInput("multiplier must be above 1.0 and at most 10.0 (or set a threshold bonus)",
                               ("multiplier",))
        if not timedelta(0) < self.ends_at - self.starts_at <= \
                (MAX_SCHEDULED_LENGTH if self.schedule else MAX_CAMPAIGN_LENGTH):
            raise InvalidInput("a campaign ends after it starts and lasts at most a year (five with a schedule)",
                               ("endsAt",))
        if not self.reasons or any(r not in BOOSTABLE for r in self.reasons):
            raise InvalidInput("a campaign boosts ORDER, TASK or CHECK_IN earnings", ("reasons",))
        if any(level not in TIER_LEVELS for level in self.tier_levels):
            raise InvalidInput("tier levels are 1-6", ("tierLevels",))

    def _check_threshold(self) -> None:
        if self.multiplier_permille != 1000:
            raise InvalidInput("a campaign is a multiplier or a threshold bonus, not both", ("multiplier",))
        if not 1 <= self.bonus_points <= 100_000:
            raise InvalidInput("bonus points must be 1-100000", ("bonusPoints",))
        if not 1 <= self.min_order_fen <= 100_000_000_00:
            raise InvalidInput("a threshold bonus needs a minimum order amount", ("minOrderFen",))
        if self.reasons != (LedgerReason.ORDER,):
            raise InvalidInput("a threshold bonus applies to orders only", ("reasons",))

    def applies(self, at: datetime, reason: LedgerReason, audience: "Audience") -> bool:
        return (self.enabled and self.starts_at <= at < self.ends_at and reason in self.reasons
                and (not self.tier_levels or audience.tier_level in self.tier_levels)
                and (not self.segments or not audience.segments.isdisjoint(self.segments))
                and (not self.tags or not audience.tags.isdisjoint(self.tags))
                and (self.schedule is None or (audience.day is not None and self.schedule.falls_on(audience.day))))

    def runs_at(self, at: datetime, day: date) -> bool:
        """Whether it runs at ``at``, whose day in the brand's time zone is ``day``."""
        return self.enabled and self.starts_at <= at < self.ends_at and \
            (self.schedule is None or self.schedule.falls_on(day))

    def next_day(self, today: date, zone) -> date | None:
        """Its next day, today included, in the brand's time zone (None once it is over)."""
        first = max(today, self.starts_at.astimezone(zone).date())
        last = (self.ends_at - timedelta(microseconds=1)).astimezone(zone).date()
        if not self.enabled or first > last:
            return None
        return first if self.schedule is None else self.schedule.next_day(first, last)


@dataclass(frozen=True)
class MemberDay:
    """A scheduled campaign as a page shows it: its next day, whether it runs now, the items kept for it."""

    campaign: Campaign
    next_day: date
    running: bool
    items: list = field(default_factory=list)  # MallItem: the mall imports campaigns, not the other way


@dataclass(frozen=True)
class Audience:
    """What a campaign's targeting looks at: the member, and the brand's day it is for schedules."""

    tier_level: int
    segments: frozenset[Segment] = frozenset()
    day: date | None = None
    tags: frozenset[str] = frozenset()


async def audience_of(uow: "UnitOfWork", member: "Member", campaigns: list[Campaign], at: datetime) -> Audience:
    """The member's segments are read only when a running campaign targets segments, the brand's
    day only when one has a schedule, the member's tags only when one targets tags."""
    segments = await member_segments(uow, member.id) if any(c.segments for c in campaigns) else frozenset()
    day = (await brand_settings(uow)).local_date(at) if any(c.schedule for c in campaigns) else None
    tags = (await uow.tags.of_members([member.id]))[member.id] if any(c.tags for c in campaigns) else ()
    return Audience(member.tier_level, frozenset(segments), day, frozenset(tags))


@dataclass(frozen=True)
class Boost:
    campaign: Campaign
    base_points: int
    bonus_points: int


def best_campaign(campaigns: list[Campaign], at: datetime, reason: LedgerReason,
                  audience: Audience) -> Campaign | None:
    eligible = [c for c in campaigns if not c.is_threshold_bonus and c.applies(at, reason, audience)]
    if not eligible:
        return None
    return min(eligible, key=lambda c: (-c.multiplier_permille, c.ends_at, c.code))


def best_threshold_bonus(campaigns: list[Campaign], at: datetime, audience: Audience,
                         amount_fen: int) -> Campaign | None:
    met = [c for c in campaigns if c.is_threshold_bonus and amount_fen >= c.min_order_fen
           and c.applies(at, LedgerReason.ORDER, audience)]
    return min(met, key=lambda c: (-c.bonus_points, c.ends_at, c.code)) if met else None


def boost(base_points: int, campaign: Campaign | None) -> Boost | None:
    """The campaign's extra points on top of ``base_points`` (floor of the boosted total)."""
    if campaign is None:
        return None
    bonus = base_points * campaign.multiplier_permille // 1000 - base_points
    return Boost(campaign, base_points, bonus) if bonus > 0 else None


async def boost_for(uow: "UnitOfWork", base_points: int, at: datetime, reason: LedgerReason,
                    member: "Member") -> Boost | None:
    running = await uow.campaigns.active(at)
    return boost(base_points, best_campaign(running, at, reason, await audience_of(uow, member, running, at)))


async def member_day_refusal(uow: "UnitOfWork", code: str, what: str, now: datetime,
                             early: timedelta = timedelta(0)) -> Refusal | None:
    """The refusal of ``what`` (kept for the days of campaign ``code``) outside those days; ``early``:
    how much sooner the member's tier may enter (the EARLY_ACCESS perk)."""
    campaign, brand = await uow.campaigns.get(code), await brand_settings(uow)
    today = brand.local_date(now)
    if campaign is not None and (campaign.runs_at(now, today) or (
            early and campaign.runs_at(now + early, brand.local_date(now + early)))):
        return None
    upcoming = campaign.next_day(today + timedelta(days=1), brand.zone) if campaign else None
    when = f": the next is {upcoming.isoformat()}" if upcoming else ""
    return Refusal(ErrorCode.NOT_MEMBER_DAY, f"{what} is for member days{when}", ("itemId",))


async def check_member_day_campaign(uow: "UnitOfWork", code: str) -> None:
    """What an item may be kept for: a campaign with a schedule."""
    campaign = await uow.campaigns.get(code)
    if campaign is None or campaign.schedule is None:
        raise InvalidInput("memberDay names a campaign with a schedule", ("memberDay",))


class CampaignService:
    def __init__(self, transactions: "Transactions", clock: "Clock") -> None:
        self.transactions = transactions
        self.clock = clock

    async def list(self) -> list[Campaign]:
        return await self.transactions.read(lambda uow: uow.campaigns.all())

    async def member_days(self) -> list[MemberDay]:
        """Scheduled campaigns with a day still to come (today included), soonest first, with their shelves."""
        now = self.clock.now()

        async def work(uow: "UnitOfWork") -> list[MemberDay]:
            brand = await brand_settings(uow)
            today = brand.local_date(now)
            found = []
            for campaign in await uow.campaigns.all():
                upcoming = campaign.next_day(today, brand.zone) if campaign.schedule else None
                if upcoming is not None:
                    found.append(MemberDay(campaign, upcoming, campaign.runs_at(now, today),
                                           await uow.mall.member_day_items(campaign.code)))
            return sorted(found, key=lambda d: (d.next_day, d.campaign.code))

        return await self.transactions.read(work)

    async def save(self, staff: Actor, campaign: Campaign, *, create: bool) -> Campaign:
        async def work(uow: "UnitOfWork") -> Campaign:
            exists = await uow.campaigns.get(campaign.code) is not None
            check_presence(exists, create=create, what="campaign", code=campaign.code)
            await check_tags_exist(uow, campaign.tags)
            await uow.campaigns.put(campaign)
            await uow.audit.record(staff.label, "campaign.create" if create else "campaign.update", campaign.code,
                                   campaign_record(campaign), self.clock.now())
            return campaign

        return await self.transactions.write(work)


def campaign_record(c: Campaign) -> dict:
    return {"name": c.name, "multiplierPermille": c.multiplier_permille, "startsAt": c.starts_at.isoformat(),
            "endsAt": c.ends_at.isoformat(), "reasons": [r.value for r in c.reasons],
            "tierLevels": list(c.tier_levels), "enabled": c.enabled, "minOrderFen": c.min_order_fen,
            "bonusPoints": c.bonus_points, "segments": [s.value for s in c.segments],
            "schedule": c.schedule.to_record() if c.schedule else None, "tags": list(c.tags)}
