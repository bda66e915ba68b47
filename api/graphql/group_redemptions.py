"""Group redemption (拼团): start a group on an item, friends join, the group fills or expires."""
from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from api.graphql.errors import BadUserInput, UserError, require_member, user_errors
from api.graphql.ledger import LedgerEntry, entry_type
from api.graphql.mall import MallItemType, item_key
from api.graphql.members import MemberType, fresh_member
from api.graphql.relay import Node, int_key, to_global_id
from domain import group_redemptions
from domain.errors import DomainError, InvalidInput

GroupStatus = strawberry.enum(group_redemptions.GroupStatus)


@strawberry.type(name="GroupRedemption", description="A 拼团 group: share its id with friends so they can join.")
class GroupType(Node):
    _group: strawberry.Private[group_redemptions.GroupRedemption]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("GroupRedemption", self._group.id)

    @strawberry.field
    async def item(self, info: Info) -> MallItemType | None:
        item = await info.context.loaders.mall_items.load(self._group.item_id)
        return MallItemType(_item=item) if item else None

    @strawberry.field(description="Members needed to fill the group.")
    def size(self) -> int:
        return self._group.size

    @strawberry.field
    def joined(self) -> int:
        return len(self._group.member_ids)

    @strawberry.field(description="The group price each member pays when it fills.")
    def points_price(self) -> int:
        return self._group.points_price

    @strawberry.field
    def status(self, info: Info) -> GroupStatus:  # type: ignore[valid-type]
        return self._group.status(info.context.services.clock.now())

    @strawberry.field
    def created_at(self) -> datetime:
        return self._group.created_at

    @strawberry.field(description="Unfilled by then, every hold is released.")
    def deadline(self) -> datetime:
        return self._group.deadline

    @strawberry.field
    def filled_at(self) -> datetime | None:
        return self._group.filled_at


@strawberry.input
class StartGroupRedemptionInput:
    item_id: strawberry.ID
    idempotency_key: str


@strawberry.input
class JoinGroupRedemptionInput:
    group_id: strawberry.ID
    idempotency_key: str


@strawberry.type
class GroupRedemptionPayload:
    member: MemberType | None
    entry: LedgerEntry | None = strawberry.field(description="Your REDEMPTION entry when your join filled the "
                                                             "group; until then your points are held.")
    group: GroupType | None
    user_errors: list[UserError]


def group_key(global_id: str) -> int:
    try:
        return int_key(global_id, "GroupRedemption")
    except BadUserInput as error:
        raise InvalidInput(error.message, ("groupId",)) from None


@strawberry.type
class GroupRedemptionQueries:
    @strawberry.field(description="Open groups on an item, closest to their deadline first (at most 20).")
    async def group_redemptions(self, info: Info, item_id: strawberry.ID) -> list[GroupType]:
        found = await info.context.services.groups.open_for_item(int_key(item_id, "MallItem"), 20)
        return [GroupType(_group=g) for g in found]


@strawberry.type
class GroupRedemptionMutations:
    @strawberry.mutation(description="Member: start a group on an item with a group offer; your points are held.")
    async def start_group_redemption(self, info: Info, input: StartGroupRedemptionInput) -> GroupRedemptionPayload:
        member = require_member(info)
        try:
            outcome = await info.context.services.groups.start(member.actor, member.member_id,
                                                               item_key(input.item_id), input.idempotency_key)
        except DomainError as error:
            return GroupRedemptionPayload(member=None, entry=None, group=None, user_errors=user_errors(error))
        return await _payload(info, member.member_id, outcome)

    @strawberry.mutation(description="Member: join a friend's group; the join that fills it redeems for everyone.")
    async def join_group_redemption(self, info: Info, input: JoinGroupRedemptionInput) -> GroupRedemptionPayload:
        member = require_member(info)
        try:
            outcome = await info.context.services.groups.join(member.actor, member.member_id,
                                                              group_key(input.group_id), input.idempotency_key)
        except DomainError as error:
            return GroupRedemptionPayload(member=None, entry=None, group=None, user_errors=user_errors(error))
        return await _payload(info, member.member_id, outcome)


async def _payload(info: Info, member_id: int, outcome) -> GroupRedemptionPayload:
    group = await info.context.services.groups.get(outcome.subject_id) if outcome.subject_id else None
    return GroupRedemptionPayload(member=fresh_member(info, member_id), entry=entry_type(outcome.entry),
                                  group=GroupType(_group=group) if group else None,
                                  user_errors=user_errors(outcome.error))
