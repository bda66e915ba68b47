"""The till (门店核销): a store's token identifies a member by the code their page shows, records an
offline order, takes points off a bill and redeems coupons; staff may do the same for any store."""
from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry.types import Info

from api.graphql.coupons import CouponType
from api.graphql.errors import Forbidden, UserError, caller, require_role, user_errors
from api.graphql.ledger import LedgerEntry, entry_type
from api.graphql.members import Tier
from api.graphql.orders import PurchaseOrderType, order_type
from api.graphql.relay import to_global_id
from api.graphql.scalars import Long
from api.http.auth import Caller
from domain import analytics
from domain.configuration import Actor
from domain.errors import DomainError
from domain.orders import checked_store_id


@strawberry.type(description="The member who showed their code at a till: what the cashier needs, nothing more.")
class TillMember:
    id: strawberry.ID = strawberry.field(description="The member's global id.")
    nickname: str
    tier: Tier
    available_points: Long
    coupons: list[CouponType] = strawberry.field(
        description="Coupons the member holds that this store's till takes (up to 20, newest first).")


@strawberry.type
class IdentifyMemberPayload:
    member: TillMember | None
    user_errors: list[UserError]


@strawberry.input
class RecordStoreOrderInput:
    member_code: str = strawberry.field(description="The code the member's page shows now (it changes each minute).")
    store_id: str
    order_id: str = strawberry.field(description="The till's own order id (unique across the brand's orders).")
    amount_fen: int
    idempotency_key: str


@strawberry.type
class StoreOrderPayload:
    member: TillMember | None
    order: PurchaseOrderType | None
    user_errors: list[UserError]


@strawberry.input
class DeductAtTillInput:
    member_code: str
    store_id: str
    order_id: str
    order_amount_fen: int
    points: int
    idempotency_key: str


@strawberry.type
class DeductAtTillPayload:
    member: TillMember | None
    entry: LedgerEntry | None
    deducted_fen: Long = strawberry.field(description="The discount the points bought, in fen.")
    points_used: Long
    user_errors: list[UserError]


@strawberry.input
class RedeemCouponInput:
    code: str = strawberry.field(description="The coupon's code, scanned or keyed in.")
    store_id: str


@strawberry.type
class RedeemCouponPayload:
    coupon: CouponType | None
    user_errors: list[UserError] = strawberry.field(description=(
        "NOT_FOUND, EXPIRED, ALREADY_USED (another till got there first, or earlier), WRONG_STORE, COUPON_CANCELLED."))


@strawberry.type(description="What a store did over a range (its orders, its till's deductions and coupons).")
class StoreFigures:
    store_id: str
    orders: int = strawberry.field(description="Orders naming the store, not wholly refunded.")
    points_earned: Long = strawberry.field(description="What those orders are worth after refunds, pending or "
                                                       "credited.")
    deductions: int = strawberry.field(description="Points deductions at its till that stand.")
    points_burned: Long = strawberry.field(description="Points its till took off bills (refunded ones excluded).")
    coupons_redeemed: int
    coupon_value_fen: Long = strawberry.field(description="The face value of the coupons it redeemed.")


def till_caller(info: Info, store_id: str) -> Caller:
    """A store acts for its own store only; staff for any."""
    who = caller(info)
    if who.is_staff:
        return who
    who = require_role(info, "store")
    if who.name != store_id:
        raise Forbidden("a store's token acts for its own store only")
    return who


def till_actor(who: Caller, store_id: str) -> Actor:
    """Staff at a till act as that store: keys and figures are the store's."""
    return who.actor if who.is_store else Actor("store", store_id)


async def till_member(info: Info, store_id: str, member_id: int) -> TillMember:
    found = await info.context.services.till.identify(store_id, member_id)
    member = found.member
    table = await info.context.loaders.tiers.load("tiers")
    return TillMember(id=to_global_id("Member", member.external_id), nickname=member.nickname,
                      tier=Tier.of(table.get(member.tier_level)), available_points=member.account.available,
                      coupons=[CouponType(_coupon=c) for c in found.coupons])


def member_named(info: Info, member_code: str) -> int:
    return info.context.member_codes.member_of(member_code, info.context.services.clock.now())


def at_till(info: Info, store_id: str, member_code: str) -> tuple[Actor, int]:
    """Who acts at this store's till, and the member whose code was scanned."""
    who = till_caller(info, checked_store_id(store_id))
    return till_actor(who, store_id), member_named(info, member_code)


@strawberry.type
class StoreQueries:
    @strawberry.field(description="Store (its own store) or staff: the member whose code was scanned.")
    async def identify_member(self, info: Info, member_code: str, store_id: str) -> IdentifyMemberPayload:
        try:
            till_caller(info, checked_store_id(store_id))
            return IdentifyMemberPayload(member=await till_member(info, store_id, member_named(info, member_code)),
                                         user_errors=[])
        except DomainError as error:
            return IdentifyMemberPayload(member=None, user_errors=user_errors(error))

    @strawberry.field(description="Staff: every store's figures over a range (or one store's); a store: its own.")
    async def store_figures(self, info: Info, from_: Annotated[date, strawberry.argument(name="from")], to: date,
                            store_id: str | None = None) -> list[StoreFigures]:
        who = caller(info)
        if not who.is_staff:
            store_id = till_caller(info, store_id or who.name).name
        found = await info.context.services.analytics.store_figures(from_, to, store_id)
        return [store_figures_type(f) for f in found]


def store_figures_type(f: analytics.StoreFigures) -> StoreFigures:
    return StoreFigures(store_id=f.store_id, orders=f.orders, points_earned=f.points_earned,
                        deductions=f.deductions, points_burned=f.points_burned, coupons_redeemed=f.coupons_redeemed,
                        coupon_value_fen=f.coupon_value_fen)


@strawberry.type
class StoreMutations:
    @strawberry.mutation(description="Store or staff: an order paid at the till earns the member who showed "
                                     "their code points (pending through the return window, as every order).")
    async def record_store_order(self, info: Info, input: RecordStoreOrderInput) -> StoreOrderPayload:
        services = info.context.services
        try:
            store, member_id = at_till(info, input.store_id, input.member_code)
            outcome = await services.till.record_order(store, member_id, input.order_id, input.amount_fen,
                                                       input.idempotency_key)
        except DomainError as error:
            return StoreOrderPayload(member=None, order=None, user_errors=user_errors(error))
        order = await services.orders.find(input.order_id) if outcome.error is None else None
        return StoreOrderPayload(member=await till_member(info, input.store_id, member_id), order=order_type(order),
                                 user_errors=user_errors(outcome.error))

    @strawberry.mutation(description="Store or staff: points off a bill at the till, on the deduction rule's "
                                     "terms (rate, cap, minimum order), from the member who showed their code.")
    async def deduct_at_till(self, info: Info, input: DeductAtTillInput) -> DeductAtTillPayload:
        services = info.context.services
        try:
            store, member_id = at_till(info, input.store_id, input.member_code)
            outcome = await services.till.deduct(store, member_id, input.order_id, input.order_amount_fen,
                                                 input.points, input.idempotency_key)
        except DomainError as error:
            return DeductAtTillPayload(member=None, entry=None, deducted_fen=0, points_used=0,
                                       user_errors=user_errors(error))
        deduction = await services.deductions.get(outcome.subject_id) if outcome.subject_id else None
        return DeductAtTillPayload(member=await till_member(info, input.store_id, member_id),
                                   entry=entry_type(outcome.entry), deducted_fen=deduction.fen if deduction else 0,
                                   points_used=deduction.points if deduction else 0,
                                   user_errors=user_errors(outcome.error))

    @strawberry.mutation(description="Store or staff: redeem a coupon by its code at this store's till, once: "
                                     "of two tills at once, one redeems it and the other is told ALREADY_USED.")
    async def redeem_coupon(self, info: Info, input: RedeemCouponInput) -> RedeemCouponPayload:
        try:
            who = till_caller(info, checked_store_id(input.store_id))
            coupon = await info.context.services.till.redeem_coupon(till_actor(who, input.store_id), input.store_id,
                                                                     input.code)
        except DomainError as error:
            return RedeemCouponPayload(coupon=None, user_errors=user_errors(error))
        return RedeemCouponPayload(coupon=CouponType(_coupon=coupon), user_errors=[])
