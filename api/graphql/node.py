"""`node(id:)`: refetch any object by its global id, with the same visibility rules as elsewhere."""
from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.errors import BadUserInput, Forbidden, Unauthenticated, caller, require_signed_in
from api.graphql.ledger import entry_type
from api.graphql.members import member_type, visible_member
from api.graphql.community import SubmissionType
from api.graphql.coupons import CouponType
from api.graphql.gifts import visible_gift
from api.graphql.group_redemptions import GroupType
from api.graphql.lottery import DrawType, LotteryType
from api.graphql.mall import MallItemType, RedemptionType
from api.graphql.orders import order_type
from api.graphql.partners import ExchangeType
from api.graphql.relay import Node, from_global_id, int_key


async def _entry(services, global_id: str, _key: str):
    found = await services.transactions.read(lambda uow: uow.ledger.entries_by_id([int_key(global_id, "LedgerEntry")]))
    return found[0] if found else None


async def _submission(services, global_id: str, _key: str):
    return await services.transactions.read(lambda uow: uow.submissions.get(int_key(global_id, "Submission")))


# Anyone may refetch these: (load, wrap).
PUBLIC = {
    "MallItem": (lambda s, g, _: s.mall.get(int_key(g, "MallItem")), lambda f: MallItemType(_item=f)),
    "Lottery": (lambda s, g, _: s.lotteries.get(int_key(g, "Lottery")), lambda f: LotteryType(_lottery=f)),
    "GroupRedemption": (lambda s, g, _: s.groups.get(int_key(g, "GroupRedemption")), lambda f: GroupType(_group=f)),
}
# These belong to one member: that member and staff may refetch them, nobody else.
OWNED = {
    "LedgerEntry": (_entry, entry_type),
    "Submission": (_submission, lambda f: SubmissionType(_submission=f)),
    "Redemption": (lambda s, g, _: s.mall.redemption(int_key(g, "Redemption")),
                   lambda f: RedemptionType(_redemption=f)),
    "LotteryDraw": (lambda s, g, _: s.lotteries.get_draw(int_key(g, "LotteryDraw")), lambda f: DrawType(_draw=f)),
    "PurchaseOrder": (lambda s, _, key: s.orders.find(key), order_type),
    "Coupon": (lambda s, g, _: s.coupons.get(int_key(g, "Coupon")), lambda f: CouponType(_coupon=f)),
}


async def visible_exchange(info: Info, global_id: str) -> ExchangeType | None:
    """An exchange is its member's, its partner's and staff's to see."""
    who = caller(info)
    if who.kind == "anonymous":
        raise Unauthenticated("sign in to do this")
    found = await info.context.services.partners.get_exchange(int_key(global_id, "PartnerExchange"))
    if found is None:
        return None
    concerned = who.is_staff or (who.is_partner and found.partner_code == who.name) or (
        who.is_member and found.member_id == who.member_id)
    if not concerned:  # anyone else (another member, another partner, a store) is refused
        raise Forbidden("this exchange is not yours")
    return ExchangeType(_exchange=found)


@strawberry.type
class NodeQueries:
    @strawberry.field
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        type_name, key = from_global_id(id)
        if type_name == "Member":
            return member_type(await visible_member(info, key))
        if type_name == "PartnerExchange":
            return await visible_exchange(info, id)
        if type_name == "PointsGift":
            return await visible_gift(info, int_key(id, "PointsGift"))
        if type_name not in PUBLIC and type_name not in OWNED:
            raise BadUserInput(f"unknown type in id: {type_name[:40]!r}")
        who = require_signed_in(info) if type_name in OWNED else None
        load, wrap = PUBLIC.get(type_name) or OWNED[type_name]
        found = await load(info.context.services, id, key)
        if found is None:
            return None
        if who is not None and not who.is_staff and found.member_id != who.member_id:
            raise Forbidden("members can only see their own data")
        return wrap(found)
