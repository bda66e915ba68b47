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
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from domain.configuration import Actor, check_presence
from domain.errors import InvalidInput
from domain.ledger import LedgerReason
from domain.segments import Segment, member_segments
from domain.text import checked_text
from domain.tiers import TIER_LEVELS

if TYPE_CHECKING:
    from domain.clock import Clock
    from domain.members import Member
    from domain.ports import Transactions, UnitOfWork

CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}\Z")
BOOSTABLE = frozenset({LedgerReason.ORDER, LedgerReason.TASK, LedgerReason.CHECK_IN})
MAX_CAMPAIGN_LENGTH = timedelta(days=366)


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
        if not timedelta(0) < self.ends_at - self.starts_at <= MAX_CAMPAIGN_LENGTH:
            raise InvalidInput("a campaign ends after it starts and lasts at most a year", ("endsAt",))
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
                and (not self.segments or not audience.segments.isdisjoint(self.segments)))


@dataclass(frozen=True)
class Audience:
    """What a campaign's targeting looks at in a member."""

    tier_level: int
    segments: frozenset[Segment] = frozenset()


async def audience_of(uow: "UnitOfWork", member: "Member", campaigns: list[Campaign]) -> Audience:
    """The member's segments are read only when a running campaign targets segments."""
    if not any(c.segments for c in campaigns):
        return Audience(member.tier_level)
    return Audience(member.tier_level, await member_segments(uow, member.id))


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
    return boost(base_points, best_campaign(running, at, reason, await audience_of(uow, member, running)))


class CampaignService:
    def __init__(self, transactions: "Transactions", clock: "Clock") -> None:
        self.transactions = transactions
        self.clock = clock

    async def list(self) -> list[Campaign]:
        return await self.transactions.read(lambda uow: uow.campaigns.all())

    async def save(self, staff: Actor, campaign: Campaign, *, create: bool) -> Campaign:
        async def work(uow: "UnitOfWork") -> Campaign:
            exists = await uow.campaigns.get(campaign.code) is not None
            check_presence(exists, create=create, what="campaign", code=campaign.code)
            await uow.campaigns.put(campaign)
            await uow.audit.record(staff.label, "campaign.create" if create else "campaign.update", campaign.code,
                                   campaign_record(campaign), self.clock.now())
            return campaign

        return await self.transactions.write(work)


def campaign_record(c: Campaign) -> dict:
    return {"name": c.name, "multiplierPermille": c.multiplier_permille, "startsAt": c.starts_at.isoformat(),
            "endsAt": c.ends_at.isoformat(), "reasons": [r.value for r in c.reasons],
            "tierLevels": list(c.tier_levels), "enabled": c.enabled, "minOrderFen": c.min_order_fen,
            "bonusPoints": c.bonus_points, "segments": [s.value for s in c.segments]}
