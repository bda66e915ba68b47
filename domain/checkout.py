"""Points-plus-cash checkout (积分+现金): hold the points and the stock, then payment settles them.

``checkout`` places a hold on the member's points and takes the stock, and returns an order
``PENDING_PAYMENT`` with the cash due. ``confirmPayment`` settles the hold into one ``CHECKOUT``
entry; ``cancelOrder`` releases it and returns the stock; a hold that times out (default 15
minutes) does the same through the sweep or the member's next read or write. Every one of these
runs under the member's lock and checks the order's status, so an order is resolved exactly once
however confirm, cancel and timeout race.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING

from domain import configuration
from domain.badges import BadgeCode, award
from domain.configuration import Actor
from domain.errors import ErrorCode, InvalidInput, NotFound, Refusal
from domain.ledger import Hold, LedgerReason
from domain.admission import MALL_ITEM, scope_of
from domain.mall import MAX_QUANTITY, MallService

if TYPE_CHECKING:
    from domain.clock import Clock
    from domain.members import Member
    from domain.points import OperationContext, PointsOperations, PointsOutcome
    from domain.ports import Transactions, UnitOfWork

CHECKOUT_KEY = "checkout"
HOLD_REF_PREFIX = "checkout:"
PAYMENT_REF_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}\Z")


class OrderStatus(str, Enum):
    PENDING_PAYMENT = "PENDING_PAYMENT"
    PAID = "PAID"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True)
class CheckoutRule:
    payment_minutes: int = 15

    def __post_init__(self) -> None:
        if not 1 <= self.payment_minutes <= 24 * 60:
            raise InvalidInput("the payment window is 1-1440 minutes", ("paymentMinutes",))


async def checkout_rule(uow: "UnitOfWork") -> CheckoutRule:
    return await configuration.load(uow, CHECKOUT_KEY, lambda r: CheckoutRule(r["paymentMinutes"]), CheckoutRule())


@dataclass
class CheckoutOrder:
    member_id: int
    item_id: int
    item_name: str
    quantity: int
    points_held: int
    cash_due_fen: int
    created_at: datetime
    expires_at: datetime
    status: OrderStatus = OrderStatus.PENDING_PAYMENT
    payment_ref: str | None = None
    resolved_at: datetime | None = None
    id: int | None = None


async def expire_checkout_for(uow: "UnitOfWork", member: "Member", hold: Hold, now: datetime) -> None:
    """A checkout hold timed out: its order expires and its stock goes back (the member is locked)."""
    if not (hold.ref or "").startswith(HOLD_REF_PREFIX):
        return
    order = await uow.checkout.get(int(hold.ref.removeprefix(HOLD_REF_PREFIX)))
    if order is None or order.status is not OrderStatus.PENDING_PAYMENT:
        return
    await _return_stock(uow, order)
    order.status, order.resolved_at = OrderStatus.EXPIRED, now
    await uow.checkout.update(order)


async def _return_stock(uow: "UnitOfWork", order: CheckoutOrder) -> None:
    item = await uow.mall.lock_item(order.item_id)
    item.stock += order.quantity
    await uow.mall.update(item)
    uow.restocked.append(scope_of(MALL_ITEM, item.id))


class CheckoutService:
    def __init__(self, operations: "PointsOperations", transactions: "Transactions", clock: "Clock") -> None:
        self.operations = operations
        self.transactions = transactions
        self.clock = clock

    async def checkout(self, member: Actor, member_id: int, item_id: int, quantity: int, key: str) -> "PointsOutcome":
        if not 1 <= quantity <= MAX_QUANTITY:
            raise InvalidInput(f"quantity must be 1-{MAX_QUANTITY}", ("quantity",))

        async def rule(ctx: "OperationContext") -> CheckoutOrder:
            item = await ctx.uow.mall.lock_item(item_id)
            if item is None:
                raise NotFound("no such item", ("itemId",))
            if not item.cash_price_fen:
                raise Refusal(ErrorCode.POINTS_ONLY, f"{item.name} is points-only: redeem it", ("itemId",))
            if item.points_price * quantity > ctx.member.account.available:
                raise Refusal(ErrorCode.INSUFFICIENT_POINTS, "not enough points for this order", ("quantity",))
            await MallService.check_redeemable(ctx, item, quantity, cash_allowed=True)
            minutes = (await checkout_rule(ctx.uow)).payment_minutes
            expires_at = ctx.now + timedelta(minutes=minutes)
            order = CheckoutOrder(ctx.member.id, item.id, item.name, quantity, item.points_price * quantity,
                                  item.cash_price_fen * quantity, ctx.now, expires_at)
            hold = ctx.member.account.place_hold(order.points_held, LedgerReason.CHECKOUT, ctx.now, expires_at)
            item.stock -= quantity
            await ctx.uow.mall.update(item)
            await ctx.uow.checkout.add(order)
            hold.ref = f"{HOLD_REF_PREFIX}{order.id}"
            return order

        return await self.operations.run(actor=member, key=key, operation="checkout", member_id=member_id,
                                         payload={"item": item_id, "quantity": quantity}, rule=rule)

    async def confirm_payment(self, system: Actor, order_id: int, payment_ref: str, key: str) -> "PointsOutcome":
        if not PAYMENT_REF_PATTERN.match(payment_ref):
            raise InvalidInput("paymentRef must be 1-64 letters, digits or _.:-", ("paymentRef",))
        order = await self._find(order_id)

        async def rule(ctx: "OperationContext") -> CheckoutOrder:
            locked = await self._pending(ctx, order_id)
            hold = await self._hold_of(ctx, locked)
            ctx.member.account.settle_hold(hold, ctx.now, system.label, f"积分+现金 · {locked.item_name}")
            locked.status, locked.payment_ref, locked.resolved_at = OrderStatus.PAID, payment_ref, ctx.now
            await award(ctx.uow, ctx.member, BadgeCode.FIRST_REDEMPTION, ctx.now)
            await ctx.uow.checkout.update(locked)
            return locked

        return await self.operations.run(actor=system, key=key, operation="confirmPayment", member_id=order.member_id,
                                         payload={"order": order_id, "paymentRef": payment_ref}, rule=rule)

    async def cancel(self, actor: Actor, order_id: int, key: str, *, member_id: int | None = None) -> "PointsOutcome":
        order = await self._find(order_id)
        if member_id is not None and order.member_id != member_id:
            raise NotFound("no such order", ("orderId",))

        async def rule(ctx: "OperationContext") -> CheckoutOrder:
            locked = await self._pending(ctx, order_id)
            ctx.member.account.release_hold(await self._hold_of(ctx, locked), ctx.now)
            await _return_stock(ctx.uow, locked)
            locked.status, locked.resolved_at = OrderStatus.CANCELLED, ctx.now
            await ctx.uow.checkout.update(locked)
            return locked

        return await self.operations.run(actor=actor, key=key, operation="cancelOrder", member_id=order.member_id,
                                         payload={"order": order_id}, rule=rule)

    async def _find(self, order_id: int) -> CheckoutOrder:
        order = await self.get(order_id)
        if order is None:
            raise NotFound("no such order", ("orderId",))
        return order

    @staticmethod
    async def _pending(ctx: "OperationContext", order_id: int) -> CheckoutOrder:
        order = await ctx.uow.checkout.get(order_id)  # re-read under the member's lock
        if order.status is not OrderStatus.PENDING_PAYMENT:
            raise Refusal(ErrorCode.ORDER_NOT_PENDING, f"the order is {order.status.value.lower()}", ("orderId",))
        return order

    @staticmethod
    async def _hold_of(ctx: "OperationContext", order: CheckoutOrder) -> Hold:
        """The order's hold, found by its reference (the hold gets its id only when saved)."""
        return await ctx.uow.ledger.hold_by_ref(order.member_id, f"{HOLD_REF_PREFIX}{order.id}")

    async def rule(self) -> CheckoutRule:
        return await self.transactions.read(checkout_rule)

    async def update_rule(self, staff: Actor, rule: CheckoutRule) -> CheckoutRule:
        """Orders already placed keep the payment window they were given."""
        async def work(uow: "UnitOfWork") -> CheckoutRule:
            await configuration.store(uow, CHECKOUT_KEY, {"paymentMinutes": rule.payment_minutes}, staff,
                                      self.clock.now())
            return rule

        return await self.transactions.write(work)

    async def get(self, order_id: int) -> CheckoutOrder | None:
        return await self.transactions.read(lambda uow: uow.checkout.get(order_id))

    async def of_member(self, member_id: int, before_id: int | None, limit: int) -> list[CheckoutOrder]:
        return await self.transactions.read(lambda uow: uow.checkout.page(member_id, before_id, limit))
