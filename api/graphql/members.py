"""Members, their tier, points, ledger and check-in state; tiers configuration for staff."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from api.graphql.checkin_types import CheckInStatus
from api.graphql.conversions import multiplier_permille
from api.graphql.coupons import CouponStatus
from api.graphql.errors import (BadUserInput, Forbidden, UserError, require_private, require_signed_in, require_staff,
                                user_errors)
from api.graphql.leaderboards import Badge, LeaderboardPeriod, LeaderboardRow, badge_type, board_of, rows
from api.graphql.ledger import LedgerEntry, LedgerReason, Points, entry_type
from api.graphql.relay import Connection, Node, check_first, connection, decode_cursor, from_global_id, to_global_id
from api.graphql.perks import Perk, PerkInput
from api.graphql.qr import qr_data_uri
from api.graphql.scalars import Long
from domain import members, tiers
from domain.coupons import CouponStatus as DomainCouponStatus
from domain.errors import DomainError, InvalidInput
from domain.invitations import invitation_code
from domain.ledger import GrowthChange as DomainGrowthChange
from domain.ledger import LedgerReason as DomainReason
from domain.segments import Segment as DomainSegment

if TYPE_CHECKING:
    from api.graphql.checkout import OrderType
    from api.graphql.coupons import CouponType
    from api.graphql.gifts import PointsGiftType
    from api.graphql.chances import LotteryChances
    from api.graphql.points_conversions import ConversionOffer
    from api.graphql.tags import Profile
    from api.graphql.lottery import DrawType
    from api.graphql.mall import RedemptionType
    from api.graphql.partners import ExchangeType
    from api.graphql.segments import Segment
    from api.graphql.assists import AssistCampaignType
    from api.graphql.community import SubmissionType
    from api.graphql.invitations import InvitationType
    from api.graphql.notifications import NotificationType
    from api.graphql.orders import PurchaseOrderType


@strawberry.type(description="A membership tier (V1..V6). Read as a member's tier, it also says how "
                            "long the member holds it (保级).")
class Tier:
    level: int
    code: str
    name: str
    growth_threshold: Long
    earn_multiplier: float
    perks: list[str] = strawberry.field(description="What the tier offers, as text for pages.")
    benefits: list[Perk] = strawberry.field(
        default_factory=list, description="The perks the system delivers (monthly coupons, free shipping, early "
                                          "access), each with its kind.")
    keep_threshold: Long = strawberry.field(
        description="Growth to earn within an upkeep period to keep this tier at the period's end.")
    keep_until: datetime | None = strawberry.field(
        default=None, description="A member's tier: when upkeep judges it. Null for V1, with upkeep off, "
                                  "and in the tier ladder.")
    growth_this_period: Long | None = strawberry.field(
        default=None, description="A member's tier: growth earned in the current upkeep period, less growth "
                                  "refunds took back in it (may be negative). Null in the tier ladder.")
    growth_to_keep: Long | None = strawberry.field(
        default=None, description="A member's tier: growth still needed by keepUntil to keep the tier "
                                  "(0 when met). Null when there is nothing to keep.")

    @classmethod
    def of(cls, tier: tiers.Tier) -> "Tier":
        return cls(level=tier.level, code=tier.code, name=tier.name, growth_threshold=tier.growth_threshold,
                   earn_multiplier=tier.earn_multiplier_permille / 1000, perks=list(tier.perks),
                   keep_threshold=tier.keep_threshold, benefits=[Perk.of(p) for p in tier.benefits])

    @classmethod
    def held_by(cls, member: members.Member, table: tiers.TierTable) -> "Tier":
        tier = table.get(member.tier_level)
        held = cls.of(tier)
        held.growth_this_period = member.account.period_growth
        if member.keep_until is not None:
            held.keep_until = member.keep_until
            held.growth_to_keep = max(0, tier.keep_threshold - member.account.period_growth)
        return held


@strawberry.enum(description="Why growth moved other than by earning.")
class GrowthReason(Enum):
    REFUND = "REFUND"
    TIER_UPKEEP = "TIER_UPKEEP"
    OPENING = "OPENING"  # carried over by an import


@strawberry.type(description="A change of growth other than earning: a refund taking back its order's "
                             "growth, or upkeep lowering the tier.")
class GrowthChange:
    _change: strawberry.Private[DomainGrowthChange]

    @strawberry.field
    def delta(self) -> Long:
        return self._change.delta

    @strawberry.field
    def growth_after(self) -> Long:
        return self._change.growth_after

    @strawberry.field
    def reason(self) -> GrowthReason:
        return GrowthReason(self._change.reason.value)

    @strawberry.field
    def memo(self) -> str | None:
        return self._change.memo

    @strawberry.field
    def occurred_at(self) -> datetime:
        return self._change.occurred_at


@strawberry.type(description="保级: how long a tier is held before upkeep judges it.")
class TierUpkeep:
    period_months: int = strawberry.field(description="0: tiers never lapse.")
    refunds_lower_tier_at_once: bool = strawberry.field(
        description="False: a refund's lost growth counts at the next upkeep date; true: the tier falls at once "
                    "to what the remaining growth earns.")

    @classmethod
    def of(cls, upkeep: tiers.TierUpkeep) -> "TierUpkeep":
        return cls(period_months=upkeep.period_months, refunds_lower_tier_at_once=upkeep.refunds_lower_at_once)


@strawberry.type
class TierChange:
    from_level: int
    to_level: int
    growth: Long
    changed_at: datetime


@strawberry.type(name="Member", description="A member of the brand's community.")
class MemberType(Node):
    _member: strawberry.Private[members.Member]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("Member", self._member.external_id)

    @strawberry.field(description="The brand's own member id (the token subject).")
    def member_id(self) -> str:
        return self._member.external_id

    @strawberry.field
    def nickname(self) -> str:
        return self._member.nickname

    @strawberry.field
    def joined_at(self) -> datetime:
        return self._member.created_at

    @strawberry.field(description="成长值: rises with points earned, falls when an order that earned it is "
                                  "refunded (and when upkeep lowers the tier); reaching a threshold raises the tier.")
    def growth(self) -> Long:
        return self._member.growth

    @strawberry.field
    def tier(self, info: Info) -> Tier:
        # Plain when the request holds the table (HTTP requests prefetch it), awaited otherwise:
        # graphql-core accepts either from one resolver, and plain costs no task.
        table = info.context.loaders.tier_table
        if table is not None:
            return Tier.held_by(self._member, table)
        return self._tier_loaded(info)  # type: ignore[return-value]

    async def _tier_loaded(self, info: Info) -> Tier:
        return Tier.held_by(self._member, await info.context.loaders.tiers.load("tiers"))

    @strawberry.field(description="Growth changes other than earning (refunds, upkeep), newest first. "
                                  "`first` is required, at most 100.")
    async def growth_changes(self, info: Info, first: int, after: str | None = None) -> Connection[GrowthChange]:
        check_first(first)
        before = decode_cursor(after)
        found = await info.context.services.transactions.read(
            lambda uow: uow.members.growth_changes_page(self._member.id, before, first + 1))
        return connection([GrowthChange(_change=c) for c in found[:first]], [c.id for c in found], first,
                          before is not None)

    @strawberry.field
    async def tier_changes(self, info: Info) -> list[TierChange]:
        changes = await info.context.loaders.tier_changes.load(self._member.id)
        return [TierChange(from_level=c.from_level, to_level=c.to_level, growth=c.growth, changed_at=c.changed_at)
                for c in changes]

    @strawberry.field
    def points(self) -> Points:
        account = self._member.account
        return Points(available=account.available, pending=account.pending, held=account.held,
                      lifetime_earned=account.lifetime_earned, debt=account.debt, _member_id=self._member.id)

    @strawberry.field(description="Newest first. `first` is required, at most 100.")
    async def ledger(self, info: Info, first: int, after: str | None = None,
                     reasons: list[LedgerReason] | None = None) -> Connection[LedgerEntry]:  # type: ignore[valid-type]
        check_first(first)
        before = decode_cursor(after)
        if reasons is not None and len(reasons) > len(DomainReason):
            raise BadUserInput("too many reasons")
        wanted = [DomainReason(r.value) for r in reasons] if reasons else None
        entries = await info.context.services.transactions.read(
            lambda uow: uow.ledger.entries_page(self._member.id, before, first + 1, wanted))
        return connection([entry_type(e) for e in entries[:first]], [e.id for e in entries], first,
                          before is not None)

    @strawberry.field(description="Orders from the brand's shop, newest first.")
    async def orders(self, info: Info, first: int, after: str | None = None
                     ) -> Connection[Annotated["PurchaseOrderType", strawberry.lazy("api.graphql.orders")]]:
        from api.graphql.orders import PurchaseOrderType
        check_first(first)
        before = decode_cursor(after)
        found = await info.context.services.transactions.read(
            lambda uow: uow.orders.page(self._member.id, before, first + 1))
        return connection([PurchaseOrderType(_order=o) for o in found], [o.id for o in found], first,
                          before is not None)

    @strawberry.field(description="Share it: a new member who accepts it rewards you both.")
    def invitation_code(self) -> str:
        return invitation_code(self._member.id)

    @strawberry.field(description="Friends who accepted your invitation.")
    async def invited_friends(self, info: Info) -> int:
        return await info.context.services.invitations.invited_count(self._member.id)

    @strawberry.field(description="Friends who accepted your invitation, newest first, and what each paid you "
                                  "or why it waits. `first` is required, at most 100.")
    async def invitations(self, info: Info, first: int
                          ) -> list[Annotated["InvitationType", strawberry.lazy("api.graphql.invitations")]]:
        from api.graphql.invitations import invitation_types
        check_first(first)
        return await invitation_types(info, await info.context.services.invitations.of_inviter(self._member.id,
                                                                                               first))

    @strawberry.field(description="Your submissions (reviews, photo posts, ...), newest first.")
    async def submissions(self, info: Info, first: int, after: str | None = None
                          ) -> Connection[Annotated["SubmissionType", strawberry.lazy("api.graphql.community")]]:
        from api.graphql.community import submission_connection
        check_first(first)
        before = decode_cursor(after)
        found = await info.context.services.submissions.page(self._member.id, None, None, before, first + 1)
        return submission_connection(found, first, before is not None)

    @strawberry.field(description="Newest first.")
    async def notifications(self, info: Info, first: int, after: str | None = None
                            ) -> Connection[Annotated["NotificationType", strawberry.lazy("api.graphql.notifications")]]:
        from api.graphql.notifications import NotificationType
        check_first(first)
        before = decode_cursor(after)
        found = await info.context.services.notifications.page(self._member.id, before, first + 1)
        return connection([NotificationType(_notification=n) for n in found], [n.id for n in found], first,
                          before is not None)

    @strawberry.field(description="Your assist campaigns, newest first (the last 20).")
    async def assist_campaigns(self, info: Info
                               ) -> list[Annotated["AssistCampaignType", strawberry.lazy("api.graphql.assists")]]:
        from api.graphql.assists import campaign_type
        return [await campaign_type(info, c) for c in await info.context.services.assists.of_member(self._member.id)]

    @strawberry.field(description="Your mall redemptions, newest first.")
    async def redemptions(self, info: Info, first: int, after: str | None = None
                          ) -> Connection[Annotated["RedemptionType", strawberry.lazy("api.graphql.mall")]]:
        from api.graphql.mall import redemption_connection
        check_first(first)
        before = decode_cursor(after)
        found = await info.context.services.mall.redemptions(self._member.id, before, first + 1)
        return redemption_connection(found, first, before is not None)

    @strawberry.field(description="Your lottery chances usable now: how many, and the first `first` of them "
                                  "(at most 100), first-expiring first. Yours (and staff's) only.")
    async def lottery_chances(self, info: Info, first: int = 20
                              ) -> Annotated["LotteryChances", strawberry.lazy("api.graphql.chances")]:
        from api.graphql.chances import chances_type
        require_private(info, self._member.id, "lottery chances")
        check_first(first)
        return chances_type(*await info.context.services.chances.usable(self._member.id, first))

    @strawberry.field(description="积分增值: points you left idle, or that are about to expire, offered as a "
                                  "better benefit (acceptConversion). Yours (and staff's) only.")
    async def conversion_offers(self, info: Info
                                ) -> list[Annotated["ConversionOffer", strawberry.lazy("api.graphql.points_conversions")]]:
        from api.graphql.points_conversions import ConversionOffer
        require_private(info, self._member.id, "conversion offers")
        return [ConversionOffer(_offer=o) for o in await info.context.services.conversions.offers(self._member.id)]

    @strawberry.field(description="Staff: the tags the member holds (by hand, import or rule).")
    async def tags(self, info: Info) -> list[str]:
        from api.graphql.tags import member_tags
        return await member_tags(info, self._member.id)

    @strawberry.field(description="Gender, city, preferred store and the brand's own fields (updateProfile). Yours "
                                  "(and staff's) only.")
    async def profile(self, info: Info) -> Annotated["Profile", strawberry.lazy("api.graphql.tags")]:
        from api.graphql.tags import member_profile
        return await member_profile(info, self._member.id)

    @strawberry.field(description="Orders whose shipping your tier still pays this month (useFreeShipping); "
                                  "0 without the perk. Yours (and staff's) only.")
    async def free_shipping_left(self, info: Info) -> int:
        require_private(info, self._member.id, "perks")
        return await info.context.services.perks.free_shipping_left(self._member.id)

    @strawberry.field(description="Your coupon wallet (券包), newest first: every coupon you hold, from the mall, "
                                  "flash sales, group redemptions and lottery prizes. `status` filters as of now.")
    async def coupons(self, info: Info, first: int, after: str | None = None, status: CouponStatus | None = None
                      ) -> Connection[Annotated["CouponType", strawberry.lazy("api.graphql.coupons")]]:  # type: ignore[valid-type]
        from api.graphql.coupons import coupon_connection
        check_first(first)
        before = decode_cursor(after)
        wanted = None if status is None else DomainCouponStatus(status.value)
        found = await info.context.services.coupons.wallet(self._member.id, wanted, before, first + 1)
        return coupon_connection(found, first, before is not None)

    @strawberry.field(description="Points you gave and received, newest first. Yours (and staff's) only.")
    async def points_gifts(self, info: Info, first: int, after: str | None = None
                           ) -> Connection[Annotated["PointsGiftType", strawberry.lazy("api.graphql.gifts")]]:
        from api.graphql.gifts import gift_connection
        require_private(info, self._member.id, "gifts")
        check_first(first)
        before = decode_cursor(after)
        found = await info.context.services.gifts.of_member(self._member.id, before, first + 1)
        return gift_connection(found, self._member.id, first, before is not None)

    @strawberry.field(description="The code to show at a store's till (门店核销): digits, a new one every minute, "
                                  "each honoured until memberCodeValidUntil. Yours only: null for anyone else.")
    def member_code(self, info: Info) -> str | None:
        issued = self._member_code(info)
        return issued[0] if issued else None

    @strawberry.field(description="When memberCode stops being honoured (a page shows the next one before then).")
    def member_code_valid_until(self, info: Info) -> datetime | None:
        issued = self._member_code(info)
        return issued[1] if issued else None

    @strawberry.field(description="memberCode as a QR code: an SVG data URI for an <img src>. Yours only.")
    def member_code_qr(self, info: Info) -> str | None:
        issued = self._member_code(info)
        return qr_data_uri(issued[0]) if issued else None

    def _member_code(self, info: Info) -> tuple[str, datetime] | None:
        who = info.context.caller
        if not who.is_member or who.member_id != self._member.id:
            return None
        return info.context.member_codes.issue(self._member.id, info.context.services.clock.now())

    @strawberry.field(description="Your place on a period's leaderboard, even far outside the top (null before "
                                  "you earn anything in the period).")
    async def rank(self, info: Info, period: LeaderboardPeriod) -> LeaderboardRow | None:  # type: ignore[valid-type]
        period, starts_on, board = await board_of(info, period)
        standing = await info.context.services.leaderboards.standing(self._member.id, period, starts_on)
        return (await rows(info, [standing], board))[0] if standing else None

    @strawberry.field(description="Badges earned, oldest first.")
    async def badges(self, info: Info) -> list[Badge]:
        return [badge_type(b) for b in await info.context.loaders.badges.load(self._member.id)]

    @strawberry.field(description="Your lottery draws, newest first.")
    async def lottery_draws(self, info: Info, first: int, after: str | None = None
                            ) -> Connection[Annotated["DrawType", strawberry.lazy("api.graphql.lottery")]]:
        from api.graphql.lottery import DrawType
        check_first(first)
        before = decode_cursor(after)
        found = await info.context.services.lotteries.draws_of(self._member.id, before, first + 1)
        return connection([DrawType(_draw=d) for d in found], [d.id for d in found], first, before is not None)

    @strawberry.field(description="Your points-plus-cash orders, newest first.")
    async def checkout_orders(self, info: Info, first: int, after: str | None = None
                              ) -> Connection[Annotated["OrderType", strawberry.lazy("api.graphql.checkout")]]:
        from api.graphql.checkout import OrderType
        check_first(first)
        before = decode_cursor(after)
        found = await info.context.services.checkout.of_member(self._member.id, before, first + 1)
        return connection([OrderType(_order=o) for o in found], [o.id for o in found], first, before is not None)

    @strawberry.field(description="Staff: the member's segments as of the last refresh.")
    async def segments(self, info: Info) -> list[Annotated["Segment", strawberry.lazy("api.graphql.segments")]]:
        require_staff(info)
        return sorted(await info.context.loaders.segments.load(self._member.id), key=list(DomainSegment).index)

    @strawberry.field(description="Your exchanges with partner brands, newest first.")
    async def exchanges(self, info: Info, first: int, after: str | None = None
                        ) -> Connection[Annotated["ExchangeType", strawberry.lazy("api.graphql.partners")]]:
        from api.graphql.partners import ExchangeType
        check_first(first)
        before = decode_cursor(after)
        found = await info.context.services.partners.exchanges(member_id=self._member.id, before_id=before,
                                                               limit=first + 1)
        return connection([ExchangeType(_exchange=e) for e in found], [e.id for e in found], first, before is not None)

    @strawberry.field(description="Set once with setBirthday.")
    async def birthday(self, info: Info) -> date | None:
        return await info.context.services.birthdays.birthday_of(self._member.id)

    @strawberry.field
    async def unread_notifications(self, info: Info) -> int:
        return await info.context.services.notifications.unread(self._member.id)

    @strawberry.field(name="checkIn")
    async def check_in(self, info: Info) -> CheckInStatus:
        status = await info.context.loaders.check_in.load(self._member.id)
        return CheckInStatus(streak=status.streak, checked_in_today=status.checked_in_today,
                             total_days=status.total_days, days_this_month=status.days_this_month)


def member_type(member: members.Member | None) -> MemberType | None:
    return None if member is None else MemberType(_member=member)


class OnDemand:
    """A payload's member, read only if the response selects it (a rush's clients ask for the redemption
    and the userErrors alone). graphql-core awaits a field's awaitable value: the read starts then,
    right after the mutation's resolver, before the next root field runs."""

    __slots__ = ("read", "value", "read_once")

    def __init__(self, read: Callable[[], Awaitable[MemberType | None]]) -> None:
        self.read = read
        self.read_once = False

    def __await__(self):
        if not self.read_once:  # the field selected twice (aliases) reads once
            self.value = yield from self.read().__await__()
            self.read_once = True
        return self.value


def fresh_member(info: Info, member_id: int) -> OnDemand:
    """The member as committed when the payload is completed: payloads refresh a page's balance in the
    same round trip."""
    async def read() -> MemberType | None:
        member = await info.context.services.transactions.read(lambda uow: uow.members.get(member_id))
        info.context.loaders.members.prime(member_id, member, force=True)
        return member_type(member)
    return OnDemand(read)


def member_after(info: Info, outcome) -> MemberType | OnDemand | None:
    """The member a points mutation leaves: read again after a write; as the request found them when
    the answer was decided before any write (a refusal from the gate) and the request had read them."""
    context = info.context
    if outcome.unwritten and context.member is not None and not context.outlives_a_request:
        return member_type(context.member)
    return fresh_member(info, outcome.member_id)


async def visible_member(info: Info, external_id: str) -> members.Member | None:
    who = require_signed_in(info)
    if not who.is_staff and who.name != external_id:
        raise Forbidden("members can only see their own data")
    return await info.context.services.members.find(external_id)


async def member_key(member_id: str) -> str:
    """Staff and systems may name a member by global id or by the brand's own member id."""
    try:
        type_name, external_id = from_global_id(member_id)
    except BadUserInput:
        type_name, external_id = "Member", member_id
    if type_name != "Member":
        raise InvalidInput("not a member id", ("memberId",))
    return members.validate_external_id(external_id)


async def resolve_member_id(info: Info, member_id: str) -> int:
    """An existing member's internal id; unknown ones are a user error, not a crash."""
    member = await info.context.services.members.find(await member_key(member_id))
    if member is None:
        raise InvalidInput("no such member", ("memberId",))
    return member.id


async def member_now(context) -> MemberType | None:
    return member_type(await context.signed_in_member())


@strawberry.type
class MemberQueries:
    @strawberry.field(description="The signed-in member; null when anonymous or staff.")
    def me(self, info: Info) -> MemberType | None:  # plain: a member read already costs no coroutine
        context = info.context
        if context.member is not None and not context.outlives_a_request:
            return member_type(context.member)
        if not context.caller.is_member:
            return None
        return member_now(context)  # type: ignore[return-value]

    @strawberry.field(description="Any member (staff), or yourself (member).")
    async def member(self, info: Info, id: strawberry.ID) -> MemberType | None:
        _, external_id = from_global_id(id, "Member")
        return member_type(await visible_member(info, external_id))

    @strawberry.field(description="The tier ladder V1..V6.")
    async def tiers(self, info: Info) -> list[Tier]:
        table = await info.context.loaders.tiers.load("tiers")
        return [Tier.of(t) for t in table.tiers]

    @strawberry.field(description="The upkeep (保级) rule.")
    async def tier_upkeep(self, info: Info) -> TierUpkeep:
        return TierUpkeep.of((await info.context.loaders.tiers.load("tiers")).upkeep)


@strawberry.input
class UpdateTierInput:
    level: int
    name: str
    growth_threshold: int
    earn_multiplier: float
    perks: list[str] = strawberry.field(default_factory=list)
    benefits: list[PerkInput] | None = strawberry.field(
        default=None, description="Replaces the tier's delivered perks (at most 10); null keeps them.")
    keep_threshold: int | None = strawberry.field(
        default=None, description="Null: the tier's current keep threshold, if it is still at most the growth "
                                  "threshold; else half the growth threshold.")


@strawberry.input
class UpdateTierUpkeepInput:
    period_months: int = strawberry.field(description="0-60; 0: tiers never lapse.")
    refunds_lower_tier_at_once: bool = False


@strawberry.type
class UpdateTierUpkeepPayload:
    upkeep: TierUpkeep | None
    user_errors: list[UserError]


@strawberry.type
class UpdateTierPayload:
    tiers: list[Tier] | None
    user_errors: list[UserError]


@strawberry.type
class MemberMutations:
    @strawberry.mutation(description="Staff: change one tier's threshold, multiplier, name or perks.")
    async def update_tier(self, info: Info, input: UpdateTierInput) -> UpdateTierPayload:
        staff = require_staff(info)
        try:
            if not 1 <= input.level <= 6:
                raise InvalidInput("level must be 1-6", ("level",))
            services = info.context.services
            benefits = (await services.tiers.table()).get(input.level).benefits if input.benefits is None \
                else tuple(p.to_domain() for p in input.benefits[:11])
            await services.perks.check(benefits)
            tier = tiers.Tier(input.level, input.name.strip(), input.growth_threshold,
                              multiplier_permille(input.earn_multiplier, "earnMultiplier"),
                              tuple(p.strip() for p in input.perks[:21]), input.keep_threshold, benefits)
            table = await services.tiers.update(staff.actor, tier)
        except DomainError as error:
            return UpdateTierPayload(tiers=None, user_errors=user_errors(error))
        info.context.loaders.forget_tiers()
        return UpdateTierPayload(tiers=[Tier.of(t) for t in table.tiers], user_errors=[])

    @strawberry.mutation(description="Staff: change the upkeep (保级) rule. Running periods keep their dates; "
                                     "switched on, every tier above V1 starts its first period now.")
    async def update_tier_upkeep(self, info: Info, input: UpdateTierUpkeepInput) -> UpdateTierUpkeepPayload:
        staff = require_staff(info)
        try:
            upkeep = tiers.TierUpkeep(input.period_months, input.refunds_lower_tier_at_once)
            table = await info.context.services.tiers.update_upkeep(staff.actor, upkeep)
        except DomainError as error:
            return UpdateTierUpkeepPayload(upkeep=None, user_errors=user_errors(error))
        info.context.loaders.forget_tiers()
        return UpdateTierUpkeepPayload(upkeep=TierUpkeep.of(table.upkeep), user_errors=[])
