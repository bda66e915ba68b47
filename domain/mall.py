"""The points mall (积分商城): a catalogue of goods, coupons and privileges, redeemed for points.

A redemption takes the points and the stock in one transaction: the member's row is locked
first, then the item's row, always in that order, so two redemptions never deadlock and stock
can never go below zero. Items with a cash price are bought through checkout, not redeemed.

A coupon redemption carries a code: the next unused one from the item's pool when staff
uploaded codes, otherwise a generated one. Staff move a redemption from CREATED to SHIPPED
(goods) or USED; cancelling a CREATED or SHIPPED redemption refunds the points (a positive
``REVERSAL`` entry, as a new lot expiring like freshly earned points) and returns the stock.
"""
from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING

from domain.admission import MALL_ITEM, Admission, StockGate, scope_of
from domain.badges import BadgeCode, award
from domain.campaigns import check_member_day_campaign, member_day_refusal
from domain.tags import check_tags_exist, checked_tags, targeting_refusal
from domain.brand import brand_settings
from domain.configuration import Actor
from domain.coupons import CouponSource, CouponTerms, issue_coupons, settle_coupons
from domain.errors import ErrorCode, InvalidInput, NotFound, Refusal
from domain.idempotency import validate_key
from domain.ledger import LedgerReason, unaffordable
from domain.notifications import notify, redemption_shipped
from domain.realtime import Activity, ActivityKind
from domain.text import checked_text
from domain.tiers import early_access_of, tier_refusal

if TYPE_CHECKING:
    from domain.clock import Clock
    from domain.points import OperationContext, PointsOperations, PointsOutcome
    from domain.ports import Transactions, UnitOfWork

CODE_PATTERN = re.compile(r"^[A-Za-z0-9-]{4,40}\Z")
CATEGORY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,29}\Z")
URL_PATTERN = re.compile(r"^https://[^\s\x00-\x1f]{1,490}\Z")
MAX_QUANTITY = 10
MAX_PRICE = 10_000_000
MAX_STOCK = 10_000_000


class ItemKind(str, Enum):
    GOODS = "GOODS"  # shipped
    COUPON = "COUPON"  # a code to use in the shop
    PRIVILEGE = "PRIVILEGE"  # an event seat, a 1-on-1 service slot


class MallSort(str, Enum):
    FEATURED = "FEATURED"
    POINTS_ASC = "POINTS_ASC"
    POINTS_DESC = "POINTS_DESC"
    NEWEST = "NEWEST"


class RedemptionStatus(str, Enum):
    CREATED = "CREATED"
    SHIPPED = "SHIPPED"
    USED = "USED"
    CANCELLED = "CANCELLED"


FULFILMENT_STEPS = {RedemptionStatus.CREATED: {RedemptionStatus.SHIPPED, RedemptionStatus.USED},
                    RedemptionStatus.SHIPPED: {RedemptionStatus.USED}}
CANCELLABLE = {RedemptionStatus.CREATED, RedemptionStatus.SHIPPED}
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
# An item's changes that are its coupons' terms: the change's name, the term's.
COUPON_TERMS = {"coupon_value_fen": "value_fen", "coupon_min_spend_fen": "min_spend_fen",
                "coupon_valid_days": "valid_days", "coupon_store_ids": "store_ids"}


@dataclass
class MallItem:
    name: str
    kind: ItemKind
    points_price: int
    stock: int
    cash_price_fen: int = 0
    per_member_limit: int = 0  # 0: no limit
    min_tier_level: int = 1
    on_shelf: bool = True
    category: str = "general"
    description: str = ""
    image_url: str | None = None
    position: int = 0
    created_at: datetime | None = None
    id: int | None = None
    group_size: int = 0  # 拼团: members per group; 0: no group offer
    group_points_price: int = 0
    group_hours: int = 24  # how long a group has to fill
    coupon_terms: CouponTerms = field(default_factory=CouponTerms)  # a COUPON item's coupons
    member_day: str | None = None  # a scheduled campaign's code: redeemed on its days only (会员日专享)
    tags: tuple[str, ...] = ()  # members holding any of these tags may redeem it; empty: everyone

    def validate(self) -> "MallItem":
        self.name = checked_text(self.name, "name", max_length=60)
        self.description = checked_text(self.description, "description", max_length=1000, required=False,
                                        multiline=True)
        if not 1 <= self.points_price <= MAX_PRICE:
            raise InvalidInput(f"pointsPrice must be 1-{MAX_PRICE}", ("pointsPrice",))
        if not 0 <= self.cash_price_fen <= MAX_PRICE * 100:
            raise InvalidInput("cashPriceFen must be 0 or more", ("cashPriceFen",))
        if not 0 <= self.stock <= MAX_STOCK:
            raise InvalidInput(f"stock must be 0-{MAX_STOCK}", ("stock",))
        if not 0 <= self.per_member_limit <= 1000:
            raise InvalidInput("perMemberLimit must be 0 (none) to 1000", ("perMemberLimit",))
        if not 1 <= self.min_tier_level <= 6:
            raise InvalidInput("minTierLevel must be 1-6", ("minTierLevel",))
        if not CATEGORY_PATTERN.match(self.category):
            raise InvalidInput("category must be 1-30 lowercase letters, digits, _ or -", ("category",))
        if self.image_url is not None and not URL_PATTERN.match(self.image_url):
            raise InvalidInput("imageUrl must be an https URL", ("imageUrl",))
        if self.group_size:
            self._validate_group_offer()
        self.coupon_terms.validate()
        return self

    def _validate_group_offer(self) -> None:
        if not 2 <= self.group_size <= 10:
            raise InvalidInput("groupSize must be 0 (no group offer) or 2-10", ("groupSize",))
        if not 1 <= self.group_points_price <= self.points_price:
            raise InvalidInput("groupPointsPrice must be 1 to the item's pointsPrice", ("groupPointsPrice",))
        if not 1 <= self.group_hours <= 72:
            raise InvalidInput("groupHours must be 1-72", ("groupHours",))
        if self.cash_price_fen:
            raise InvalidInput("group offers are for points-only items", ("groupSize",))


@dataclass
class Redemption:
    member_id: int
    item_id: int
    item_name: str
    quantity: int
    points: int
    created_at: datetime
    status: RedemptionStatus = RedemptionStatus.CREATED
    id: int | None = None
    code: str | None = None
    note: str | None = None
    updated_at: datetime | None = None
    flash_sale_id: int | None = None


def generated_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))


async def record_redemption(uow: "UnitOfWork", redemption: Redemption, item: MallItem, now: datetime,
                            source: CouponSource = CouponSource.MALL) -> None:
    """The redemption, and for a coupon item its coupons in the member's wallet: a code a unit, the
    first the redemption's own (from the item's pool, or generated)."""
    if item.kind is ItemKind.COUPON and redemption.code is None:
        redemption.code = generated_code()
    await uow.mall.add_redemption(redemption)
    if item.kind is ItemKind.COUPON:
        codes = [redemption.code, *(generated_code() for _ in range(redemption.quantity - 1))]
        await uow.coupons.add(issue_coupons(redemption, item, source, codes, now))


class MallService:
    def __init__(self, operations: "PointsOperations", transactions: "Transactions", clock: "Clock",
                 admission: Admission | None = None) -> None:
        self.operations = operations
        self.transactions = transactions
        self.clock = clock
        # None: every redemption goes to the transaction (no gate for this database)
        self.gate = StockGate(admission, MALL_ITEM, self._read_item) if admission is not None else None

    async def create(self, staff: Actor, item: MallItem) -> MallItem:
        item.validate()
        item.created_at = self.clock.now()

        async def work(uow: "UnitOfWork") -> MallItem:
            if item.member_day:
                await check_member_day_campaign(uow, item.member_day)
            await check_tags_exist(uow, checked_tags(item.tags, "targetTags"), "targetTags")
            await uow.mall.add(item)
            await uow.audit.record(staff.label, "mall_item.create", str(item.id), item_record(item), item.created_at)
            return item

        return await self.transactions.write(work)

    async def update(self, staff: Actor, item_id: int, changes: dict) -> MallItem:
        async def work(uow: "UnitOfWork") -> MallItem:
            item = await uow.mall.lock_item(item_id)
            if item is None:
                raise NotFound("no such item", ("itemId",))
            for name, value in changes.items():
                if name in COUPON_TERMS:
                    item.coupon_terms = replace(item.coupon_terms, **{COUPON_TERMS[name]: value})
                else:
                    setattr(item, name, value)
            item.validate()
            if item.member_day and "member_day" in changes:
                await check_member_day_campaign(uow, item.member_day)
            await check_tags_exist(uow, checked_tags(item.tags, "targetTags"), "targetTags")
            await uow.mall.update(item)
            await uow.audit.record(staff.label, "mall_item.update", str(item_id), item_record(item), self.clock.now())
            uow.restocked.append(scope_of(MALL_ITEM, item_id))  # stock, shelf, price or tier gate changed
            return item

        return await self.transactions.write(work)

    async def redeem(self, member: Actor, member_id: int, item_id: int, quantity: int, key: str,
                     standing: StandingNow | None = None) -> "PointsOutcome":
        """``standing``: the member's points and tier as this request reads them, to refuse what they
        cannot have without a write."""
        if not 1 <= quantity <= MAX_QUANTITY:
            raise InvalidInput(f"quantity must be 1-{MAX_QUANTITY}", ("quantity",))
        validate_key(key)  # a malformed key is refused as such, whatever the item's state
        if self.gate is None:
            return await self._redeem(member, member_id, item_id, quantity, key)

        async def refusal_before_count(item: MallItem) -> Refusal | None:
            gated = item.min_tier_level > 1  # everyone is V1 or above: no need to read the member
            return refusal_for(item, (await standing_of(standing)).tier_level if gated else None) \
                or (await self.transactions.read(lambda uow: targeting_refusal(
                    uow, member_id, item.tags, item.name, ("itemId",))) if item.tags else None) \
                or (await self._member_day_refusal(item, standing) if item.member_day else None)

        async def refusal_in_stock(item: MallItem) -> Refusal | None:
            return unaffordable((await standing_of(standing)).available, item.points_price * quantity)

        return await self.gate.attempt(
            item_id, quantity, refusal_before_count, sold_out, refusal_in_stock,
            lambda refusal: self.operations.refused_without_a_write(member, member_id, key, refusal),
            lambda: self._redeem(member, member_id, item_id, quantity, key))

    async def _member_day_refusal(self, item: MallItem, standing: StandingNow | None) -> Refusal | None:
        """The member is read only outside the day (for their tier's early access), and not while a
        read holds a connection: a rush may hold every other one."""
        now = self.clock.now()
        refusal = await self.transactions.read(lambda uow: member_day_refusal(uow, item.member_day, item.name, now))
        if refusal is None:
            return None
        tier_level = (await standing_of(standing)).tier_level

        async def with_early_access(uow: "UnitOfWork") -> Refusal | None:
            early = await early_access_of(uow, tier_level)
            return await member_day_refusal(uow, item.member_day, item.name, now, early) if early else refusal

        return await self.transactions.read(with_early_access)

    async def _read_item(self, item_id: int) -> tuple[MallItem, int] | None:
        item = await self.transactions.read(lambda uow: uow.mall.get(item_id))
        return None if item is None else (item, item.stock)

    async def _redeem(self, member: Actor, member_id: int, item_id: int, quantity: int, key: str) -> "PointsOutcome":
        async def rule(ctx: "OperationContext") -> Redemption:
            item = await ctx.uow.mall.lock_item(item_id)  # after the member's lock: one order for everyone
            if item is None:
                raise NotFound("no such item", ("itemId",))
            await self.check_redeemable(ctx, item, quantity, points_needed=item.points_price * quantity)
            pooled_code = await self._pooled_code(ctx, item, quantity)
            points = item.points_price * quantity
            # Every refusal is above this line: below it, only writes.
            ctx.member.account.debit(points, LedgerReason.REDEMPTION, ctx.now, member.label,
                                     f"兑换 {item.name} x{quantity}", f"item:{item.id}")
            item.stock -= quantity
            await ctx.uow.mall.update(item)
            if pooled_code:
                await ctx.uow.mall.mark_code_taken(item.id, pooled_code)
            redemption = Redemption(ctx.member.id, item.id, item.name, quantity, points, ctx.now, code=pooled_code)
            await record_redemption(ctx.uow, redemption, item, ctx.now)
            ctx.uow.activity.append(Activity.of(ActivityKind.REDEMPTION, ctx.member.nickname, f"兑换了 {item.name}",
                                                ctx.now))
            await award(ctx.uow, ctx.member, BadgeCode.FIRST_REDEMPTION, ctx.now)
            return redemption

        return await self.operations.run(actor=member, key=key, operation="redeem", member_id=member_id,
                                         payload={"item": item_id, "quantity": quantity}, rule=rule)

    @staticmethod
    async def _pooled_code(ctx: "OperationContext", item: MallItem, quantity: int) -> str | None:
        """The next code of the item's pool, if it has one (the item row is locked: no two takers)."""
        if item.kind is not ItemKind.COUPON or not await ctx.uow.mall.has_code_pool(item.id):
            return None
        if quantity != 1:
            raise InvalidInput("coupons with codes are redeemed one at a time", ("quantity",))
        code = await ctx.uow.mall.next_free_code(item.id)
        if code is None:
            raise Refusal(ErrorCode.SOLD_OUT, f"{item.name} has no codes left", ("itemId",))
        return code

    async def add_codes(self, staff: Actor, item_id: int, codes: list[str]) -> int:
        if not 1 <= len(codes) <= 100 or any(not CODE_PATTERN.match(c) for c in codes):
            raise InvalidInput("1-100 codes of 4-40 letters, digits or -", ("codes",))

        async def work(uow: "UnitOfWork") -> int:
            item = await uow.mall.lock_item(item_id)
            if item is None or item.kind is not ItemKind.COUPON:
                raise NotFound("no such coupon item", ("itemId",))
            added = await uow.mall.add_codes(item_id, sorted(set(codes)))
            await uow.audit.record(staff.label, "mall_item.add_codes", str(item_id), {"added": added},
                                   self.clock.now())
            return added

        return await self.transactions.write(work)

    async def fulfil(self, staff: Actor, redemption_id: int, status: RedemptionStatus, note: str | None) -> Redemption:
        note = checked_text(note, "note", max_length=200, required=False) or None

        async def work(uow: "UnitOfWork") -> Redemption:
            redemption = await uow.mall.redemption(redemption_id)
            if redemption is None:
                raise NotFound("no such redemption", ("redemptionId",))
            await uow.members.lock(redemption.member_id)
            redemption = await uow.mall.redemption(redemption_id)  # re-read under the member's lock
            if status not in FULFILMENT_STEPS.get(redemption.status, set()):
                raise Refusal(ErrorCode.INVALID_TRANSITION,
                              f"a {redemption.status.value} redemption cannot become {status.value}", ("status",))
            redemption.status, redemption.note, redemption.updated_at = status, note, self.clock.now()
            await uow.mall.update_redemption(redemption)
            await settle_coupons(uow, redemption, self.clock.now())
            if status is RedemptionStatus.SHIPPED:
                await notify(uow, [redemption_shipped(redemption.member_id, redemption.id, redemption.item_name,
                                                      note)], self.clock.now())
            await uow.audit.record(staff.label, f"redemption.{status.value.lower()}", str(redemption_id),
                                   {"note": note}, self.clock.now())
            return redemption

        return await self.transactions.write(work)

    async def cancel(self, staff: Actor, redemption_id: int, reason: str, key: str) -> "PointsOutcome":
        reason = checked_text(reason, "reason", max_length=200)
        found = await self.redemption(redemption_id)
        if found is None:
            raise NotFound("no such redemption", ("redemptionId",))

        async def rule(ctx: "OperationContext") -> Redemption:
            redemption = await ctx.uow.mall.redemption(redemption_id)
            if redemption.status not in CANCELLABLE:
                raise Refusal(ErrorCode.INVALID_TRANSITION, f"a {redemption.status.value} redemption cannot be "
                                                            "cancelled", ("redemptionId",))
            if await ctx.uow.coupons.used_count(redemption_id):
                raise Refusal(ErrorCode.INVALID_TRANSITION, "a coupon of this redemption was used at a till: it "
                                                            "cannot be cancelled", ("redemptionId",))
            item = await ctx.uow.mall.lock_item(redemption.item_id)
            ctx.member.account.credit(redemption.points, LedgerReason.REVERSAL, ctx.now,
                                      ctx.brand.expiry_for(ctx.now), staff.label,
                                      f"取消兑换 {redemption.item_name}: {reason}", f"redemption:{redemption_id}")
            item.stock += redemption.quantity
            await ctx.uow.mall.update(item)
            ctx.uow.restocked.append(scope_of(MALL_ITEM, item.id))
            redemption.status, redemption.note, redemption.updated_at = RedemptionStatus.CANCELLED, reason, ctx.now
            await ctx.uow.mall.update_redemption(redemption)
            await settle_coupons(ctx.uow, redemption, ctx.now)
            await ctx.uow.audit.record(staff.label, "redemption.cancel", str(redemption_id),
                                       {"reason": reason, "points": redemption.points}, ctx.now)
            return redemption

        return await self.operations.run(actor=staff, key=key, operation="cancelRedemption",
                                         member_id=found.member_id, payload={"redemption": redemption_id,
                                                                             "reason": reason}, rule=rule)

    @staticmethod
    async def check_redeemable(ctx: "OperationContext", item: MallItem, quantity: int, *,
                               cash_allowed: bool = False, points_needed: int = 0) -> None:
        """Shelf, tier, stock, points and per-member limit, shared by redeem, checkout and 拼团 (the
        gate's order: what the facts refuse, the stock, the points, then the limit only the database knows)."""
        refusal = refusal_for(item, ctx.member.tier_level, cash_allowed=cash_allowed) \
            or await targeting_refusal(ctx.uow, ctx.member.id, item.tags, item.name, ("itemId",)) \
            or (await member_day_refusal(ctx.uow, item.member_day, item.name, ctx.now,
                                         await early_access_of(ctx.uow, ctx.member.tier_level))
                if item.member_day else None) \
            or (sold_out(item) if item.stock < quantity else None) \
            or unaffordable(ctx.member.account.available, points_needed) \
            or await limit_refusal(ctx, item, quantity)
        if refusal is not None:
            raise refusal

    async def catalogue(self, *, category: str | None, sort: MallSort, include_off_shelf: bool, offset: int,
                        limit: int) -> list[MallItem]:
        return await self.transactions.read(
            lambda uow: uow.mall.page(category, sort, include_off_shelf, offset, limit))

    async def record_view(self, member_id: int, item_id: int) -> bool:
        """A member looked at an item: counted once per member, item and brand day (for item heat and
        the view-to-redemption conversion). False when it was counted already today."""
        now = self.clock.now()

        async def work(uow: "UnitOfWork") -> bool:
            if await uow.mall.get(item_id) is None:
                raise NotFound("no such item", ("itemId",))
            day = (await brand_settings(uow)).local_date(now)
            return await uow.mall.add_view(item_id, member_id, day, now)

        return await self.transactions.write(work)

    async def redemption(self, redemption_id: int) -> Redemption | None:
        return await self.transactions.read(lambda uow: uow.mall.redemption(redemption_id))

    async def get(self, item_id: int) -> MallItem | None:
        return await self.transactions.read(lambda uow: uow.mall.get(item_id))

    async def redemptions(self, member_id: int, before_id: int | None, limit: int) -> list[Redemption]:
        return await self.transactions.read(lambda uow: uow.mall.redemptions(member_id, before_id, limit))


@dataclass(frozen=True)
class Standing:
    """What a member has, as far as a refusal needs it: None where it is not known."""
    available: int | None
    tier_level: int | None


UNKNOWN_STANDING = Standing(None, None)
# The member's standing, read when a refusal first needs it: an attempt refused for the thing's own
# state (sold out, closed) never reads the member.
StandingNow = Callable[[], Awaitable[Standing]]


async def standing_of(now: StandingNow | None) -> Standing:
    return UNKNOWN_STANDING if now is None else await now()


def refusal_for(item: MallItem, tier_level: int | None, *, cash_allowed: bool = False) -> Refusal | None:
    """Shelf, cash and (when known) tier: what the item's facts alone refuse."""
    if not item.on_shelf:
        return Refusal(ErrorCode.ITEM_OFF_SHELF, f"{item.name} is not on the shelf", ("itemId",))
    if item.cash_price_fen and not cash_allowed:
        return Refusal(ErrorCode.NOT_POINTS_ONLY, f"{item.name} costs cash too: use checkout", ("itemId",))
    return tier_refusal(tier_level, item.min_tier_level, item.name, ("itemId",))


async def limit_refusal(ctx: "OperationContext", item: MallItem, quantity: int) -> Refusal | None:
    """The item's per-member limit, counted over every door it leaves by (the mall, checkout, 拼团,
    flash sales, lottery prizes), so no door gives more of it than the mall would."""
    if not item.per_member_limit:
        return None
    taken = await ctx.uow.mall.redeemed_quantity(ctx.member.id, item.id)
    if taken + quantity <= item.per_member_limit:
        return None
    return Refusal(ErrorCode.LIMIT_REACHED, f"at most {item.per_member_limit} of {item.name} per member "
                                            f"({taken} already)", ("quantity",))


async def item_rules_refusal(ctx: "OperationContext", item: MallItem, quantity: int) -> Refusal | None:
    """What the item itself asks of whoever takes it by another door than the mall's own (a flash
    sale or a lottery prize, with their own price and stock): its tier gate and per-member limit."""
    return tier_refusal(ctx.member.tier_level, item.min_tier_level, item.name, ("itemId",)) \
        or await limit_refusal(ctx, item, quantity)


def sold_out(item: MallItem) -> Refusal:
    return Refusal(ErrorCode.SOLD_OUT, f"{item.name} has {item.stock} left", ("quantity",))


def item_record(item: MallItem) -> dict:
    return {"name": item.name, "kind": item.kind.value, "pointsPrice": item.points_price, "stock": item.stock,
            "cashPriceFen": item.cash_price_fen, "perMemberLimit": item.per_member_limit,
            "minTierLevel": item.min_tier_level, "onShelf": item.on_shelf, "category": item.category,
            "groupSize": item.group_size, "groupPointsPrice": item.group_points_price, "groupHours": item.group_hours,
            "couponValueFen": item.coupon_terms.value_fen, "couponMinSpendFen": item.coupon_terms.min_spend_fen,
            "couponValidDays": item.coupon_terms.valid_days, "couponStoreIds": list(item.coupon_terms.store_ids),
            "memberDay": item.member_day, "tags": list(item.tags)}
