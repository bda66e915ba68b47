"""`node(id:)`: refetch any object by its global id, with the same visibility rules as elsewhere."""
from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.errors import BadUserInput, Forbidden, require_signed_in
from api.graphql.ledger import entry_type
from api.graphql.members import member_type, visible_member
from api.graphql.community import SubmissionType
from api.graphql.group_redemptions import GroupType
from api.graphql.lottery import DrawType, LotteryType
from api.graphql.mall import MallItemType, RedemptionType
from api.graphql.orders import order_type
from api.graphql.relay import Node, from_global_id, int_key


@strawberry.type
class NodeQueries:
    @strawberry.field
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        type_name, key = from_global_id(id)
        if type_name == "Member":
            return member_type(await visible_member(info, key))
        if type_name == "LedgerEntry":
            who = require_signed_in(info)
            entries = await info.context.services.transactions.read(
                lambda uow: uow.ledger.entries_by_id([int_key(id, "LedgerEntry")]))
            if entries and not who.is_staff and entries[0].member_id != who.member_id:
                raise Forbidden("members can only see their own data")
            return entry_type(entries[0]) if entries else None
        if type_name == "Submission":
            who = require_signed_in(info)
            found = await info.context.services.transactions.read(
                lambda uow: uow.submissions.get(int_key(id, "Submission")))
            if found and not who.is_staff and found.member_id != who.member_id:
                raise Forbidden("members can only see their own data")
            return SubmissionType(_submission=found) if found else None
        if type_name == "MallItem":
            item = await info.context.services.mall.get(int_key(id, "MallItem"))
            return MallItemType(_item=item) if item else None
        if type_name == "Redemption":
            who = require_signed_in(info)
            found = await info.context.services.mall.redemption(int_key(id, "Redemption"))
            if found and not who.is_staff and found.member_id != who.member_id:
                raise Forbidden("members can only see their own data")
            return RedemptionType(_redemption=found) if found else None
        if type_name == "Lottery":
            found = await info.context.services.lotteries.get(int_key(id, "Lottery"))
            return LotteryType(_lottery=found) if found else None
        if type_name == "LotteryDraw":
            who = require_signed_in(info)
            draw = await info.context.services.lotteries.get_draw(int_key(id, "LotteryDraw"))
            if draw and not who.is_staff and draw.member_id != who.member_id:
                raise Forbidden("members can only see their own data")
            return DrawType(_draw=draw) if draw else None
        if type_name == "GroupRedemption":
            group = await info.context.services.groups.get(int_key(id, "GroupRedemption"))
            return GroupType(_group=group) if group else None
        if type_name == "PurchaseOrder":
            who = require_signed_in(info)
            order = await info.context.services.orders.find(key)
            if order and not who.is_staff and order.member_id != who.member_id:
                raise Forbidden("members can only see their own data")
            return order_type(order)
        raise BadUserInput(f"unknown type in id: {type_name[:40]!r}")
