"""The coupon wallet: `Member.coupons`."""
from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from api.graphql.relay import Connection, Node, connection, to_global_id
from domain import coupons

CouponStatus = strawberry.enum(coupons.CouponStatus, description=(
    "AVAILABLE until validUntil, then EXPIRED; USED once redeemed; CANCELLED with its redemption."))
CouponSource = strawberry.enum(coupons.CouponSource)


@strawberry.type(name="Coupon", description="A coupon a member holds (券包), one per unit redeemed. The member "
                                            "and staff only.")
class CouponType(Node):
    _coupon: strawberry.Private[coupons.Coupon]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("Coupon", self._coupon.id)

    @strawberry.field(description="What to show at the till or enter in the shop.")
    def code(self) -> str:
        return self._coupon.code

    @strawberry.field(description="The coupon item's name when it was issued.")
    def name(self) -> str:
        return self._coupon.name

    @strawberry.field(description="Face value in fen (0: a coupon for a thing, not an amount off).")
    def value_fen(self) -> int:
        return self._coupon.value_fen

    @strawberry.field(description="The order it needs, in fen (0: none).")
    def min_spend_fen(self) -> int:
        return self._coupon.min_spend_fen

    @strawberry.field
    def valid_from(self) -> datetime:
        return self._coupon.valid_from

    @strawberry.field(description="Null: it never expires.")
    def valid_until(self) -> datetime | None:
        return self._coupon.valid_until

    @strawberry.field(description="As of now: a coupon past validUntil is EXPIRED.")
    def status(self, info: Info) -> CouponStatus:  # type: ignore[valid-type]
        return self._coupon.status_at(info.context.services.clock.now())

    @strawberry.field
    def source(self) -> CouponSource:  # type: ignore[valid-type]
        return self._coupon.source

    @strawberry.field
    def used_at(self) -> datetime | None:
        return self._coupon.used_at

    @strawberry.field(description="The stores whose tills take it (empty: every store).")
    def store_ids(self) -> list[str]:
        return list(self._coupon.store_ids)

    @strawberry.field(description="The store whose till redeemed it.")
    def used_store_id(self) -> str | None:
        return self._coupon.used_store_id

    @strawberry.field(description="The redemption that issued it.")
    def redemption_id(self) -> strawberry.ID:
        return to_global_id("Redemption", self._coupon.redemption_id)


def coupon_connection(found: list[coupons.Coupon], first: int, has_previous: bool) -> Connection[CouponType]:
    return connection([CouponType(_coupon=c) for c in found[:first]], [c.id for c in found], first, has_previous)
