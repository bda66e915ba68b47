"""Points-plus-cash checkout: hold points and stock, then payment confirms or cancel/timeout releases."""
from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from api.graphql.errors import BadUserInput, UserError, require_member, require_signed_in, require_staff, user_errors
from api.graphql.ledger import LedgerEntry, entry_type
from api.graphql.mall import item_key
from api.graphql.members import MemberType, fresh_member
from api.graphql.relay import Node, int_key, to_global_id
from domain import checkout
from domain.errors import DomainError, InvalidInput

OrderStatus = strawberry.enum(checkout.OrderStatus)


@strawberry.type(name="Order", description="A points-plus-cash order.")
class OrderType(Node):
    _order: strawberry.Private[checkout.CheckoutOrder]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("Order", self._order.id)

    @strawberry.field
    def status(self) -> OrderStatus:  # type: ignore[valid-type]
        return self._order.status

    @strawberry.field
    def cash_due_fen(self) -> int:
        return self._order.cash_due_fen

    @strawberry.field
    def points_held(self) -> int:
        return self._order.points_held

    @strawberry.field
    def item_name(self) -> str:
        return self._order.item_name

    @strawberry.field
    def quantity(self) -> int:
        return self._order.quantity

    @strawberry.field(description="Unpaid by then, the order expires and the points and stock are released.")
    def expires_at(self) -> datetime:
        return self._order.expires_at

    @strawberry.field
    def payment_ref(self) -> str | None:
        return self._order.payment_ref


def order_key(global_id: str) -> int:
    try:
        return int_key(global_id, "Order")
    except BadUserInput as error:
        raise InvalidInput(error.message, ("orderId",)) from None


@strawberry.input
class CheckoutInput:
    item_id: strawberry.ID
    quantity: int = 1
    idempotency_key: str


@strawberry.input
class ConfirmPaymentInput:
    order_id: strawberry.ID
    payment_ref: str
    idempotency_key: str


@strawberry.input
class CancelOrderInput:
    order_id: strawberry.ID
    idempotency_key: str


@strawberry.type
class OrderPayload:
    order: OrderType | None
    member: MemberType | None
    entry: LedgerEntry | None = strawberry.field(description="The CHECKOUT entry when payment confirms.")
    user_errors: list[UserError]


async def payload(info: Info, outcome) -> OrderPayload:
    order = await info.context.services.checkout.get(outcome.subject_id) if outcome.subject_id else None
    return OrderPayload(order=OrderType(_order=order) if order else None,
                        member=fresh_member(info, outcome.member_id), entry=entry_type(outcome.entry),
                        user_errors=user_errors(outcome.error))


def failed(error: DomainError) -> OrderPayload:
    return OrderPayload(order=None, member=None, entry=None, user_errors=user_errors(error))


@strawberry.type(description="How long a points-plus-cash order waits for payment before its hold is released.")
class CheckoutRule:
    payment_minutes: int


@strawberry.input
class UpdateCheckoutRuleInput:
    payment_minutes: int


@strawberry.type
class UpdateCheckoutRulePayload:
    rule: CheckoutRule | None
    user_errors: list[UserError]


@strawberry.type
class CheckoutQueries:
    @strawberry.field
    async def checkout_rule(self, info: Info) -> CheckoutRule:
        rule = await info.context.services.checkout.rule()
        return CheckoutRule(payment_minutes=rule.payment_minutes)


@strawberry.type
class CheckoutMutations:
    @strawberry.mutation(description="Staff: the payment window of new orders (default 15 minutes).")
    async def update_checkout_rule(self, info: Info, input: UpdateCheckoutRuleInput) -> UpdateCheckoutRulePayload:
        staff = require_staff(info)
        try:
            rule = await info.context.services.checkout.update_rule(
                staff.actor, checkout.CheckoutRule(input.payment_minutes))
        except DomainError as error:
            return UpdateCheckoutRulePayload(rule=None, user_errors=user_errors(error))
        return UpdateCheckoutRulePayload(rule=CheckoutRule(payment_minutes=rule.payment_minutes), user_errors=[])

    @strawberry.mutation(description="Member: hold the points and stock of a points-plus-cash item; pay the cash.")
    async def checkout(self, info: Info, input: CheckoutInput) -> OrderPayload:
        member = require_member(info)
        try:
            outcome = await info.context.services.checkout.checkout(
                member.actor, member.member_id, item_key(input.item_id), input.quantity, input.idempotency_key)
        except DomainError as error:
            return failed(error)
        return await payload(info, outcome)

    @strawberry.mutation(description="Staff/system: the cash was paid; the held points are spent.")
    async def confirm_payment(self, info: Info, input: ConfirmPaymentInput) -> OrderPayload:
        system = require_staff(info)
        try:
            outcome = await info.context.services.checkout.confirm_payment(
                system.actor, order_key(input.order_id), input.payment_ref, input.idempotency_key)
        except DomainError as error:
            return failed(error)
        return await payload(info, outcome)

    @strawberry.mutation(description="Member (own orders) or staff: cancel an unpaid order; points and stock return.")
    async def cancel_order(self, info: Info, input: CancelOrderInput) -> OrderPayload:
        who = require_signed_in(info)
        try:
            outcome = await info.context.services.checkout.cancel(
                who.actor, order_key(input.order_id), input.idempotency_key,
                member_id=None if who.is_staff else who.member_id)
        except DomainError as error:
            return failed(error)
        return await payload(info, outcome)
