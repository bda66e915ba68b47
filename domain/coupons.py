"""The coupon wallet (券包): every coupon a member holds, wherever it came from, with its code, face
value, condition, validity window and status.

A coupon is issued with the redemption that gave it (the mall, a flash sale, a group redemption, a
lottery prize: see `issue_coupons`), one per unit, on the terms its item has then (later changes to
the item do not touch coupons already held). It is AVAILABLE from ``valid_from`` until
``valid_until`` (never, when the item's validity is 0 days), then EXPIRED; USED once redeemed
(staff marking its redemption USED, or a store at the till); CANCELLED with its redemption.

Status is what the clock says: a coupon past its window reads EXPIRED before the sweep stores it
so. The sweep (`CouponService.expire_due`) stores it, batch by batch, and the reminder run sends a
member one notification per coupon before it expires (the points reminder window, 1-180 days).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from enum import Enum
from typing import TYPE_CHECKING

from domain.errors import InvalidInput
from domain.orders import checked_store_id
from domain.notifications import NotificationDraft, last_local_day, notify, reminder_window
from domain.progress import Progress, unreported

if TYPE_CHECKING:
    from domain.clock import Clock
    from domain.mall import MallItem, Redemption
    from domain.ports import Transactions, UnitOfWork

COUPON_EXPIRING = "COUPON_EXPIRING"
BATCH = 1000
MAX_VALUE_FEN = 100_000_000
MAX_VALID_DAYS = 3650
MAX_STORES = 100


class CouponStatus(str, Enum):
    AVAILABLE = "AVAILABLE"
    USED = "USED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"


class CouponSource(str, Enum):
    MALL = "MALL"  # redeemed in the mall, a flash sale or a group redemption
    LOTTERY = "LOTTERY"  # a lottery prize
    PERK = "PERK"  # a tier's monthly coupon (domain/perks.py)
    CONVERSION = "CONVERSION"  # idle points turned into a benefit (domain/conversions.py)


@dataclass(frozen=True)
class CouponTerms:
    """What a coupon item's coupons are worth and how long they live."""

    value_fen: int = 0  # face value (0: a coupon for a thing, not an amount off)
    min_spend_fen: int = 0  # the order it needs (0: none)
    valid_days: int = 30  # from issue; 0: never expires
    store_ids: tuple[str, ...] = ()  # the stores whose tills take it (none: every store)

    def validate(self) -> "CouponTerms":
        if len(self.store_ids) > MAX_STORES:
            raise InvalidInput(f"a coupon names at most {MAX_STORES} stores", ("couponStoreIds",))
        for store_id in self.store_ids:
            checked_store_id(store_id, "couponStoreIds")
        if not 0 <= self.value_fen <= MAX_VALUE_FEN:
            raise InvalidInput(f"couponValueFen must be 0-{MAX_VALUE_FEN}", ("couponValueFen",))
        if not 0 <= self.min_spend_fen <= MAX_VALUE_FEN:
            raise InvalidInput(f"couponMinSpendFen must be 0-{MAX_VALUE_FEN}", ("couponMinSpendFen",))
        if not 0 <= self.valid_days <= MAX_VALID_DAYS:
            raise InvalidInput(f"couponValidDays must be 0 (never expires) to {MAX_VALID_DAYS}",
                               ("couponValidDays",))
        return self


@dataclass
class Coupon:
    member_id: int
    redemption_id: int
    item_id: int
    name: str
    code: str
    value_fen: int
    min_spend_fen: int
    valid_from: datetime
    valid_until: datetime | None
    source: CouponSource
    status: CouponStatus = CouponStatus.AVAILABLE
    used_at: datetime | None = None
    id: int | None = None
    store_ids: tuple[str, ...] = ()  # where it may be redeemed (none: every store)
    used_store_id: str | None = None  # the store whose till redeemed it

    def status_at(self, now: datetime) -> CouponStatus:
        if self.status is CouponStatus.AVAILABLE and self.valid_until is not None and now >= self.valid_until:
            return CouponStatus.EXPIRED
        return self.status


def issue_coupons(redemption: "Redemption", item: "MallItem", source: CouponSource, codes: list[str],
                  now: datetime) -> list[Coupon]:
    """One coupon per code (a unit each) on the item's terms now."""
    terms = item.coupon_terms
    until = now + timedelta(days=terms.valid_days) if terms.valid_days else None
    return [Coupon(redemption.member_id, redemption.id, item.id, item.name, code, terms.value_fen,
                   terms.min_spend_fen, now, until, source, store_ids=terms.store_ids) for code in codes]


def coupon_expiring(coupon: Coupon, zone: tzinfo) -> NotificationDraft:
    last_day = last_local_day(coupon.valid_until, zone)
    return NotificationDraft(coupon.member_id, COUPON_EXPIRING, "优惠券即将过期",
                             f"您的「{coupon.name}」将于 {last_day:%Y-%m-%d} 到期，记得使用",
                             f"coupon:{coupon.id}:expiring")


async def settle_coupons(uow: "UnitOfWork", redemption: "Redemption", now: datetime) -> None:
    """A redemption moved on: its available coupons follow it (USED, or CANCELLED with it)."""
    from domain.mall import RedemptionStatus
    if redemption.status is RedemptionStatus.USED:
        await uow.coupons.settle(redemption.id, CouponStatus.USED, now)
    elif redemption.status is RedemptionStatus.CANCELLED:
        await uow.coupons.settle(redemption.id, CouponStatus.CANCELLED, now)


class CouponService:
    def __init__(self, transactions: "Transactions", clock: "Clock") -> None:
        self.transactions = transactions
        self.clock = clock

    async def wallet(self, member_id: int, status: CouponStatus | None, before_id: int | None,
                     limit: int) -> list[Coupon]:
        """The member's coupons, newest first; ``status`` as the clock says it now."""
        now = self.clock.now()
        return await self.transactions.read(lambda uow: uow.coupons.page(member_id, status, now, before_id, limit))

    async def get(self, coupon_id: int) -> Coupon | None:
        return await self.transactions.read(lambda uow: uow.coupons.get(coupon_id))

    async def expire_due(self, progress: Progress = unreported) -> int:
        """Store EXPIRED on the coupons past their window, ``BATCH`` a transaction; how many."""
        now, expired = self.clock.now(), 0
        while done := await self.transactions.write(lambda uow: uow.coupons.expire_due(now, BATCH)):
            expired += done
            progress(expired, None)
        return expired

    async def remind_expiring(self, progress: Progress = unreported) -> int:
        """A notification for each available coupon expiring within the reminder window that has
        had none; ``BATCH`` coupons a transaction, safe to run again after a crash."""
        now = self.clock.now()
        until, zone = await self.transactions.read(lambda uow: reminder_window(uow, now))
        reminded = 0

        async def batch(uow: "UnitOfWork") -> int | None:
            due = await uow.coupons.expiring_unreminded(now, until, BATCH)
            if not due:
                return None
            await uow.coupons.mark_reminded([c.id for c in due], now)
            return await notify(uow, [coupon_expiring(c, zone) for c in due], now)

        while (sent := await self.transactions.write(batch)) is not None:
            reminded += sent
            progress(reminded, None)
        return reminded
