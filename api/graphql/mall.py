"""The points mall: the public catalogue, staff catalogue management, and redeeming items for points."""
from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from api.graphql.errors import BadUserInput, UserError, may_see_private, require_member, require_staff, user_errors
from api.graphql.ledger import LedgerEntry, entry_type
from api.graphql.members import MemberType, fresh_member, member_after
from api.graphql.relay import (Connection, Node, check_first, connection, decode_cursor, from_global_id, int_key,
                               to_global_id)
from domain import flash_sales, mall
from domain.coupons import CouponTerms
from domain.errors import DomainError, InvalidInput
from domain.tags import checked_tags

ItemKind = strawberry.enum(mall.ItemKind)
MallSort = strawberry.enum(mall.MallSort, description="FEATURED follows the staff's positions.")
RedemptionStatus = strawberry.enum(mall.RedemptionStatus)


@strawberry.type(name="MallItem")
class MallItemType(Node):
    _item: strawberry.Private[mall.MallItem]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("MallItem", self._item.id)

    @strawberry.field
    def name(self) -> str:
        return self._item.name

    @strawberry.field
    def kind(self) -> ItemKind:  # type: ignore[valid-type]
        return self._item.kind

    @strawberry.field
    def points_price(self) -> int:
        return self._item.points_price

    @strawberry.field(description="0 for points-only items; otherwise bought through checkout.")
    def cash_price_fen(self) -> int:
        return self._item.cash_price_fen

    @strawberry.field
    def stock(self) -> int:
        return self._item.stock

    @strawberry.field(description="0: no limit.")
    def per_member_limit(self) -> int:
        return self._item.per_member_limit

    @strawberry.field
    def min_tier_level(self) -> int:
        return self._item.min_tier_level

    @strawberry.field
    def on_shelf(self) -> bool:
        return self._item.on_shelf

    @strawberry.field
    def category(self) -> str:
        return self._item.category

    @strawberry.field
    def description(self) -> str:
        return self._item.description

    @strawberry.field
    def image_url(self) -> str | None:
        return self._item.image_url

    @strawberry.field(description="拼团: members per group (0: no group offer); start one with startGroupRedemption.")
    def group_size(self) -> int:
        return self._item.group_size

    @strawberry.field(description="What each member of a filled group pays.")
    def group_points_price(self) -> int:
        return self._item.group_points_price

    @strawberry.field(description="How long a group has to fill before every hold is released.")
    def group_hours(self) -> int:
        return self._item.group_hours

    @strawberry.field(description="A coupon item: each coupon's face value in fen (0: a coupon for a thing, not "
                                  "an amount off).")
    def coupon_value_fen(self) -> int:
        return self._item.coupon_terms.value_fen

    @strawberry.field(description="A coupon item: the order each coupon needs, in fen (0: none).")
    def coupon_min_spend_fen(self) -> int:
        return self._item.coupon_terms.min_spend_fen

    @strawberry.field(description="A coupon item: how many days each coupon is valid from its issue (0: never "
                                  "expires).")
    def coupon_valid_days(self) -> int:
        return self._item.coupon_terms.valid_days

    @strawberry.field(description="A coupon item: the stores whose tills take its coupons (empty: every store).")
    def coupon_store_ids(self) -> list[str]:
        return list(self._item.coupon_terms.store_ids)

    @strawberry.field(description="会员日专享: the code of the member-day campaign on whose days alone it can be "
                                  "redeemed (see memberDays); null: any day.")
    def member_day(self) -> str | None:
        return self._item.member_day

    @strawberry.field(description="Staff: the tags whose members alone may redeem it (empty: everyone). Null for "
                                  "others: a member holding none is told NOT_TARGETED.")
    def target_tags(self, info: Info) -> list[str] | None:
        from api.graphql.tags import target_tags
        return target_tags(info, self._item.tags)


@strawberry.type(name="Redemption")
class RedemptionType(Node):
    _redemption: strawberry.Private[mall.Redemption]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return to_global_id("Redemption", self._redemption.id)

    @strawberry.field
    async def item(self, info: Info) -> MallItemType | None:
        item = await info.context.loaders.mall_items.load(self._redemption.item_id)
        return MallItemType(_item=item) if item else None

    @strawberry.field
    def item_name(self) -> str:
        return self._redemption.item_name

    @strawberry.field
    def quantity(self) -> int:
        return self._redemption.quantity

    @strawberry.field
    def points(self) -> int:
        return self._redemption.points

    @strawberry.field
    def status(self) -> RedemptionStatus:  # type: ignore[valid-type]
        return self._redemption.status

    @strawberry.field
    def created_at(self) -> datetime:
        return self._redemption.created_at

    @strawberry.field(description="The coupon code, for coupon items. The member and staff only: null for anyone "
                                  "else who reaches the redemption (a public lottery verification, say).")
    def code(self, info: Info) -> str | None:
        return self._redemption.code if may_see_private(info, self._redemption.member_id) else None

    @strawberry.field(description="Staff's note: a tracking number, a cancellation reason. The member and staff "
                                  "only.")
    def note(self, info: Info) -> str | None:
        return self._redemption.note if may_see_private(info, self._redemption.member_id) else None

    @strawberry.field
    def updated_at(self) -> datetime | None:
        return self._redemption.updated_at


@strawberry.type(name="FlashSale", description="An item at a points price inside a time window (秒杀).")
class FlashSaleType(Node):
    _sale: strawberry.Private[flash_sales.FlashSale]

    @strawberry.field(description="Pass it as `itemId` to `redeem` while the sale runs.")
    def id(self) -> strawberry.ID:
        return to_global_id("FlashSale", self._sale.id)

    @strawberry.field
    def title(self) -> str:
        return self._sale.title

    @strawberry.field
    async def item(self, info: Info) -> MallItemType | None:
        item = await info.context.loaders.mall_items.load(self._sale.item_id)
        return MallItemType(_item=item) if item else None

    @strawberry.field
    def points_price(self) -> int:
        return self._sale.points_price

    @strawberry.field(description="What is left of the sale's own stock.")
    def stock(self) -> int:
        return self._sale.stock

    @strawberry.field(description="0: no limit.")
    def per_member_limit(self) -> int:
        return self._sale.per_member_limit

    @strawberry.field
    def starts_at(self) -> datetime:
        return self._sale.starts_at

    @strawberry.field
    def ends_at(self) -> datetime:
        return self._sale.ends_at

    @strawberry.field
    def running(self, info: Info) -> bool:
        return self._sale.running(info.context.services.clock.now())


@strawberry.input
class CreateFlashSaleInput:
    item_id: strawberry.ID
    title: str
    points_price: int
    stock: int
    per_member_limit: int = 1
    starts_at: datetime
    ends_at: datetime


@strawberry.input(description="The fields to change; set endsAt to now to end a sale early.")
class UpdateFlashSaleInput:
    flash_sale_id: strawberry.ID
    title: str | None = None
    points_price: int | None = None
    stock: int | None = strawberry.field(default=None, description="What is left to sell.")
    per_member_limit: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@strawberry.type
class FlashSalePayload:
    flash_sale: FlashSaleType | None
    user_errors: list[UserError]


@strawberry.input
class CreateMallItemInput:
    name: str
    points_price: int
    stock: int
    cash_price_fen: int = 0
    per_member_limit: int = 0
    kind: ItemKind = mall.ItemKind.GOODS  # type: ignore[valid-type]
    min_tier_level: int = 1
    on_shelf: bool = True
    category: str = "general"
    description: str = ""
    image_url: str | None = None
    position: int = 0
    group_size: int = 0
    group_points_price: int = 0
    group_hours: int = 24
    coupon_value_fen: int = 0
    coupon_min_spend_fen: int = 0
    coupon_valid_days: int = 30
    coupon_store_ids: list[str] = strawberry.field(default_factory=list, description=(
        "The stores whose tills take its coupons (at most 100; empty: every store)."))
    member_day: str | None = strawberry.field(default=None, description=(
        "A member-day campaign's code: the item is redeemed on its days only."))
    target_tags: list[str] = strawberry.field(default_factory=list, description=(
        "Only members holding any of these tags may redeem it."))


@strawberry.input
class UpdateMallItemInput:
    item_id: strawberry.ID
    name: str | None = None
    points_price: int | None = None
    cash_price_fen: int | None = None
    stock: int | None = None
    per_member_limit: int | None = None
    min_tier_level: int | None = None
    on_shelf: bool | None = None
    category: str | None = None
    description: str | None = None
    position: int | None = None
    group_size: int | None = None
    group_points_price: int | None = None
    group_hours: int | None = None
    coupon_value_fen: int | None = None
    coupon_min_spend_fen: int | None = None
    coupon_valid_days: int | None = None
    coupon_store_ids: list[str] | None = strawberry.field(default=None, description=(
        "Replaces the list (empty: every store); coupons already issued keep the stores they had."))
    member_day: str | None = strawberry.field(default=None, description=(
        "A member-day campaign's code; an empty string makes the item redeemable any day again."))
    target_tags: list[str] | None = strawberry.field(default=None, description="Replaces the list (empty: everyone).")


@strawberry.type
class MallItemPayload:
    item: MallItemType | None
    user_errors: list[UserError]


@strawberry.input
class RedeemInput:
    item_id: strawberry.ID = strawberry.field(description="A MallItem id, or a FlashSale id while the sale runs.")
    quantity: int = 1
    idempotency_key: str


@strawberry.type
class RedeemPayload:
    member: MemberType | None
    entry: LedgerEntry | None
    redemption: RedemptionType | None
    user_errors: list[UserError]


@strawberry.input
class ViewMallItemInput:
    item_id: strawberry.ID


@strawberry.type
class ViewMallItemPayload:
    counted: bool = strawberry.field(description="False when this member's view of it was counted today already.")
    user_errors: list[UserError]


@strawberry.input
class AddCouponCodesInput:
    item_id: strawberry.ID
    codes: list[str]


@strawberry.type
class AddCouponCodesPayload:
    added: int
    user_errors: list[UserError]


@strawberry.input
class FulfilRedemptionInput:
    redemption_id: strawberry.ID
    status: RedemptionStatus  # type: ignore[valid-type]
    note: str | None = None


@strawberry.type
class RedemptionPayload:
    redemption: RedemptionType | None
    user_errors: list[UserError]


@strawberry.input
class CancelRedemptionInput:
    redemption_id: strawberry.ID
    reason: str
    idempotency_key: str


def kind_of(global_id: str) -> str | None:
    try:
        return from_global_id(global_id)[0]
    except BadUserInput:
        return None


def sale_key(global_id: str) -> int:
    try:
        return int_key(global_id, "FlashSale")
    except BadUserInput as error:
        raise InvalidInput(error.message, ("itemId",)) from None


def redemption_key(global_id: str) -> int:
    try:
        return int_key(global_id, "Redemption")
    except BadUserInput as error:
        raise InvalidInput(error.message, ("redemptionId",)) from None


def standing_now(info: Info) -> mall.StandingNow | None:
    """Reads the member's points and tier for this request when a refusal first needs them; None on a
    WebSocket, whose operations leave such refusals to the transaction."""
    context = info.context
    if not context.caller.is_member or context.outlives_a_request:
        return None

    async def standing() -> mall.Standing:
        member = await context.signed_in_member()
        return mall.UNKNOWN_STANDING if member is None else mall.Standing(member.account.available,
                                                                          member.tier_level)
    return standing


def item_key(global_id: str) -> int:
    try:
        return int_key(global_id, "MallItem")
    except BadUserInput as error:
        raise InvalidInput(error.message, ("itemId",)) from None


def redemption_connection(found: list[mall.Redemption], first: int, has_previous: bool) -> Connection[RedemptionType]:
    return connection([RedemptionType(_redemption=r) for r in found], [r.id for r in found], first, has_previous)


@strawberry.type
class FlashSaleQueries:
    @strawberry.field(description="Flash sales running now or starting within a week, soonest first.")
    async def flash_sales(self, info: Info) -> list[FlashSaleType]:
        return [FlashSaleType(_sale=s) for s in await info.context.services.flash_sales.current()]


@strawberry.type
class MallQueries:
    @strawberry.field(description="The catalogue, public. Staff may include items off the shelf.")
    async def mall_items(self, info: Info, first: int, after: str | None = None, category: str | None = None,
                         sort: MallSort = mall.MallSort.FEATURED,  # type: ignore[valid-type]
                         include_off_shelf: bool = False) -> Connection[MallItemType]:
        check_first(first)
        offset = decode_cursor(after) or 0
        if include_off_shelf:
            require_staff(info)
        found = await info.context.services.mall.catalogue(
            category=category, sort=mall.MallSort(sort.value), include_off_shelf=include_off_shelf, offset=offset,
            limit=first + 1)
        return connection([MallItemType(_item=i) for i in found], list(range(offset + 1, offset + len(found) + 1)),
                          first, offset > 0)


@strawberry.type
class MallMutations:
    @strawberry.mutation(description="Staff: add an item to the mall.")
    async def create_mall_item(self, info: Info, input: CreateMallItemInput) -> MallItemPayload:
        staff = require_staff(info)
        try:
            item = mall.MallItem(input.name, mall.ItemKind(input.kind.value), input.points_price, input.stock,
                                 input.cash_price_fen, input.per_member_limit, input.min_tier_level, input.on_shelf,
                                 input.category, input.description, input.image_url, input.position,
                                 group_size=input.group_size, group_points_price=input.group_points_price,
                                 group_hours=input.group_hours,
                                 coupon_terms=CouponTerms(input.coupon_value_fen, input.coupon_min_spend_fen,
                                                          input.coupon_valid_days, tuple(input.coupon_store_ids)),
                                 member_day=input.member_day or None,
                                 tags=checked_tags(tuple(input.target_tags[:11]), "targetTags"))
            created = await info.context.services.mall.create(staff.actor, item)
        except DomainError as error:
            return MallItemPayload(item=None, user_errors=user_errors(error))
        return MallItemPayload(item=MallItemType(_item=created), user_errors=[])

    @strawberry.mutation(description="Staff: change an item (price, stock, shelf ...); unset fields stay.")
    async def update_mall_item(self, info: Info, input: UpdateMallItemInput) -> MallItemPayload:
        staff = require_staff(info)
        changes = {name: getattr(input, name) for name in (
            "name", "points_price", "cash_price_fen", "stock", "per_member_limit", "min_tier_level", "on_shelf",
            "category", "description", "position", "group_size", "group_points_price", "group_hours",
            "coupon_value_fen", "coupon_min_spend_fen", "coupon_valid_days")
            if getattr(input, name) is not None}
        if input.coupon_store_ids is not None:
            changes["coupon_store_ids"] = tuple(input.coupon_store_ids)
        if input.member_day is not None:
            changes["member_day"] = input.member_day or None
        if input.target_tags is not None:
            changes["tags"] = tuple(input.target_tags[:11])
        try:
            updated = await info.context.services.mall.update(staff.actor, item_key(input.item_id), changes)
        except DomainError as error:
            return MallItemPayload(item=None, user_errors=user_errors(error))
        return MallItemPayload(item=MallItemType(_item=updated), user_errors=[])

    @strawberry.mutation(description="Staff: put an item on a flash sale with its own price, stock and limit.")
    async def create_flash_sale(self, info: Info, input: CreateFlashSaleInput) -> FlashSalePayload:
        staff = require_staff(info)
        try:
            if any(not 2000 <= t.year <= 2200 for t in (input.starts_at, input.ends_at)):
                raise InvalidInput("a sale falls between the years 2000 and 2200", ("startsAt",))
            sale = flash_sales.FlashSale(item_key(input.item_id), input.title, input.points_price, input.stock,
                                         input.per_member_limit, input.starts_at, input.ends_at)
            created = await info.context.services.flash_sales.create(staff.actor, sale)
        except DomainError as error:
            return FlashSalePayload(flash_sale=None, user_errors=user_errors(error))
        return FlashSalePayload(flash_sale=FlashSaleType(_sale=created), user_errors=[])

    @strawberry.mutation(description="Member: you opened an item's page (counted once a day, for analytics).")
    async def view_mall_item(self, info: Info, input: ViewMallItemInput) -> ViewMallItemPayload:
        member = require_member(info)
        try:
            counted = await info.context.services.mall.record_view(member.member_id, item_key(input.item_id))
        except DomainError as error:
            return ViewMallItemPayload(counted=False, user_errors=user_errors(error))
        return ViewMallItemPayload(counted=counted, user_errors=[])

    @strawberry.mutation(description="Staff: restock, reprice, move or end a flash sale.")
    async def update_flash_sale(self, info: Info, input: UpdateFlashSaleInput) -> FlashSalePayload:
        staff = require_staff(info)
        try:
            changes = {name: value for name, value in vars(input).items()
                       if name != "flash_sale_id" and value is not None}
            if any(not 2000 <= t.year <= 2200 for t in (changes.get("starts_at"), changes.get("ends_at"))
                   if t is not None):
                raise InvalidInput("a sale falls between the years 2000 and 2200", ("startsAt",))
            updated = await info.context.services.flash_sales.update(staff.actor, sale_key(input.flash_sale_id),
                                                                     changes)
        except DomainError as error:
            return FlashSalePayload(flash_sale=None, user_errors=user_errors(error))
        return FlashSalePayload(flash_sale=FlashSaleType(_sale=updated), user_errors=[])

    @strawberry.mutation(description="Staff: upload coupon codes for a coupon item (duplicates are skipped).")
    async def add_coupon_codes(self, info: Info, input: AddCouponCodesInput) -> AddCouponCodesPayload:
        staff = require_staff(info)
        try:
            added = await info.context.services.mall.add_codes(staff.actor, item_key(input.item_id),
                                                               input.codes[:101])
        except DomainError as error:
            return AddCouponCodesPayload(added=0, user_errors=user_errors(error))
        return AddCouponCodesPayload(added=added, user_errors=[])

    @strawberry.mutation(description="Staff: mark a redemption SHIPPED (goods) or USED.")
    async def fulfil_redemption(self, info: Info, input: FulfilRedemptionInput) -> RedemptionPayload:
        staff = require_staff(info)
        try:
            redemption = await info.context.services.mall.fulfil(
                staff.actor, redemption_key(input.redemption_id), mall.RedemptionStatus(input.status.value),
                input.note)
        except DomainError as error:
            return RedemptionPayload(redemption=None, user_errors=user_errors(error))
        return RedemptionPayload(redemption=RedemptionType(_redemption=redemption), user_errors=[])

    @strawberry.mutation(description="Staff: cancel a redemption: the points come back and so does the stock.")
    async def cancel_redemption(self, info: Info, input: CancelRedemptionInput) -> RedeemPayload:
        staff = require_staff(info)
        service = info.context.services.mall
        try:
            redemption_id = redemption_key(input.redemption_id)
            outcome = await service.cancel(staff.actor, redemption_id, input.reason, input.idempotency_key)
        except DomainError as error:
            return RedeemPayload(member=None, entry=None, redemption=None, user_errors=user_errors(error))
        redemption = await service.redemption(redemption_id)
        return RedeemPayload(member=fresh_member(info, outcome.member_id), entry=entry_type(outcome.entry),
                             redemption=RedemptionType(_redemption=redemption) if redemption else None,
                             user_errors=user_errors(outcome.error))

    @strawberry.mutation(description="Member: redeem a points-only item; points and stock go in one step.")
    async def redeem(self, info: Info, input: RedeemInput) -> RedeemPayload:
        member = require_member(info)
        service = info.context.services.mall
        try:
            if kind_of(input.item_id) == "FlashSale":
                outcome = await info.context.services.flash_sales.redeem(
                    member.actor, member.member_id, sale_key(input.item_id), input.quantity, input.idempotency_key,
                    standing_now(info))
            else:
                outcome = await service.redeem(member.actor, member.member_id, item_key(input.item_id),
                                               input.quantity, input.idempotency_key, standing_now(info))
        except DomainError as error:
            return RedeemPayload(member=None, entry=None, redemption=None, user_errors=user_errors(error))
        redemption = await service.redemption(outcome.subject_id) if outcome.subject_id else None
        return RedeemPayload(member=member_after(info, outcome), entry=entry_type(outcome.entry),
                             redemption=RedemptionType(_redemption=redemption) if redemption else None,
                             user_errors=user_errors(outcome.error))
