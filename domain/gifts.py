"""Points gifting (积分转赠): a member gives points to another member, by invitation code or member id.

Rules, decided here:
- The brand switches gifting on (``GiftRule.enabled``; off for a new brand) and sets its limits:
  points per gift, points and gifts a member may give per day, points a member may receive per
  day (so a farm of accounts cannot funnel into one), all in the brand's day.
- Points expiring within ``protect_days`` cannot be given: a gift is not a way to rescue points
  about to expire. The points given keep the expiry of the lots they came from, so passing
  points back and forth never makes them live longer. The giver's first-expiring eligible lots
  go first.
- Both ledgers show the gift (``GIFT_OUT`` and ``GIFT_IN``, with the same ref), written in one
  transaction under both members' locks: exactly once per idempotency key.
- A member with an open risk review (as inviter or invitee) neither gives nor receives until
  staff decide.
- Gifts are transfers: analytics count them as ``gifted``, neither earned nor burned.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING

from domain import configuration
from domain.configuration import Actor
from domain.errors import ErrorCode, InvalidInput, NotFound, Refusal
from domain.invitations import member_id_of
from domain.ledger import NEVER, LedgerReason
from domain.text import checked_text

if TYPE_CHECKING:
    from domain.clock import Clock
    from domain.members import Member
    from domain.points import OperationContext, PointsOperations, PointsOutcome
    from domain.ports import Transactions, UnitOfWork

GIFTS_KEY = "gifts"
MAX_MESSAGE = 60
MAX_LIMIT = 10_000_000


@dataclass(frozen=True)
class GiftRule:
    enabled: bool = False
    min_points: int = 10
    max_points_per_gift: int = 1000
    daily_points: int = 2000  # a giver's points given per brand day
    daily_gifts: int = 5  # a giver's gifts per brand day
    daily_received_points: int = 5000  # a receiver's points received per brand day
    protect_days: int = 30  # lots expiring within this many days cannot be given

    def __post_init__(self) -> None:
        for name in ("min_points", "max_points_per_gift", "daily_points", "daily_gifts", "daily_received_points"):
            if not 1 <= getattr(self, name) <= MAX_LIMIT:
                raise InvalidInput(f"{configuration.record_key(name)} must be 1-{MAX_LIMIT}",
                                   (configuration.record_key(name),))
        if self.min_points > self.max_points_per_gift:
            raise InvalidInput("minPoints is more than maxPointsPerGift", ("minPoints",))
        if not 0 <= self.protect_days <= 3650:
            raise InvalidInput("protectDays must be 0-3650", ("protectDays",))

    def to_record(self) -> dict:
        return configuration.record_of(self)

    @classmethod
    def from_record(cls, record: dict) -> "GiftRule":
        return cls(**configuration.fields_in(cls, record))


async def gift_rule(uow: "UnitOfWork") -> GiftRule:
    return await configuration.load(uow, GIFTS_KEY, GiftRule.from_record, GiftRule())


class GiftDirection(str, Enum):
    SENT = "SENT"
    RECEIVED = "RECEIVED"


@dataclass
class PointsGift:
    giver_id: int
    recipient_id: int
    points: int
    message: str | None
    created_at: datetime
    id: int | None = None

    @property
    def ref(self) -> str:
        return f"gift:{self.id}"

    def direction_for(self, member_id: int) -> GiftDirection:
        return GiftDirection.SENT if member_id == self.giver_id else GiftDirection.RECEIVED

    def counterpart_of(self, member_id: int) -> int:
        return self.recipient_id if member_id == self.giver_id else self.giver_id


@dataclass(frozen=True)
class GiftTotals:
    """What a member gave or received since a moment."""

    gifts: int = 0
    points: int = 0


def recipient_of(invitation_code: str | None, member_id: int | None) -> int:
    """The receiving member's id from exactly one of the two ways to name them."""
    if (invitation_code is None) == (member_id is None):
        raise InvalidInput("name the receiver by invitationCode or memberId, one of them", ("recipient",))
    if invitation_code is not None:
        found = member_id_of(invitation_code)
        if found is None:
            raise NotFound("no such invitation code", ("invitationCode",))
        return found
    return member_id


def limits_refusal(rule: GiftRule, points: int, sent: GiftTotals, received: GiftTotals) -> Refusal | None:
    if not rule.enabled:
        return Refusal(ErrorCode.GIFTING_CLOSED, "this brand does not allow giving points", ())
    if points < rule.min_points or points > rule.max_points_per_gift:
        return Refusal(ErrorCode.LIMIT_REACHED,
                       f"a gift is {rule.min_points}-{rule.max_points_per_gift} points", ("points",))
    if sent.gifts >= rule.daily_gifts:
        return Refusal(ErrorCode.DAILY_LIMIT_REACHED, f"at most {rule.daily_gifts} gifts a day", ())
    if sent.points + points > rule.daily_points:
        return Refusal(ErrorCode.DAILY_LIMIT_REACHED,
                       f"at most {rule.daily_points} points given a day: {rule.daily_points - sent.points} left",
                       ("points",))
    if received.points + points > rule.daily_received_points:
        return Refusal(ErrorCode.DAILY_LIMIT_REACHED,
                       "the receiver cannot take that many gifted points today", ("points",))
    return None


class GiftService:
    def __init__(self, operations: "PointsOperations", transactions: "Transactions", clock: "Clock") -> None:
        self.operations = operations
        self.transactions = transactions
        self.clock = clock

    async def give(self, giver: Actor, giver_id: int, recipient_id: int, points: int, message: str | None,
                   key: str) -> "PointsOutcome":
        if not 1 <= points <= MAX_LIMIT:
            raise InvalidInput(f"points must be 1-{MAX_LIMIT}", ("points",))
        message = checked_text(message, "message", max_length=MAX_MESSAGE, required=False) or None
        if recipient_id == giver_id:
            raise Refusal(ErrorCode.SELF_GIFT, "you cannot give points to yourself", ("recipient",))
        if await self.transactions.read(lambda uow: uow.members.get(recipient_id)) is None:
            raise NotFound("no such member", ("recipient",))

        async def rule(ctx: "OperationContext") -> PointsGift:
            return await self._give(ctx, ctx.others[recipient_id], points, message, giver.label)

        return await self.operations.run(actor=giver, key=key, operation="giftPoints", member_id=giver_id,
                                         payload={"to": recipient_id, "points": points, "message": message},
                                         rule=rule, also_lock=(recipient_id,))

    @staticmethod
    async def _give(ctx: "OperationContext", recipient: "Member", points: int, message: str | None,
                    actor: str) -> PointsGift:
        uow, giver = ctx.uow, ctx.member
        rule = await gift_rule(uow)
        today = ctx.brand.start_of_day_of(ctx.now)
        refusal = limits_refusal(rule, points, await uow.gifts.sent_since(giver.id, today),
                                 await uow.gifts.received_since(recipient.id, today))
        if refusal is not None:
            raise refusal
        for member, field in ((giver, ()), (recipient, ("recipient",))):
            if await uow.invitations.under_review(member.id):
                raise Refusal(ErrorCode.MEMBER_UNDER_REVIEW,
                              "gifts wait while staff review this account's rewards", field)
        protected_until = ctx.now + timedelta(days=rule.protect_days)
        if (giftable := giver.account.giftable(protected_until)) < points:
            raise Refusal(ErrorCode.INSUFFICIENT_POINTS, f"only {giftable} points can be given: points expiring "
                                                         f"within {rule.protect_days} days stay yours", ("points",))
        gift = PointsGift(giver.id, recipient.id, points, message, ctx.now)
        await uow.gifts.add(gift)  # first, for its id: the ledger entries' ref names it
        _, lots = giver.account.give(points, protected_until, ctx.now, actor, f"赠送给 {recipient.nickname}",
                                     gift.ref)
        for lot, taken in sorted(lots.items()):
            recipient.account.credit(taken, LedgerReason.GIFT_IN, ctx.now, None if lot == NEVER else lot, actor,
                                     f"{giver.nickname} 赠送" + (f"：{message}" if message else ""), gift.ref)
        return gift

    async def get(self, gift_id: int) -> PointsGift | None:
        return await self.transactions.read(lambda uow: uow.gifts.get(gift_id))

    async def of_member(self, member_id: int, before_id: int | None, limit: int) -> list[PointsGift]:
        return await self.transactions.read(lambda uow: uow.gifts.of_member(member_id, before_id, limit))

    async def rule(self) -> GiftRule:
        return await self.transactions.read(gift_rule)

    async def update_rule(self, staff: Actor, rule: GiftRule) -> GiftRule:
        async def work(uow: "UnitOfWork") -> GiftRule:
            await configuration.store(uow, GIFTS_KEY, rule.to_record(), staff, self.clock.now())
            return rule

        return await self.transactions.write(work)
