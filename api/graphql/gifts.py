"""Points gifting (积分转赠): a member gives points to another, within the brand's limits."""
from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from api.graphql.errors import Forbidden, UserError, require_member, require_signed_in, require_staff, user_errors
from api.graphql.ledger import LedgerEntry, entry_type
from api.graphql.members import MemberType, fresh_member, resolve_member_id
from api.graphql.relay import Connection, Node, connection, to_global_id
from api.graphql.scalars import Long
from domain import gifts
from domain.errors import DomainError

GiftDirection = strawberry.enum(gifts.GiftDirection, description="SENT by the member whose list it is, or "
                                                                 "RECEIVED by them.")


@strawberry.type(description="Who may give points, how many, and which points stay with their holder.")
class GiftRule:
    enabled: bool = strawberry.field(description="False: giftPoints refuses with GIFTING_CLOSED.")
    min_points: int
    max_points_per_gift: int
    daily_points: int = strawberry.field(description="Points a member may give per day (the brand's day).")
    daily_gifts: int = strawberry.field(description="Gifts a member may give per day.")
    daily_received_points: int = strawberry.field(description="Points a member may receive per day.")
    protect_days: int = strawberry.field(description="Points expiring within this many days cannot be given.")

    @classmethod
    def of(cls, rule: gifts.GiftRule) -> "GiftRule":
        return cls(enabled=rule.enabled, min_points=rule.min_points, max_points_per_gift=rule.max_points_per_gift,
                   daily_points=rule.daily_points, daily_gifts=rule.daily_gifts,
                   daily_received_points=rule.daily_received_points, protect_days=rule.protect_days)


@strawberry.input(description="Left out, a field keeps the default of a new brand (gifting off).")
class UpdateGiftRuleInput:
    enabled: bool
    min_points: int = 10
    max_points_per_gift: int = 1000
    daily_points: int = 2000
    daily_gifts: int = 5
    daily_received_points: int = 5000
    protect_days: int = 30


@strawberry.type
class UpdateGiftRulePayload:
    rule: GiftRule | None
    user_errors: list[UserError]


@strawberry.type(name="PointsGift", description="Points one member gave another. Seen by the two of them and "
                                                "staff; the other side shows by nickname only.")
class PointsGiftType(Node):
    _gift: strawberry.Private[gifts.PointsGift]
    _viewer: strawberry.Private[int]  # the member whose side this is

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("PointsGift", self._gift.id)

    @strawberry.field
    def points(self) -> Long:
        return self._gift.points

    @strawberry.field
    def message(self) -> str | None:
        return self._gift.message

    @strawberry.field
    def direction(self) -> GiftDirection:  # type: ignore[valid-type]
        return self._gift.direction_for(self._viewer)

    @strawberry.field(description="The other member's nickname.")
    async def counterpart_nickname(self, info: Info) -> str:
        other = await info.context.loaders.members.load(self._gift.counterpart_of(self._viewer))
        return other.nickname if other else ""

    @strawberry.field
    def created_at(self) -> datetime:
        return self._gift.created_at


def gift_connection(found: list[gifts.PointsGift], viewer: int, first: int,
                    has_previous: bool) -> Connection[PointsGiftType]:
    return connection([PointsGiftType(_gift=g, _viewer=viewer) for g in found], [g.id for g in found], first,
                      has_previous)


async def visible_gift(info: Info, gift_id: int) -> PointsGiftType | None:
    """A gift is its two members' and staff's to see; each member sees their own side."""
    who = require_signed_in(info)
    found = await info.context.services.gifts.get(gift_id)
    if found is None:
        return None
    if who.is_staff:
        return PointsGiftType(_gift=found, _viewer=found.giver_id)
    if who.is_member and who.member_id in (found.giver_id, found.recipient_id):
        return PointsGiftType(_gift=found, _viewer=who.member_id)
    raise Forbidden("this gift is not yours")


@strawberry.input(description="Name the receiver by invitationCode or by memberId: one of them.")
class GiftPointsInput:
    invitation_code: str | None = None
    member_id: strawberry.ID | None = None
    points: int
    message: str | None = strawberry.field(default=None, description="Up to 60 characters, shown to the receiver.")
    idempotency_key: str


@strawberry.type
class GiftPointsPayload:
    member: MemberType | None = strawberry.field(description="The giver, after the gift.")
    gift: PointsGiftType | None
    entry: LedgerEntry | None = strawberry.field(description="The giver's GIFT_OUT entry.")
    user_errors: list[UserError]


@strawberry.type
class GiftQueries:
    @strawberry.field(description="The brand's gifting rule (public: pages show the limits).")
    async def gift_rule(self, info: Info) -> GiftRule:
        return GiftRule.of(await info.context.services.gifts.rule())


@strawberry.type
class GiftMutations:
    @strawberry.mutation(description="Member: give points to another member. They keep the expiry they had; "
                                     "points expiring within the rule's protectDays stay yours.")
    async def gift_points(self, info: Info, input: GiftPointsInput) -> GiftPointsPayload:
        member = require_member(info)
        service = info.context.services.gifts
        try:
            recipient = await resolve_member_id(info, input.member_id) if input.member_id is not None else None
            recipient_id = gifts.recipient_of(input.invitation_code, recipient)
            outcome = await service.give(member.actor, member.member_id, recipient_id, input.points, input.message,
                                         input.idempotency_key)
        except DomainError as error:
            return GiftPointsPayload(member=None, gift=None, entry=None, user_errors=user_errors(error))
        gift = await service.get(outcome.subject_id) if outcome.subject_id and not outcome.error else None
        return GiftPointsPayload(member=fresh_member(info, member.member_id),
                                 gift=PointsGiftType(_gift=gift, _viewer=member.member_id) if gift else None,
                                 entry=entry_type(outcome.entry) if gift else None,
                                 user_errors=user_errors(outcome.error))

    @strawberry.mutation(description="Staff: switch gifting on or off and set its limits.")
    async def update_gift_rule(self, info: Info, input: UpdateGiftRuleInput) -> UpdateGiftRulePayload:
        staff = require_staff(info)
        try:
            rule = await info.context.services.gifts.update_rule(staff.actor, gifts.GiftRule(
                input.enabled, input.min_points, input.max_points_per_gift, input.daily_points, input.daily_gifts,
                input.daily_received_points, input.protect_days))
        except DomainError as error:
            return UpdateGiftRulePayload(rule=None, user_errors=user_errors(error))
        return UpdateGiftRulePayload(rule=GiftRule.of(rule), user_errors=[])
