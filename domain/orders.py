"""Orders from the brand's shop (online or in store) earn points after their return window.

points = floor(amount in yuan x points per yuan x tier multiplier x campaign multiplier)

The points are *pending* until the window closes, then released into the
ledger: an ``ORDER`` entry for the base and a ``CAMPAIGN_BONUS`` entry for
the campaign's share. A refund before release shrinks the pending points; a
refund after release writes a ``REVERSAL`` (what is not available any more
becomes debt). Refunds are proportional: after refunding r of an order of
amount a, the order is worth floor(total x (a - r) / a) points.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING

from domain import configuration
from domain.chances import ChanceSource, chances_earned
from domain.campaigns import audience_of, best_campaign, best_threshold_bonus
from domain.configuration import Actor
from domain.errors import ErrorCode, InvalidInput, NotFound, Refusal
from domain.ledger import GrowthReason, LedgerReason
from domain.tiers import tier_table

if TYPE_CHECKING:
    from domain.members import Member
    from domain.clock import Clock
    from domain.points import OperationContext, PointsOperations, PointsOutcome
    from domain.ports import Transactions, UnitOfWork

ORDER_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}\Z")
STORE_ID_PATTERN = ORDER_ID_PATTERN  # the brand's own store codes, as its orders carry them
MAX_ORDER_FEN = 100_000_000_00  # 100 million yuan
ORDERS_KEY = "orders"


class OrderChannel(str, Enum):
    ONLINE = "ONLINE"
    OFFLINE_STORE = "OFFLINE_STORE"


class OrderStatus(str, Enum):
    PENDING = "PENDING"  # inside the return window: points pending
    RELEASED = "RELEASED"  # points credited
    REFUNDED = "REFUNDED"  # refunded in full: no points left


@dataclass(frozen=True)
class OrderRule:
    points_per_yuan: int = 1
    return_window_days: int = 7

    def __post_init__(self) -> None:
        if not 1 <= self.points_per_yuan <= 1000:
            raise InvalidInput("points per yuan must be 1-1000", ("pointsPerYuan",))
        if not 0 <= self.return_window_days <= 90:
            raise InvalidInput("the return window is 0-90 days", ("returnWindowDays",))

    def to_record(self) -> dict:
        return {"pointsPerYuan": self.points_per_yuan, "returnWindowDays": self.return_window_days}

    @classmethod
    def from_record(cls, r: dict) -> "OrderRule":
        return cls(r["pointsPerYuan"], r["returnWindowDays"])


async def order_rule(uow: "UnitOfWork") -> OrderRule:
    return await configuration.load(uow, ORDERS_KEY, OrderRule.from_record, OrderRule())


@dataclass
class PurchaseOrder:
    member_id: int
    order_id: str
    channel: OrderChannel
    store_id: str | None
    amount_fen: int
    base_points: int
    bonus_points: int
    campaign_code: str | None
    placed_at: datetime
    release_at: datetime
    recorded_by: str
    refunded_fen: int = 0
    status: OrderStatus = OrderStatus.PENDING
    released_at: datetime | None = None
    credited_points: int = 0
    reversed_points: int = 0
    id: int | None = None
    threshold_points: int = 0  # of bonus_points, what a threshold campaign (the last code) paid

    @property
    def total_points(self) -> int:
        return self.base_points + self.bonus_points

    def worth(self, refunded_fen: int) -> tuple[int, int]:
        """(base, bonus) points the order is worth once ``refunded_fen`` has been refunded."""
        return worth_after_refunds(self.base_points, self.bonus_points, self.amount_fen, refunded_fen)

    @property
    def pending_points(self) -> int:
        return sum(self.worth(self.refunded_fen)) if self.status is OrderStatus.PENDING else 0

    @property
    def net_points(self) -> int:
        return self.credited_points - self.reversed_points

    def release(self, member: Member, now: datetime, expires_at: datetime | None) -> None:
        base, bonus = self.worth(self.refunded_fen)
        account = member.account
        account.drop_pending(base + bonus)
        ref = f"order:{self.order_id}"
        if base:
            account.credit(base, LedgerReason.ORDER, now, expires_at, "system:orders", f"订单 {self.order_id}", ref)
        if bonus:
            account.credit(bonus, LedgerReason.CAMPAIGN_BONUS, now, expires_at, "system:orders",
                           f"活动 {self.campaign_code} · 订单 {self.order_id}", ref)
        self.status, self.released_at, self.credited_points = OrderStatus.RELEASED, now, base + bonus

    def refund(self, member: Member, refund_fen: int, now: datetime, actor: str) -> None:
        if self.status is OrderStatus.REFUNDED or self.refunded_fen >= self.amount_fen:
            raise Refusal(ErrorCode.ORDER_FULLY_REFUNDED, f"order {self.order_id} is already fully refunded",
                          ("orderId",))
        if refund_fen > self.amount_fen - self.refunded_fen:
            raise Refusal(ErrorCode.REFUND_EXCEEDS_ORDER,
                          f"at most {self.amount_fen - self.refunded_fen} fen is left to refund", ("amountFen",))
        if self.status is OrderStatus.PENDING:
            before = self.pending_points
            self.refunded_fen += refund_fen
            member.account.drop_pending(before - self.pending_points)
        else:
            self.refunded_fen += refund_fen
            owed_back = self.net_points - sum(self.worth(self.refunded_fen))
            if owed_back > 0:
                memo, ref = f"退款 · 订单 {self.order_id}", f"order:{self.order_id}"
                member.account.reverse(owed_back, now, actor, memo, ref)
                # Every point an order credits raised growth (ORDER and CAMPAIGN_BONUS): the same share goes.
                member.account.take_back_growth(owed_back, GrowthReason.REFUND, now, actor, memo, ref)
                self.reversed_points += owed_back
        if self.refunded_fen == self.amount_fen:
            self.status = OrderStatus.REFUNDED


def worth_after_refunds(base_points: int, bonus_points: int, amount_fen: int, refunded_fen: int) -> tuple[int, int]:
    """(base, bonus) an order of these points is worth once ``refunded_fen`` of it has been refunded."""
    kept = amount_fen - refunded_fen
    total = (base_points + bonus_points) * kept // amount_fen
    base = min(base_points * kept // amount_fen, total)
    return base, total - base


def order_points(amount_fen: int, rule: OrderRule, tier_permille: int, campaign_permille: int) -> tuple[int, int]:
    """(base, bonus): base = floor(yuan x rate x tier); bonus = floor(... x campaign) - base."""
    base = amount_fen * rule.points_per_yuan * tier_permille // 100_000
    total = amount_fen * rule.points_per_yuan * tier_permille * campaign_permille // 100_000_000
    return base, max(0, total - base)


async def release_due_orders(uow: "UnitOfWork", member: Member, now: datetime, expires_at: datetime | None) -> int:
    due = await uow.orders.due_for(member.id, now)
    for order in due:
        order.release(member, now, expires_at)
        await uow.orders.update(order)
    return len(due)


class OrderService:
    def __init__(self, operations: "PointsOperations", transactions: "Transactions", clock: "Clock") -> None:
        self.operations = operations
        self.transactions = transactions
        self.clock = clock

    async def record(self, actor: Actor, member_id: int, order_id: str, amount_fen: int, channel: OrderChannel,
                     store_id: str | None, key: str) -> "PointsOutcome":
        validate_order(order_id, amount_fen, channel, store_id)

        async def rule(ctx: "OperationContext") -> None:
            if await ctx.uow.orders.get(order_id) is not None:
                raise Refusal(ErrorCode.DUPLICATE_ORDER, f"order {order_id} was already recorded", ("orderId",))
            rule_ = await order_rule(ctx.uow)
            tier = (await tier_table(ctx.uow)).get(ctx.member.tier_level)
            running = await ctx.uow.campaigns.active(ctx.now)
            audience = await audience_of(ctx.uow, ctx.member, running, ctx.now)
            campaign = best_campaign(running, ctx.now, LedgerReason.ORDER, audience)
            threshold = best_threshold_bonus(running, ctx.now, audience, amount_fen)
            base, bonus = order_points(amount_fen, rule_, tier.earn_multiplier_permille,
                                       campaign.multiplier_permille if campaign else 1000)
            codes = [c.code for c in (campaign if bonus else None, threshold) if c is not None]
            bonus += threshold.bonus_points if threshold else 0
            order = PurchaseOrder(ctx.member.id, order_id, channel, store_id, amount_fen, base, bonus,
                                  "+".join(codes) or None, ctx.now,
                                  ctx.now + timedelta(days=rule_.return_window_days), actor.label,
                                  threshold_points=threshold.bonus_points if threshold else 0)
            if order.total_points:
                ctx.member.account.add_pending(order.total_points)
            if rule_.return_window_days == 0 or not order.total_points:
                # Nothing to wait for: a 0-point order is settled at once rather than queued for release.
                order.release(ctx.member, ctx.now, ctx.brand.expiry_for(ctx.now))
            await ctx.uow.orders.add(order)
            await chances_earned(ctx.uow, ctx.member.id, ChanceSource.ORDER, f"order:{order_id}", ctx.now,
                                 lambda r: r.for_order(amount_fen))

        return await self.operations.run(
            actor=actor, key=key, operation="recordOrder", member_id=member_id, rule=rule,
            payload={"orderId": order_id, "amountFen": amount_fen, "channel": channel.value, "storeId": store_id})

    async def refund(self, actor: Actor, order_id: str, refund_fen: int, key: str) -> "PointsOutcome":
        if not 1 <= refund_fen <= MAX_ORDER_FEN:
            raise InvalidInput("amountFen must be a positive number of fen", ("amountFen",))
        if not ORDER_ID_PATTERN.match(order_id):
            raise NotFound(f"no order {order_id[:64]!r}", ("orderId",))
        order = await self.find(order_id)
        if order is None:
            raise NotFound(f"no order {order_id}", ("orderId",))

        async def rule(ctx: "OperationContext") -> None:
            locked = await ctx.uow.orders.get(order_id)  # re-read under the member's lock
            locked.refund(ctx.member, refund_fen, ctx.now, actor.label)
            await ctx.uow.orders.update(locked)
            if locked.status is OrderStatus.REFUNDED:  # the whole order: the chances it gave, if unused, go
                await ctx.uow.chances.void(ctx.member.id, f"order:{order_id}", ctx.now)
            tiers = await tier_table(ctx.uow)
            if tiers.upkeep.refunds_lower_at_once:
                ctx.member.lower_to_growth(tiers, ctx.now)

        return await self.operations.run(actor=actor, key=key, operation="refundOrder", member_id=order.member_id,
                                         rule=rule, payload={"orderId": order_id, "amountFen": refund_fen})

    async def find(self, order_id: str) -> PurchaseOrder | None:
        return await self.transactions.read(lambda uow: uow.orders.get(order_id))

    async def update_rule(self, staff: Actor, rule: OrderRule) -> OrderRule:
        async def work(uow: "UnitOfWork") -> OrderRule:
            await configuration.store(uow, ORDERS_KEY, rule.to_record(), staff, self.clock.now())
            return rule

        return await self.transactions.write(work)


def validate_order(order_id: str, amount_fen: int, channel: OrderChannel, store_id: str | None) -> None:
    if not ORDER_ID_PATTERN.match(order_id):
        raise InvalidInput("orderId must be 1-64 letters, digits or _.:-", ("orderId",))
    if not 1 <= amount_fen <= MAX_ORDER_FEN:
        raise InvalidInput("amountFen must be a positive number of fen", ("amountFen",))
    if channel is OrderChannel.OFFLINE_STORE and not store_id:
        raise InvalidInput("an offline store order names its store", ("storeId",))
    if store_id is not None:
        checked_store_id(store_id)


def checked_store_id(store_id: str, field: str = "storeId") -> str:
    if not isinstance(store_id, str) or not STORE_ID_PATTERN.match(store_id):
        raise InvalidInput("storeId must be 1-64 letters, digits or _.:-", (field,))
    return store_id
