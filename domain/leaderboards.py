"""Leaderboards: points earned per day, week, month and all time, in the brand's time zone.

"Earned" means engagement earnings (the reasons that also raise growth: check-ins, tasks, orders,
reviews, invitations, assists, campaign and streak bonuses), counted in the period in which the
entry was written. Spending, expiry, prizes and staff adjustments do not move a leaderboard.

Scores are kept in a table in the same transaction as the entries that earn them, so the SQL
leaderboard is an indexed read. With Redis configured the same scores also go to sorted sets
after the commit, and reads come from there. Both order by points, then by the later member id
first, so they answer identically.

At the close of a period staff-configured prizes go to its top ranks, once: every award is a
row keyed by (period, start, rank), written in the transaction that pays it.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum
from typing import TYPE_CHECKING, Protocol

from domain import configuration
from domain.brand import BrandSettings, brand_settings
from domain.configuration import SYSTEM, Actor
from domain.errors import ErrorCode, InvalidInput, Refusal
from domain.ledger import GROWTH_REASONS, LedgerReason

if TYPE_CHECKING:
    from domain.clock import Clock
    from domain.members import Member
    from domain.points import OperationContext, PointsOperations
    from domain.ports import Transactions, UnitOfWork

ALL_TIME_START = date(2000, 1, 1)
MAX_PRIZE_RANKS = 100
CATCH_UP = 3  # closed periods looked at by each award run, so a job that missed a day or two catches up


class LeaderboardPeriod(str, Enum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"
    ALL_TIME = "ALL_TIME"


def period_start(period: LeaderboardPeriod, day: date) -> date:
    if period is LeaderboardPeriod.DAY:
        return day
    if period is LeaderboardPeriod.WEEK:
        return day - timedelta(days=day.weekday())  # weeks start on Monday
    if period is LeaderboardPeriod.MONTH:
        return day.replace(day=1)
    return ALL_TIME_START


def previous_start(period: LeaderboardPeriod, start: date) -> date:
    if period is LeaderboardPeriod.DAY:
        return start - timedelta(days=1)
    if period is LeaderboardPeriod.WEEK:
        return start - timedelta(days=7)
    if period is LeaderboardPeriod.MONTH:
        return (start - timedelta(days=1)).replace(day=1)
    raise InvalidInput("all time never closes", ("period",))


@dataclass(frozen=True)
class ScoreChange:
    member_id: int
    period: LeaderboardPeriod
    starts_on: date
    points: int


@dataclass(frozen=True)
class Standing:
    member_id: int
    points: int
    rank: int


def score_band(points: int) -> tuple[int, int]:
    """[low, high): the scores counted together so that a rank needs no count of everyone ahead.
    Two significant digits (below 100 a band per score, then 100-109, ..., 1,000-1,099, ...): a few
    hundred bands for any spread of scores, and a band holds only the members whose scores agree in
    their first two digits. The database keeps each band's count (migration 0028's triggers)."""
    if points < 100:
        return points, points + 1
    unit = 10 ** (len(str(points)) - 2)
    low = points - points % unit
    return low, low + unit


def counts(reason: LedgerReason, delta: int) -> bool:
    return reason in GROWTH_REASONS and delta > 0


def score_changes(member: "Member", brand: BrandSettings) -> list[ScoreChange]:
    """What the member's unsaved entries add to each period they fall in."""
    totals: dict[tuple[LeaderboardPeriod, date], int] = defaultdict(int)
    for entry in member.account.new_entries:
        if counts(entry.reason, entry.delta):
            day = brand.local_date(entry.occurred_at)
            for period in LeaderboardPeriod:
                totals[(period, period_start(period, day))] += entry.delta
    return [ScoreChange(member.id, period, start, points) for (period, start), points in totals.items()]


async def record_scores(uow: "UnitOfWork", member: "Member", brand: BrandSettings) -> None:
    """Before the member is saved: add their new earnings to the leaderboards, in this transaction."""
    changes = score_changes(member, brand)
    if changes:
        await uow.leaderboards.add(changes)
        uow.scores.extend(changes)  # for the sorted sets, after the commit


class LeaderboardCache(Protocol):
    """Sorted sets (Redis) mirroring the scores table, for reads at scale."""

    async def add(self, changes: list[ScoreChange]) -> None: ...
    async def top(self, period: LeaderboardPeriod, starts_on: date, limit: int) -> list[tuple[int, int]]: ...
    async def standing(self, period: LeaderboardPeriod, starts_on: date, member_id: int) -> Standing | None: ...
    async def replace(self, period: LeaderboardPeriod, starts_on: date, scores: list[tuple[int, int]]) -> None: ...


@dataclass(frozen=True)
class PrizeRule:
    """Prizes by rank: ((1, 500), (3, 200), (10, 50)) pays rank 1 500 points, ranks 2-3 200, ranks 4-10 50."""

    period: LeaderboardPeriod
    tiers: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        if self.period is LeaderboardPeriod.ALL_TIME:
            raise InvalidInput("all time never closes, so it has no prizes", ("period",))
        ranks = [rank for rank, _ in self.tiers]
        if ranks != sorted(set(ranks)) or any(not 1 <= r <= MAX_PRIZE_RANKS for r in ranks):
            raise InvalidInput(f"prize ranks rise strictly, 1-{MAX_PRIZE_RANKS}", ("prizes",))
        if any(not 1 <= points <= 1_000_000 for _, points in self.tiers):
            raise InvalidInput("a prize is 1-1000000 points", ("prizes",))

    def points_for(self, rank: int) -> int:
        return next((points for up_to, points in self.tiers if rank <= up_to), 0)

    @property
    def ranks(self) -> int:
        return self.tiers[-1][0] if self.tiers else 0


def prize_key(period: LeaderboardPeriod) -> str:
    return f"leaderboard_prizes:{period.value}"


async def prize_rule(uow: "UnitOfWork", period: LeaderboardPeriod) -> PrizeRule:
    return await configuration.load(uow, prize_key(period),
                                    lambda r: PrizeRule(period, tuple(tuple(t) for t in r["tiers"])),
                                    PrizeRule(period, ()))


class LeaderboardService:
    def __init__(self, operations: "PointsOperations", transactions: "Transactions", clock: "Clock",
                 cache: LeaderboardCache | None = None) -> None:
        self.operations = operations
        self.transactions = transactions
        self.clock = clock
        self.cache = cache

    async def current_start(self, period: LeaderboardPeriod) -> date:
        return await self.transactions.read(lambda uow: self._start(uow, period))

    async def _start(self, uow: "UnitOfWork", period: LeaderboardPeriod) -> date:
        return period_start(period, (await brand_settings(uow)).local_date(self.clock.now()))

    async def top(self, period: LeaderboardPeriod, limit: int, starts_on: date | None = None) -> list[Standing]:
        if self.cache is not None:
            starts_on = starts_on or await self.current_start(period)
            scores = await self.cache.top(period, starts_on, limit)
        else:  # the period's start and its scores in one read
            async def work(uow: "UnitOfWork") -> list[tuple[int, int]]:
                return await uow.leaderboards.top(period, starts_on or await self._start(uow, period), limit)

            scores = await self.transactions.read(work)
        return [Standing(member_id, points, rank) for rank, (member_id, points) in enumerate(scores, start=1)]

    async def standing(self, member_id: int, period: LeaderboardPeriod,
                       starts_on: date | None = None) -> Standing | None:
        """The member's place even far outside the top; None before they earn anything in the period."""
        if self.cache is not None:
            return await self.cache.standing(period, starts_on or await self.current_start(period), member_id)

        async def work(uow: "UnitOfWork") -> Standing | None:
            return await uow.leaderboards.standing(period, starts_on or await self._start(uow, period), member_id)

        return await self.transactions.read(work)

    async def rebuild_cache(self, period: LeaderboardPeriod, starts_on: date | None = None) -> None:
        """Copy the scores table into the sorted set (after a Redis flush, or a missed update)."""
        if self.cache is None:
            return
        starts_on = starts_on or await self.current_start(period)
        scores = await self.transactions.read(lambda uow: uow.leaderboards.all_scores(period, starts_on))
        await self.cache.replace(period, starts_on, scores)

    async def update_prizes(self, staff: Actor, rule: PrizeRule) -> PrizeRule:
        async def work(uow: "UnitOfWork") -> PrizeRule:
            await configuration.store(uow, prize_key(rule.period), {"tiers": [list(t) for t in rule.tiers]},
                                      staff, self.clock.now())
            return rule

        return await self.transactions.write(work)

    async def prizes(self, period: LeaderboardPeriod) -> PrizeRule:
        return await self.transactions.read(lambda uow: prize_rule(uow, period))

    async def award_closed_periods(self) -> int:
        """Pay the prizes of the last few closed periods; what was paid before is never paid again."""
        paid = 0
        for period in (LeaderboardPeriod.DAY, LeaderboardPeriod.WEEK, LeaderboardPeriod.MONTH):
            rule = await self.prizes(period)
            if not rule.tiers:
                continue
            start = await self.current_start(period)
            for _ in range(CATCH_UP):
                start = previous_start(period, start)
                paid += await self._award(rule, start)
        return paid

    async def _award(self, rule: PrizeRule, starts_on: date) -> int:
        standings = await self.transactions.read(
            lambda uow: uow.leaderboards.top(rule.period, starts_on, rule.ranks))
        paid = 0
        for rank, (member_id, _) in enumerate(standings, start=1):
            points = rule.points_for(rank)
            key = f"leaderboard:{rule.period.value}:{starts_on.isoformat()}:{rank}"
            outcome = await self.operations.run(
                actor=SYSTEM, key=key, operation="leaderboardPrize", member_id=member_id,
                payload={"period": rule.period.value, "start": starts_on.isoformat(), "rank": rank},
                rule=self._prize(rule.period, starts_on, rank, points))
            paid += bool(outcome.entries) and not outcome.replayed
        return paid

    @staticmethod
    def _prize(period: LeaderboardPeriod, starts_on: date, rank: int, points: int):
        async def rule(ctx: "OperationContext") -> None:
            # The award row outlives idempotency keys (kept 7 days), so a month's prize is never paid twice.
            if not await ctx.uow.leaderboards.add_award(period, starts_on, rank, ctx.member.id, points, ctx.now):
                raise Refusal(ErrorCode.ALREADY_CLAIMED, "this prize was paid already", ("rank",))
            ctx.member.account.credit(points, LedgerReason.LEADERBOARD_PRIZE, ctx.now,
                                      ctx.brand.expiry_for(ctx.now), SYSTEM.label,
                                      f"排行榜 {PERIOD_NAMES[period]} 第 {rank} 名", f"leaderboard:{period.value}")
        return rule


def board_scope(period: LeaderboardPeriod, starts_on: date) -> str:
    """Where a leaderboard pseudonym holds: one period's board (so two days' boards cannot be joined)."""
    return f"leaderboard:{period.value}:{starts_on.isoformat()}"


PERIOD_NAMES = {LeaderboardPeriod.DAY: "日榜", LeaderboardPeriod.WEEK: "周榜", LeaderboardPeriod.MONTH: "月榜",
                LeaderboardPeriod.ALL_TIME: "总榜"}
