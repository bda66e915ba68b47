"""Idle points turned into a better benefit (积分增值): the offer, accepting it, the brand's rule."""
from __future__ import annotations

from typing import Annotated, TYPE_CHECKING

import strawberry
from strawberry.types import Info

from api.graphql.errors import UserError, require_member, require_staff, user_errors
from api.graphql.ledger import LedgerEntry, entry_type
from api.graphql.members import MemberType, fresh_member
from api.graphql.relay import int_key, to_global_id
from api.graphql.scalars import Long
from domain import conversions
from domain.errors import DomainError, InvalidInput

if TYPE_CHECKING:
    from api.graphql.mall import MallItemType

ConversionReason = strawberry.enum(conversions.ConversionReason, description=(
    "IDLE: nothing earned or spent for the rule's idleMonths; EXPIRING: at least the offer's points expire "
    "within its expiringDays."))


async def benefit_item(info: Info, item_id: int | None):
    from api.graphql.mall import MallItemType
    found = await info.context.services.mall.get(item_id) if item_id is not None else None
    return MallItemType(_item=found) if found else None


@strawberry.type(description="Points you have left idle, or that are about to expire, offered as something "
                             "worth more than they would take off a bill.")
class ConversionOffer:
    _offer: strawberry.Private[conversions.ConversionOffer]

    @strawberry.field
    def name(self) -> str:
        return self._offer.rule.name

    @strawberry.field
    def points(self) -> Long:
        return self._offer.rule.points

    @strawberry.field(description="What the benefit is worth, in fen.")
    def worth_fen(self) -> Long:
        return self._offer.rule.worth_fen

    @strawberry.field(description="What the same points would take off an order, in fen: less than worthFen.")
    def deduction_value_fen(self) -> Long:
        return self._offer.deduction_value_fen

    @strawberry.field
    def reason(self) -> ConversionReason:  # type: ignore[valid-type]
        return self._offer.reason

    @strawberry.field(description="The benefit, when it is a mall item (a coupon lands in your wallet).")
    async def item(self, info: Info) -> Annotated["MallItemType", strawberry.lazy("api.graphql.mall")] | None:
        return await benefit_item(info, self._offer.rule.item_id)

    @strawberry.field(description="The benefit, when it is days more before upkeep judges your tier.")
    def tier_days(self) -> int:
        return self._offer.rule.tier_days


@strawberry.type
class PointsConversion:
    points: Long
    reason: ConversionReason  # type: ignore[valid-type]
    automatic: bool
    tier_days: int
    redemption_id: strawberry.ID | None = strawberry.field(description="The redemption delivering an item benefit.")


@strawberry.input
class AcceptConversionInput:
    idempotency_key: str


@strawberry.type
class AcceptConversionPayload:
    member: MemberType | None
    conversion: PointsConversion | None
    entry: LedgerEntry | None = strawberry.field(description="The CONVERSION entry.")
    user_errors: list[UserError]


@strawberry.type(description="When idle points are offered a better benefit, and which.")
class ConversionRule:
    enabled: bool
    name: str
    points: int
    worth_fen: int
    item_id: strawberry.ID | None
    tier_days: int
    idle_months: int = strawberry.field(description="Nothing earned or spent for this long makes the offer; 0: off.")
    expiring_days: int = strawberry.field(description="The offer's points expiring this soon make it; 0: off.")
    auto_convert: bool = strawberry.field(description="The daily sweep converts for the member instead of "
                                                      "notifying them.")

    @classmethod
    def of(cls, rule: conversions.ConversionRule) -> "ConversionRule":
        return cls(enabled=rule.enabled, name=rule.name, points=rule.points, worth_fen=rule.worth_fen,
                   item_id=to_global_id("MallItem", rule.item_id) if rule.item_id else None,
                   tier_days=rule.tier_days, idle_months=rule.idle_months, expiring_days=rule.expiring_days,
                   auto_convert=rule.auto_convert)


@strawberry.input
class UpdateConversionRuleInput:
    enabled: bool
    name: str
    points: int
    worth_fen: int
    item_id: strawberry.ID | None = None
    tier_days: int = 0
    idle_months: int = 6
    expiring_days: int = 30
    auto_convert: bool = False

    def to_domain(self) -> conversions.ConversionRule:
        try:
            item_id = int_key(self.item_id, "MallItem") if self.item_id is not None else None
        except Exception:
            raise InvalidInput("itemId is not a mall item's id", ("itemId",)) from None
        return conversions.ConversionRule(self.enabled, self.name.strip(), self.points, self.worth_fen, item_id,
                                          self.tier_days, self.idle_months, self.expiring_days, self.auto_convert)


@strawberry.type
class UpdateConversionRulePayload:
    rule: ConversionRule | None
    user_errors: list[UserError]


def conversion_type(found: conversions.Conversion) -> PointsConversion:
    return PointsConversion(points=found.points, reason=found.reason, automatic=found.automatic,
                            tier_days=found.tier_days,
                            redemption_id=to_global_id("Redemption", found.redemption_id)
                            if found.redemption_id else None)


@strawberry.type
class ConversionQueries:
    @strawberry.field(description="Staff: the idle-points conversion rule.")
    async def conversion_rule(self, info: Info) -> ConversionRule:
        require_staff(info)
        return ConversionRule.of(await info.context.services.conversions.rule())


@strawberry.type
class ConversionMutations:
    @strawberry.mutation(description="Member: take the conversion offered to you (me { conversionOffers }): its "
                                     "points leave as a CONVERSION entry and the benefit is yours. Once a month.")
    async def accept_conversion(self, info: Info, input: AcceptConversionInput) -> AcceptConversionPayload:
        member = require_member(info)
        service = info.context.services.conversions
        try:
            outcome = await service.accept(member.actor, member.member_id, input.idempotency_key)
        except DomainError as error:
            return AcceptConversionPayload(member=None, conversion=None, entry=None, user_errors=user_errors(error))
        found = await service.get(outcome.subject_id) if outcome.subject_id else None
        return AcceptConversionPayload(member=fresh_member(info, member.member_id),
                                       conversion=conversion_type(found) if found else None,
                                       entry=entry_type(outcome.entry) if found else None,
                                       user_errors=user_errors(outcome.error))

    @strawberry.mutation(description="Staff: when idle points are offered a better benefit, and which. The benefit "
                                     "must be worth more than the points take off an order.")
    async def update_conversion_rule(self, info: Info, input: UpdateConversionRuleInput
                                     ) -> UpdateConversionRulePayload:
        staff = require_staff(info)
        try:
            rule = await info.context.services.conversions.update_rule(staff.actor, input.to_domain())
        except DomainError as error:
            return UpdateConversionRulePayload(rule=None, user_errors=user_errors(error))
        return UpdateConversionRulePayload(rule=ConversionRule.of(rule), user_errors=[])
