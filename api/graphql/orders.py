"""Orders from the brand's shop: recorded by staff or systems, earning pending points."""
from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from api.graphql.errors import UserError, require_staff, user_errors
from api.graphql.ledger import LedgerEntry, entry_type
from api.graphql.members import MemberType, fresh_member, member_key
from api.graphql.relay import Node, to_global_id
from api.graphql.scalars import Long
from domain import orders
from domain.errors import DomainError

OrderChannel = strawberry.enum(orders.OrderChannel, description="Where the order was placed.")
OrderStatus = strawberry.enum(orders.OrderStatus, name="PurchaseOrderStatus",
                              description="PENDING: inside the return window.")


@strawberry.type(name="PurchaseOrder", description="An order from the brand's shop and the points it earns.")
class PurchaseOrderType(Node):
    _order: strawberry.Private[orders.PurchaseOrder]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("PurchaseOrder", self._order.order_id)

    @strawberry.field(description="The brand's own order id.")
    def order_id(self) -> str:
        return self._order.order_id

    @strawberry.field
    def channel(self) -> OrderChannel:  # type: ignore[valid-type]
        return self._order.channel

    @strawberry.field
    def store_id(self) -> str | None:
        return self._order.store_id

    @strawberry.field
    def amount_fen(self) -> Long:
        return self._order.amount_fen

    @strawberry.field
    def refunded_fen(self) -> Long:
        return self._order.refunded_fen

    @strawberry.field
    def status(self) -> OrderStatus:  # type: ignore[valid-type]
        return self._order.status

    @strawberry.field(description="Points the order is worth now (after refunds), pending or credited.")
    def points(self) -> Long:
        return sum(self._order.worth(self._order.refunded_fen))

    @strawberry.field(description="Of which from a campaign.")
    def campaign_points(self) -> Long:
        return self._order.worth(self._order.refunded_fen)[1]

    @strawberry.field
    def campaign_code(self) -> str | None:
        return self._order.campaign_code

    @strawberry.field
    def placed_at(self) -> datetime:
        return self._order.placed_at

    @strawberry.field(description="When the return window closes and pending points become available.")
    def release_at(self) -> datetime:
        return self._order.release_at

    @strawberry.field
    def released_at(self) -> datetime | None:
        return self._order.released_at


def order_type(order: orders.PurchaseOrder | None) -> PurchaseOrderType | None:
    return None if order is None else PurchaseOrderType(_order=order)


@strawberry.input
class RecordOrderInput:
    member_id: strawberry.ID = strawberry.field(description="The member's global id or the brand's member id.")
    order_id: str
    amount_fen: int
    channel: OrderChannel = orders.OrderChannel.ONLINE  # type: ignore[valid-type]
    store_id: str | None = None
    idempotency_key: str


@strawberry.input
class RefundOrderInput:
    order_id: str
    amount_fen: int = strawberry.field(description="How much of the order is refunded now (partial refunds add up).")
    idempotency_key: str


@strawberry.type
class PurchaseOrderPayload:
    member: MemberType | None
    order: PurchaseOrderType | None
    entry: LedgerEntry | None = strawberry.field(description="The entry written now, if any (release or reversal).")
    entries: list[LedgerEntry]
    user_errors: list[UserError]


@strawberry.type(description="How orders earn points.")
class OrderRule:
    points_per_yuan: int
    return_window_days: int


@strawberry.input
class UpdateOrderRuleInput:
    points_per_yuan: int
    return_window_days: int


@strawberry.type
class UpdateOrderRulePayload:
    rule: OrderRule | None
    user_errors: list[UserError]


async def order_payload(info: Info, order_id: str, outcome) -> PurchaseOrderPayload:
    order = await info.context.services.orders.find(order_id)
    return PurchaseOrderPayload(member=fresh_member(info, outcome.member_id), order=order_type(order),
                        entry=entry_type(outcome.entry), entries=[entry_type(e) for e in outcome.entries],
                        user_errors=user_errors(outcome.error))


def failed(error: DomainError) -> PurchaseOrderPayload:
    return PurchaseOrderPayload(member=None, order=None, entry=None, entries=[], user_errors=user_errors(error))


@strawberry.type
class OrderQueries:
    @strawberry.field
    async def order_rule(self, info: Info) -> OrderRule:
        rule = await info.context.services.transactions.read(orders.order_rule)
        return OrderRule(points_per_yuan=rule.points_per_yuan, return_window_days=rule.return_window_days)


@strawberry.type
class OrderMutations:
    @strawberry.mutation(description="Staff/system: an order was paid; its points are pending until the return "
                                     "window closes. The same orderId twice is refused.")
    async def record_order(self, info: Info, input: RecordOrderInput) -> PurchaseOrderPayload:
        staff = require_staff(info)
        services = info.context.services
        try:
            channel = orders.OrderChannel(input.channel.value)
            orders.validate_order(input.order_id, input.amount_fen, channel, input.store_id)
            member = await services.members.ensure(await member_key(input.member_id))
            outcome = await services.orders.record(staff.actor, member.id, input.order_id, input.amount_fen,
                                                   channel, input.store_id, input.idempotency_key)
        except DomainError as error:
            return failed(error)
        return await order_payload(info, input.order_id, outcome)

    @strawberry.mutation(description="Staff/system: refund all or part of an order. Before release the pending "
                                     "points shrink; after release a REVERSAL takes them back (debt if spent).")
    async def refund_order(self, info: Info, input: RefundOrderInput) -> PurchaseOrderPayload:
        staff = require_staff(info)
        try:
            outcome = await info.context.services.orders.refund(staff.actor, input.order_id, input.amount_fen,
                                                                input.idempotency_key)
        except DomainError as error:
            return failed(error)
        return await order_payload(info, input.order_id, outcome)

    @strawberry.mutation(description="Staff: points per yuan and the return window in days.")
    async def update_order_rule(self, info: Info, input: UpdateOrderRuleInput) -> UpdateOrderRulePayload:
        staff = require_staff(info)
        try:
            rule = await info.context.services.orders.update_rule(
                staff.actor, orders.OrderRule(input.points_per_yuan, input.return_window_days))
        except DomainError as error:
            return UpdateOrderRulePayload(rule=None, user_errors=user_errors(error))
        return UpdateOrderRulePayload(rule=OrderRule(points_per_yuan=rule.points_per_yuan,
                                                     return_window_days=rule.return_window_days), user_errors=[])
