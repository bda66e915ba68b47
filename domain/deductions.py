"""Points as a discount on an ordinary order (积分抵现): 100 points = 1 yuan, at most half the order.

Rules, decided here:
- ``points_per_yuan`` sets the rate (demo 100); ``max_percent`` caps the share of the amount
  (demo 50); orders below ``min_order_fen`` take no points (demo 10 yuan).
- The amount is the order's, shipping or a service fee (``purpose``); the same brand order id
  takes one deduction per purpose.
- Only whole fen are deducted: points that would buy a fraction of a fen are not taken.
- Refunding the order (``refundDeduction``) returns the points as a positive ``REVERSAL``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING

from domain import configuration
from domain.configuration import Actor
from domain.errors import ErrorCode, InvalidInput, NotFound, Refusal
from domain.ledger import LedgerReason

if TYPE_CHECKING:
    from domain.clock import Clock
    from domain.points import OperationContext, PointsOperations, PointsOutcome
    from domain.ports import Transactions, UnitOfWork

DEDUCTION_KEY = "deduction"
ORDER_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}\Z")
MAX_AMOUNT_FEN = 100_000_000_00


class DeductionPurpose(str, Enum):
    ORDER = "ORDER"
    SHIPPING = "SHIPPING"
    SERVICE_FEE = "SERVICE_FEE"


class DeductionStatus(str, Enum):
    APPLIED = "APPLIED"
    REFUNDED = "REFUNDED"


@dataclass(frozen=True)
class DeductionRule:
    points_per_yuan: int = 100
    max_percent: int = 50
    min_order_fen: int = 1000

    def __post_init__(self) -> None:
        if not 1 <= self.points_per_yuan <= 100_000:
            raise InvalidInput("points per yuan must be 1-100000", ("pointsPerYuan",))
        if not 1 <= self.max_percent <= 100:
            raise InvalidInput("the cap is 1-100 percent of the amount", ("maxPercent",))
        if not 0 <= self.min_order_fen <= MAX_AMOUNT_FEN:
            raise InvalidInput("the minimum order is 0 or more fen", ("minOrderFen",))

    def fen_for(self, points: int) -> int:
        return points * 100 // self.points_per_yuan

    def points_for(self, fen: int) -> int:
        return -(-fen * self.points_per_yuan // 100)  # the fewest points that buy these fen

    def best(self, amount_fen: int, available: int) -> tuple[int, int]:
        """(points, fen) of the largest deduction allowed on ``amount_fen`` with ``available`` points."""
        if amount_fen < self.min_order_fen:
            return 0, 0
        fen = min(amount_fen * self.max_percent // 100, self.fen_for(available))
        return self.points_for(fen), fen

    def to_record(self) -> dict:
        return {"pointsPerYuan": self.points_per_yuan, "maxPercent": self.max_percent,
                "minOrderFen": self.min_order_fen}


async def deduction_rule(uow: "UnitOfWork") -> DeductionRule:
    return await configuration.load(
        uow, DEDUCTION_KEY, lambda r: DeductionRule(r["pointsPerYuan"], r["maxPercent"], r["minOrderFen"]),
        DeductionRule())


@dataclass
class Deduction:
    member_id: int
    order_id: str
    purpose: DeductionPurpose
    amount_fen: int
    points: int
    fen: int
    created_at: datetime
    status: DeductionStatus = DeductionStatus.APPLIED
    id: int | None = None
    store_id: str | None = None  # taken at this store's till


class DeductionService:
    def __init__(self, operations: "PointsOperations", transactions: "Transactions", clock: "Clock") -> None:
        self.operations = operations
        self.transactions = transactions
        self.clock = clock

    async def best(self, member_id: int, amount_fen: int) -> tuple[int, int]:
        if not 1 <= amount_fen <= MAX_AMOUNT_FEN:
            raise InvalidInput("orderAmountFen must be a positive number of fen", ("orderAmountFen",))

        async def work(uow: "UnitOfWork") -> tuple[int, int]:
            member = await uow.members.get(member_id)
            return (await deduction_rule(uow)).best(amount_fen, member.account.available)

        return await self.transactions.read(work)

    async def apply(self, member: Actor, member_id: int, order_id: str, amount_fen: int, points: int,
                    purpose: DeductionPurpose, key: str, store_id: str | None = None) -> "PointsOutcome":
        """``member``: the member paying, or the store whose till takes the points (``store_id``)."""
        if not ORDER_ID_PATTERN.match(order_id):
            raise InvalidInput("orderId must be 1-64 letters, digits or _.:-", ("orderId",))
        if not 1 <= amount_fen <= MAX_AMOUNT_FEN:
            raise InvalidInput("orderAmountFen must be a positive number of fen", ("orderAmountFen",))
        if not 1 <= points <= 100_000_000:
            raise InvalidInput("points must be positive", ("points",))

        async def rule(ctx: "OperationContext") -> Deduction:
            rule_ = await deduction_rule(ctx.uow)
            if amount_fen < rule_.min_order_fen:
                raise Refusal(ErrorCode.ORDER_TOO_SMALL, f"points apply from {rule_.min_order_fen} fen",
                              ("orderAmountFen",))
            fen = rule_.fen_for(points)
            if fen == 0:
                raise InvalidInput(f"{rule_.points_per_yuan} points make 1 yuan: too few points", ("points",))
            if fen > amount_fen * rule_.max_percent // 100:
                raise Refusal(ErrorCode.DEDUCTION_TOO_LARGE, f"points may pay at most {rule_.max_percent}% "
                                                             "of the amount", ("points",))
            if await ctx.uow.deductions.get(ctx.member.id, order_id, purpose) is not None:
                raise Refusal(ErrorCode.DUPLICATE_ORDER, f"order {order_id} already has a deduction", ("orderId",))
            charged = rule_.points_for(fen)
            ctx.member.account.debit(charged, LedgerReason.DEDUCTION, ctx.now, member.label,
                                     f"积分抵扣 {fen / 100:.2f} 元 · 订单 {order_id}", f"deduction:{order_id}")
            deduction = Deduction(ctx.member.id, order_id, purpose, amount_fen, charged, fen, ctx.now,
                                  store_id=store_id)
            await ctx.uow.deductions.add(deduction)
            return deduction

        return await self.operations.run(
            actor=member, key=key, operation="applyDeduction", member_id=member_id, rule=rule,
            payload={"orderId": order_id, "amountFen": amount_fen, "points": points, "purpose": purpose.value,
                     **({"storeId": store_id} if store_id else {})})

    async def refund(self, system: Actor, member_id: int, order_id: str, purpose: DeductionPurpose,
                     key: str) -> "PointsOutcome":
        async def rule(ctx: "OperationContext") -> Deduction:
            deduction = await ctx.uow.deductions.get(member_id, order_id, purpose)
            if deduction is None:
                raise NotFound(f"order {order_id[:64]!r} has no deduction", ("orderId",))
            if deduction.status is DeductionStatus.REFUNDED:
                raise Refusal(ErrorCode.ORDER_FULLY_REFUNDED, "the deduction was already refunded", ("orderId",))
            if deduction.points:  # free shipping (a perk) took none, and refunding it gives the use back
                ctx.member.account.credit(deduction.points, LedgerReason.REVERSAL, ctx.now,
                                          ctx.brand.expiry_for(ctx.now), system.label,
                                          f"退还积分抵扣 · 订单 {order_id}", f"deduction:{order_id}")
            deduction.status = DeductionStatus.REFUNDED
            await ctx.uow.deductions.update(deduction)
            return deduction

        return await self.operations.run(actor=system, key=key, operation="refundDeduction", member_id=member_id,
                                         payload={"orderId": order_id, "purpose": purpose.value}, rule=rule)

    async def rule(self) -> DeductionRule:
        return await self.transactions.read(deduction_rule)

    async def get(self, deduction_id: int) -> Deduction | None:
        return await self.transactions.read(lambda uow: uow.deductions.by_id(deduction_id))

    async def update_rule(self, staff: Actor, rule: DeductionRule) -> DeductionRule:
        async def work(uow: "UnitOfWork") -> DeductionRule:
            await configuration.store(uow, DEDUCTION_KEY, rule.to_record(), staff, self.clock.now())
            return rule

        return await self.transactions.write(work)
