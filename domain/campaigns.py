"""Campaigns (活动): time-boxed earn multipliers such as a double-points day.

Overlap rule: campaigns do not stack. When several are active for the same
earning, the one with the highest multiplier applies (on a tie, the one that
ends first, then the lowest code), so a brand's worst case is its most
generous single campaign. Extra points go in a separate ``CAMPAIGN_BONUS``
entry that names the campaign.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from domain.configuration import Actor
from domain.errors import ErrorCode, InvalidInput, Refusal
from domain.ledger import LedgerReason
from domain.text import checked_text
from domain.tiers import TIER_LEVELS

if TYPE_CHECKING:
    from domain.clock import Clock
    from domain.ports import Transactions, UnitOfWork

CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
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

    def __post_init__(self) -> None:
        if not CODE_PATTERN.match(self.code):
            raise InvalidInput("code must be 1-40 lowercase letters, digits, _ or -", ("code",))
        checked_text(self.name, "name", max_length=60)
        if not 1001 <= self.multiplier_permille <= 10000:
            raise InvalidInput("multiplier must be above 1.0 and at most 10.0", ("multiplier",))
        if not timedelta(0) < self.ends_at - self.starts_at <= MAX_CAMPAIGN_LENGTH:
            raise InvalidInput("a campaign ends after it starts and lasts at most a year", ("endsAt",))
        if not self.reasons or any(r not in BOOSTABLE for r in self.reasons):
            raise InvalidInput("a campaign boosts ORDER, TASK or CHECK_IN earnings", ("reasons",))
        if any(level not in TIER_LEVELS for level in self.tier_levels):
            raise InvalidInput("tier levels are 1-6", ("tierLevels",))

    def applies(self, at: datetime, reason: LedgerReason, tier_level: int) -> bool:
        return (self.enabled and self.starts_at <= at < self.ends_at and reason in self.reasons
                and (not self.tier_levels or tier_level in self.tier_levels))


@dataclass(frozen=True)
class Boost:
    campaign: Campaign
    base_points: int
    bonus_points: int


def best_campaign(campaigns: list[Campaign], at: datetime, reason: LedgerReason, tier_level: int) -> Campaign | None:
    eligible = [c for c in campaigns if c.applies(at, reason, tier_level)]
    if not eligible:
        return None
    return min(eligible, key=lambda c: (-c.multiplier_permille, c.ends_at, c.code))


def boost(base_points: int, campaign: Campaign | None) -> Boost | None:
    """The campaign's extra points on top of ``base_points`` (floor of the boosted total)."""
    if campaign is None:
        return None
    bonus = base_points * campaign.multiplier_permille // 1000 - base_points
    return Boost(campaign, base_points, bonus) if bonus > 0 else None


async def boost_for(uow: "UnitOfWork", base_points: int, at: datetime, reason: LedgerReason,
                    tier_level: int) -> Boost | None:
    return boost(base_points, best_campaign(await uow.campaigns.active(at), at, reason, tier_level))


class CampaignService:
    def __init__(self, transactions: "Transactions", clock: "Clock") -> None:
        self.transactions = transactions
        self.clock = clock

    async def list(self) -> list[Campaign]:
        return await self.transactions.read(lambda uow: uow.campaigns.all())

    async def save(self, staff: Actor, campaign: Campaign, *, create: bool) -> Campaign:
        async def work(uow: "UnitOfWork") -> Campaign:
            exists = await uow.campaigns.get(campaign.code) is not None
            if create and exists:
                raise Refusal(ErrorCode.ALREADY_EXISTS, f"campaign {campaign.code} exists", ("code",))
            if not create and not exists:
                raise Refusal(ErrorCode.NOT_FOUND, f"no campaign {campaign.code}", ("code",))
            await uow.campaigns.put(campaign)
            await uow.audit.record(staff.label, "campaign.create" if create else "campaign.update", campaign.code,
                                   campaign_record(campaign), self.clock.now())
            return campaign

        return await self.transactions.write(work)


def campaign_record(c: Campaign) -> dict:
    return {"name": c.name, "multiplierPermille": c.multiplier_permille, "startsAt": c.starts_at.isoformat(),
            "endsAt": c.ends_at.isoformat(), "reasons": [r.value for r in c.reasons],
            "tierLevels": list(c.tier_levels), "enabled": c.enabled}
