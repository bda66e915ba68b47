"""Member segments (分层): who is new, dormant, price-sensitive or loyal, computed from what they did.

A refresh reads each member's recent history (joining, the last thing they did themselves,
points about to expire, how they spent, their orders, their tier), decides their segments by
the brand's rule, and stores the result with the moment each segment began. The scheduler
refreshes once a day; staff can refresh at once. Campaigns and notifications target a segment
by what the last refresh stored, so a member's segment never changes halfway through a day's
campaign because of one action.

* ``NEW``: joined within ``new_days``.
* ``DORMANT``: did nothing themselves for ``dormant_days`` (expiry and staff corrections do not
  count as activity) and has points expiring within ``expiring_within_days``: the members a
  "your points expire soon" push can still wake up.
* ``PRICE_SENSITIVE``: spent at least ``price_sensitive_min_points`` within ``window_days``, at
  least ``price_sensitive_percent`` % of it as order deductions, flash-sale buys or items priced at
  most ``low_price_points``.
* ``LOYAL``: at least ``loyal_orders`` orders within ``window_days`` and tier ``loyal_min_tier`` or
  above.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING

from domain import configuration
from domain.configuration import SYSTEM, Actor, record_key
from domain.errors import InvalidInput
from domain.ledger import LedgerReason
from domain.progress import Progress, unreported
from domain.tiers import TIER_LEVELS

if TYPE_CHECKING:
    from domain.clock import Clock
    from domain.ports import Transactions, UnitOfWork

RULE_KEY = "segments"
REFRESHED_KEY = "segments.refreshed"
REFRESH_EVERY = timedelta(days=1)
BATCH = 2000

SPENDING_REASONS = frozenset({LedgerReason.REDEMPTION, LedgerReason.CHECKOUT, LedgerReason.DEDUCTION,
                              LedgerReason.LOTTERY_ENTRY})


class Segment(str, Enum):
    NEW = "NEW"
    DORMANT = "DORMANT"
    PRICE_SENSITIVE = "PRICE_SENSITIVE"
    LOYAL = "LOYAL"


@dataclass(frozen=True)
class SegmentRule:
    new_days: int = 30
    dormant_days: int = 30
    expiring_within_days: int = 60
    window_days: int = 90
    price_sensitive_min_points: int = 100
    price_sensitive_percent: int = 60
    low_price_points: int = 200
    loyal_orders: int = 3
    loyal_min_tier: int = 3

    def __post_init__(self) -> None:
        days = ("new_days", "dormant_days", "expiring_within_days", "window_days")
        for name in days:
            if not 1 <= getattr(self, name) <= 730:
                raise InvalidInput(f"{record_key(name)} must be 1-730", (record_key(name),))
        bounded = (("price_sensitive_min_points", 1, 10_000_000), ("price_sensitive_percent", 1, 100),
                   ("low_price_points", 1, 10_000_000), ("loyal_orders", 1, 10_000))
        for name, low, high in bounded:
            if not low <= getattr(self, name) <= high:
                raise InvalidInput(f"{record_key(name)} must be {low}-{high}", (record_key(name),))
        if self.loyal_min_tier not in TIER_LEVELS:
            raise InvalidInput("loyalMinTier is 1-6", ("loyalMinTier",))

    def to_record(self) -> dict:
        return {record_key(name): value for name, value in vars(self).items()}

    @classmethod
    def from_record(cls, record: dict) -> "SegmentRule":
        return cls(**{name: record[record_key(name)] for name in vars(cls()) if record_key(name) in record})


@dataclass(frozen=True)
class MemberActivity:
    """What a refresh knows of one member; each figure covers the rule's windows."""

    member_id: int
    joined_at: datetime
    tier_level: int
    last_active_at: datetime | None = None
    expiring_points: int = 0
    spent_points: int = 0
    cheap_points: int = 0  # of spent_points: deductions, flash sales and low-price items
    orders: int = 0


def segments_of(activity: MemberActivity, rule: SegmentRule, now: datetime) -> set[Segment]:
    found = set()
    if activity.joined_at > now - timedelta(days=rule.new_days):
        found.add(Segment.NEW)
    last_active = activity.last_active_at or activity.joined_at
    if last_active <= now - timedelta(days=rule.dormant_days) and activity.expiring_points > 0:
        found.add(Segment.DORMANT)
    if (activity.spent_points >= rule.price_sensitive_min_points
            and activity.cheap_points * 100 >= activity.spent_points * rule.price_sensitive_percent):
        found.add(Segment.PRICE_SENSITIVE)
    if activity.orders >= rule.loyal_orders and activity.tier_level >= rule.loyal_min_tier:
        found.add(Segment.LOYAL)
    return found


@dataclass(frozen=True)
class RefreshReport:
    members: int
    counts: dict[Segment, int]
    refreshed_at: datetime


async def segment_rule(uow: "UnitOfWork") -> SegmentRule:
    return await configuration.load(uow, RULE_KEY, SegmentRule.from_record, SegmentRule())


async def member_segments(uow: "UnitOfWork", member_id: int) -> frozenset[Segment]:
    return frozenset((await uow.segments.of_members([member_id]))[member_id])


class SegmentService:
    def __init__(self, transactions: "Transactions", clock: "Clock") -> None:
        self.transactions = transactions
        self.clock = clock

    async def refresh(self, actor: Actor = SYSTEM, progress: Progress = unreported) -> RefreshReport:
        """Recompute every member's segments, a batch per transaction (safe to run twice at once, and
        to run again after a crash: each batch stands on its own)."""
        now = self.clock.now()
        rule = await self.rule()
        spending = await self.transactions.read(
            lambda uow: uow.segments.spending_since(now - timedelta(days=rule.window_days)), heavy=True)
        after, members = 0, 0
        while member_ids := await self.transactions.read(lambda uow: uow.ledger.member_ids(after, BATCH)):
            async def work(uow: "UnitOfWork", ids=member_ids) -> None:
                activity = await uow.segments.activity(ids, now, rule, spending)
                await uow.segments.store({a.member_id: segments_of(a, rule, now) for a in activity}, now)
            await self.transactions.write(work)
            members += len(member_ids)
            after = member_ids[-1]
            progress(members, None)

        async def finish(uow: "UnitOfWork") -> dict[Segment, int]:
            await uow.settings.put(REFRESHED_KEY, {"at": now.isoformat(), "members": members}, actor.label, now)
            counts = await uow.segments.counts()
            await uow.audit.record(actor.label, "segments.refresh", RULE_KEY,
                                   {"members": members, **{s.value: n for s, n in counts.items()}}, now)
            return counts

        return RefreshReport(members, await self.transactions.write(finish), now)

    async def refresh_if_due(self) -> RefreshReport | None:
        """The scheduler's daily refresh: nothing when the last one is less than a day old."""
        last = await self.last_refreshed_at()
        if last is not None and self.clock.now() - last < REFRESH_EVERY:
            return None
        return await self.refresh()

    async def last_refreshed_at(self) -> datetime | None:
        record = await self.transactions.read(lambda uow: uow.settings.get(REFRESHED_KEY))
        return datetime.fromisoformat(record["at"]) if record else None

    async def rule(self) -> SegmentRule:
        return await self.transactions.read(segment_rule)

    async def update_rule(self, staff: Actor, changes: dict[str, int]) -> SegmentRule:
        """Change the named fields, keep the rest; takes effect at the next refresh."""
        async def work(uow: "UnitOfWork") -> SegmentRule:
            rule = replace(await segment_rule(uow), **changes)
            await configuration.store(uow, RULE_KEY, rule.to_record(), staff, self.clock.now())
            return rule

        return await self.transactions.write(work)

    async def of_members(self, member_ids: Sequence[int]) -> dict[int, set[Segment]]:
        return await self.transactions.read(lambda uow: uow.segments.of_members(member_ids))

    async def members_in(self, segment: Segment, before_id: int | None, limit: int) -> list[int]:
        """Member ids, the latest joined first."""
        return await self.transactions.read(lambda uow: uow.segments.members_in(segment, before_id, limit))

    async def counts(self) -> dict[Segment, int]:
        return await self.transactions.read(lambda uow: uow.segments.counts())
