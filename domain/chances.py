"""Lottery chances (抽奖机会): free draws a member earns by sharing a poster, completing a task, an
order, a check-in streak day, or from staff; spent first-expiring-first by ``drawLottery(useChance:)``.

Rules, decided here:
- A chance is one row, granted inside the transaction of what earned it (the share, the task, the
  order, the check-in, the staff grant), under the member's lock and that operation's idempotency
  key: a grant happens once however often its request is sent.
- A chance lives ``valid_days`` (default 7) from its grant, then is simply gone; a draw takes the
  one expiring first, in the draw's transaction under the member's lock, so one chance pays one draw.
- Sharing pays ``share_chances`` per share, at most ``share_daily_cap`` a brand day (further shares
  are recorded and pay nothing). An order pays ``order_chances`` plus one per ``order_fen_per_chance``
  (at most ``MAX_PER_GRANT``); refunding the whole order voids its chances not yet used.
- Which lotteries take chances is each lottery's ``payment`` (domain/lottery.py).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING

from domain import configuration
from domain.configuration import Actor
from domain.errors import ErrorCode, InvalidInput, Refusal
from domain.text import checked_text

if TYPE_CHECKING:
    from domain.clock import Clock
    from domain.points import OperationContext, PointsOperations, PointsOutcome
    from domain.ports import Transactions, UnitOfWork

CHANCES_KEY = "lottery_chances"
MAX_PER_GRANT = 20
LINK_PATTERN = re.compile(r"^(https://[^\s\x00-\x1f]{1,200}|/[^\s\x00-\x1f]{0,200})\Z")


class ChanceSource(str, Enum):
    SHARE = "SHARE"
    TASK = "TASK"
    ORDER = "ORDER"
    STREAK = "STREAK"
    STAFF = "STAFF"


class ShareChannel(str, Enum):
    WECHAT_FRIEND = "WECHAT_FRIEND"
    WECHAT_MOMENTS = "WECHAT_MOMENTS"
    GROUP_CHAT = "GROUP_CHAT"
    OTHER = "OTHER"


@dataclass(frozen=True)
class ChanceRule:
    share_chances: int = 1
    share_daily_cap: int = 3  # chances from sharing a brand day
    task_chances: int = 0  # per task completed
    order_chances: int = 0  # per order recorded
    order_fen_per_chance: int = 0  # and one more per this much of an order; 0: none
    streak_chances: tuple[tuple[int, int], ...] = ()  # (the streak day reached, chances)
    valid_days: int = 7
    poster_title: str = "邀请你一起来赚积分"
    poster_image_url: str | None = None
    poster_link: str = "/h5/?invite="  # the invitation code is appended

    def __post_init__(self) -> None:
        for name in ("share_chances", "share_daily_cap", "task_chances", "order_chances"):
            if not 0 <= getattr(self, name) <= MAX_PER_GRANT:
                raise InvalidInput(f"{configuration.record_key(name)} must be 0-{MAX_PER_GRANT}",
                                   (configuration.record_key(name),))
        if not 0 <= self.order_fen_per_chance <= 100_000_000:
            raise InvalidInput("orderFenPerChance must be 0 (off) or a number of fen", ("orderFenPerChance",))
        if len(self.streak_chances) > 10 or any(not (2 <= day <= 366 and 1 <= n <= MAX_PER_GRANT)
                                                for day, n in self.streak_chances):
            raise InvalidInput("at most 10 streak days of 2-366, each 1-20 chances", ("streakChances",))
        if not 1 <= self.valid_days <= 365:
            raise InvalidInput("validDays must be 1-365", ("validDays",))
        checked_text(self.poster_title, "posterTitle", max_length=40)
        for name, value in (("posterImageUrl", self.poster_image_url or "https://x"), ("posterLink", self.poster_link)):
            if not LINK_PATTERN.match(value) or (name == "posterImageUrl" and not value.startswith("https://")):
                raise InvalidInput(f"{name} must be an https URL" + (" or a path" if name == "posterLink" else ""),
                                   (name,))

    def for_order(self, amount_fen: int) -> int:
        per_amount = amount_fen // self.order_fen_per_chance if self.order_fen_per_chance else 0
        return min(MAX_PER_GRANT, self.order_chances + per_amount)

    def for_streak(self, streak: int) -> int:
        return sum(n for day, n in self.streak_chances if day == streak)

    def to_record(self) -> dict:
        return {**configuration.record_of(self), "streakChances": [list(pair) for pair in self.streak_chances]}

    @classmethod
    def from_record(cls, record: dict) -> "ChanceRule":
        values = configuration.fields_in(cls, record)
        values["streak_chances"] = tuple(tuple(pair) for pair in values.get("streak_chances", ()))
        return cls(**values)


async def chance_rule(uow: "UnitOfWork") -> ChanceRule:
    return await configuration.load(uow, CHANCES_KEY, ChanceRule.from_record, ChanceRule())


@dataclass
class LotteryChance:
    member_id: int
    source: ChanceSource
    ref: str
    granted_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    draw_id: int | None = None
    id: int | None = None


@dataclass
class PosterShare:
    member_id: int
    channel: ShareChannel
    shared_at: datetime
    chances: int  # what this share paid
    id: int | None = None


async def grant_chances(uow: "UnitOfWork", member_id: int, count: int, source: ChanceSource, ref: str,
                        now: datetime, rule: ChanceRule | None = None) -> int:
    """Give ``count`` chances (inside the transaction of what earned them); how many were given."""
    if count <= 0:
        return 0
    rule = rule or await chance_rule(uow)
    expires_at = now + timedelta(days=rule.valid_days)
    await uow.chances.add([LotteryChance(member_id, source, ref, now, expires_at) for _ in range(count)])
    return count


async def chances_earned(uow: "UnitOfWork", member_id: int, source: ChanceSource, ref: str, now: datetime,
                         count: Callable[[ChanceRule], int]) -> None:
    """What a task, an order or a streak day pays in chances by the brand's rule (``count`` reads it)."""
    rule = await chance_rule(uow)
    await grant_chances(uow, member_id, count(rule), source, ref, now, rule)


async def spend_chance(uow: "UnitOfWork", member_id: int, now: datetime) -> LotteryChance:
    """The member's first-expiring chance, taken (the caller holds the member's lock)."""
    chance = await uow.chances.first_usable(member_id, now)
    if chance is None:
        raise Refusal(ErrorCode.NO_CHANCE_LEFT, "you have no lottery chance left", ("useChance",))
    chance.used_at = now
    await uow.chances.mark_used(chance)
    return chance


class ChanceService:
    def __init__(self, operations: "PointsOperations", transactions: "Transactions", clock: "Clock") -> None:
        self.operations = operations
        self.transactions = transactions
        self.clock = clock

    async def share(self, member: Actor, member_id: int, channel: ShareChannel, key: str) -> "PointsOutcome":
        """Record a poster share; it pays chances while the day's cap allows."""
        async def rule(ctx: "OperationContext") -> PosterShare:
            rule_ = await chance_rule(ctx.uow)
            paid_today = await ctx.uow.chances.granted_since(ctx.member.id, ChanceSource.SHARE,
                                                             ctx.brand.start_of_day_of(ctx.now))
            count = max(0, min(rule_.share_chances, rule_.share_daily_cap - paid_today))
            share = PosterShare(ctx.member.id, channel, ctx.now, count)
            await ctx.uow.chances.add_share(share)
            await grant_chances(ctx.uow, ctx.member.id, count, ChanceSource.SHARE, f"share:{share.id}", ctx.now, rule_)
            return share

        return await self.operations.run(actor=member, key=key, operation="sharePoster", member_id=member_id,
                                         payload={"channel": channel.value}, rule=rule)

    async def grant(self, staff: Actor, member_id: int, count: int, memo: str, key: str) -> "PointsOutcome":
        if not 1 <= count <= MAX_PER_GRANT:
            raise InvalidInput(f"count must be 1-{MAX_PER_GRANT}", ("count",))
        memo = checked_text(memo, "memo", max_length=200)

        async def rule(ctx: "OperationContext") -> None:
            await grant_chances(ctx.uow, ctx.member.id, count, ChanceSource.STAFF, f"staff:{key}"[:64], ctx.now)
            await ctx.uow.audit.record(staff.label, "lottery_chances.grant", ctx.member.external_id,
                                       {"count": count, "memo": memo}, ctx.now)

        return await self.operations.run(actor=staff, key=key, operation="grantLotteryChances", member_id=member_id,
                                         payload={"count": count, "memo": memo}, rule=rule)

    async def usable(self, member_id: int, limit: int) -> tuple[int, list[LotteryChance]]:
        """How many chances the member can use now, and the first ``limit`` of them, first-expiring first."""
        now = self.clock.now()
        return await self.transactions.read(lambda uow: uow.chances.usable(member_id, now, limit))

    async def share_of(self, share_id: int) -> PosterShare | None:
        return await self.transactions.read(lambda uow: uow.chances.share(share_id))

    async def rule(self) -> ChanceRule:
        return await self.transactions.read(chance_rule)

    async def update_rule(self, staff: Actor, rule: ChanceRule) -> ChanceRule:
        async def work(uow: "UnitOfWork") -> ChanceRule:
            await configuration.store(uow, CHANCES_KEY, rule.to_record(), staff, self.clock.now())
            return rule

        return await self.transactions.write(work)
