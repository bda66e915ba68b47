"""Tier perks the system delivers: the perk types of the tier ladder, and free shipping."""
from __future__ import annotations

from typing import Annotated, TYPE_CHECKING

import strawberry
from strawberry.types import Info

from api.graphql.errors import UserError, require_member, user_errors
from api.graphql.relay import int_key, to_global_id
from api.graphql.scalars import Long
from domain import tiers
from domain.errors import DomainError, InvalidInput

if TYPE_CHECKING:
    from api.graphql.members import MemberType

PerkKind = strawberry.enum(tiers.PerkKind, description=(
    "MONTHLY_COUPON: `quantity` coupons of a coupon item into the wallet once a month; FREE_SHIPPING: "
    "`quantity` orders' shipping a month, each up to `maxFen` (useFreeShipping); EARLY_ACCESS: flash sales "
    "and member-day shelves open `minutes` earlier."))


@strawberry.type(description="A perk the system delivers to members of the tier.")
class Perk:
    kind: PerkKind  # type: ignore[valid-type]
    name: str
    item_id: strawberry.ID | None = strawberry.field(description="MONTHLY_COUPON: the coupon item (MallItem).")
    quantity: int
    minutes: int
    max_fen: int

    @classmethod
    def of(cls, perk: tiers.Perk) -> "Perk":
        return cls(kind=perk.kind, name=perk.name,
                   item_id=to_global_id("MallItem", perk.item_id) if perk.item_id else None,
                   quantity=perk.quantity, minutes=perk.minutes, max_fen=perk.max_fen)


@strawberry.input
class PerkInput:
    kind: PerkKind  # type: ignore[valid-type]
    name: str
    item_id: strawberry.ID | None = None
    quantity: int = 1
    minutes: int = 0
    max_fen: int = 0

    def to_domain(self) -> tiers.Perk:
        try:
            item_id = int_key(self.item_id, "MallItem") if self.item_id is not None else None
        except Exception:
            raise InvalidInput("itemId is not a mall item's id", ("benefits", "itemId")) from None
        return tiers.Perk(tiers.PerkKind(self.kind.value), self.name.strip(), item_id, self.quantity, self.minutes,
                          self.max_fen)


@strawberry.input
class UseFreeShippingInput:
    order_id: str
    shipping_fen: int
    idempotency_key: str


@strawberry.type
class UseFreeShippingPayload:
    # Lazy: the tier types of api/graphql/members.py take this module's perk types, input ones too, and
    # an input must not be lazy (the fast argument path converts only what it knows at once).
    member: Annotated["MemberType", strawberry.lazy("api.graphql.members")] | None
    covered_fen: Long = strawberry.field(description="The shipping the brand pays, up to the perk's maxFen.")
    free_shipping_left: int = strawberry.field(description="Orders still covered this month.")
    user_errors: list[UserError]


@strawberry.type
class PerkMutations:
    @strawberry.mutation(description="Member: your tier's free shipping pays this order's shipping (no points); "
                                     "refundDeduction with purpose SHIPPING gives the use back.")
    async def use_free_shipping(self, info: Info, input: UseFreeShippingInput) -> UseFreeShippingPayload:
        from api.graphql.members import fresh_member
        member = require_member(info)
        services = info.context.services
        try:
            outcome = await services.perks.free_shipping(member.actor, member.member_id, input.order_id,
                                                          input.shipping_fen, input.idempotency_key)
        except DomainError as error:
            return UseFreeShippingPayload(member=None, covered_fen=0, free_shipping_left=0,
                                          user_errors=user_errors(error))
        deduction = await services.deductions.get(outcome.subject_id) if outcome.subject_id else None
        return UseFreeShippingPayload(
            member=fresh_member(info, member.member_id), covered_fen=deduction.fen if deduction else 0,
            free_shipping_left=await services.perks.free_shipping_left(member.member_id),
            user_errors=user_errors(outcome.error))
