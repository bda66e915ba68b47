"""The till (门店核销): a store identifies a member by the code their page shows, records an offline
order that earns points, takes points off a bill, and redeems a coupon by its code exactly once.

A store acts with a `store` token whose subject is its store id (the brand's own code, as orders
already carry it), and only for that store.

Member codes: the member's page shows a code that changes every minute (as a QR). It is digits only,
so a cashier can key it in when a scanner fails: ``8``, the member's id, the minute (mod 100) and an
HMAC of both under a server key, cut to ``MAC_DIGITS`` digits. A code is honoured in its minute and
the next (a code shown at 12:00:59 still works at 12:01:30), so a photo of it is worth two minutes
at most. Showing the code is the member's consent: every till operation on a member needs a fresh
one, never a member id.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from domain.configuration import Actor
from domain.coupons import Coupon, CouponStatus
from domain.deductions import DeductionPurpose
from domain.errors import DomainError, ErrorCode, NotFound, Refusal
from domain.mall import RedemptionStatus
from domain.orders import OrderChannel, checked_store_id

if TYPE_CHECKING:
    from domain.clock import Clock
    from domain.deductions import DeductionService
    from domain.members import Member
    from domain.orders import OrderService
    from domain.points import PointsOutcome
    from domain.ports import Transactions, UnitOfWork

CODE_SECONDS = 60
MAC_DIGITS = 8
CODE_PREFIX = "8"
MEMBER_CODE_PATTERN = re.compile(r"^8[1-9][0-9]{0,18}[0-9]{2}[0-9]{%d}\Z" % MAC_DIGITS)
MAX_COUPON_CODE = 40
SHOWN_COUPONS = 20


class MemberCodes:
    """Signs and reads member codes under a key derived from the server's secret (every process of a
    brand derives the same one, so any of them reads a code another issued)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("a member code key needs at least 16 bytes")
        self._key = key

    @classmethod
    def from_secret(cls, secret: str) -> "MemberCodes":
        return cls(hmac.new(secret.encode(), b"jifen:member-codes:v1", hashlib.sha256).digest())

    def _mac(self, member_id: int, minute: int) -> str:
        digest = hmac.new(self._key, f"{member_id}:{minute}".encode(), hashlib.sha256).digest()
        return f"{int.from_bytes(digest[:8], 'big') % 10 ** MAC_DIGITS:0{MAC_DIGITS}d}"

    def issue(self, member_id: int, now: datetime) -> tuple[str, datetime]:
        """(the code for this minute, the moment it stops being honoured)."""
        minute = _minute(now)
        code = f"{CODE_PREFIX}{member_id}{minute % 100:02d}{self._mac(member_id, minute)}"
        return code, datetime.fromtimestamp((minute + 2) * CODE_SECONDS, timezone.utc)

    def member_of(self, code: str, now: datetime) -> int:
        """The member a code names, if it is this minute's or the last one's."""
        if not isinstance(code, str) or not MEMBER_CODE_PATTERN.match(code):
            raise Refusal(ErrorCode.MEMBER_CODE_INVALID, "this is not a member code", ("memberCode",))
        member_id, shown, mac = int(code[1:-MAC_DIGITS - 2]), int(code[-MAC_DIGITS - 2:-MAC_DIGITS]), code[-MAC_DIGITS:]
        current = _minute(now)
        minute = current - (current - shown) % 100  # the last minute ending in those two digits
        if not hmac.compare_digest(self._mac(member_id, minute), mac):
            raise Refusal(ErrorCode.MEMBER_CODE_INVALID, "this is not a member code", ("memberCode",))
        if current - minute > 1:
            raise Refusal(ErrorCode.MEMBER_CODE_EXPIRED, "the member code has expired: ask for the code on "
                                                         "the member's page now", ("memberCode",))
        return member_id


def _minute(now: datetime) -> int:
    return int(now.timestamp()) // CODE_SECONDS


@dataclass(frozen=True)
class TillMember:
    """What a till sees of the member who showed their code."""

    member: "Member"
    coupons: list[Coupon]  # available, and usable at this store


def usable_at(coupon: Coupon, store_id: str) -> bool:
    return not coupon.store_ids or store_id in coupon.store_ids


def coupon_refusal(coupon: Coupon, store_id: str, now: datetime) -> DomainError | None:
    status = coupon.status_at(now)
    if status is CouponStatus.USED:
        where = f" in store {coupon.used_store_id}" if coupon.used_store_id else ""
        when = f" at {coupon.used_at:%Y-%m-%d %H:%M} UTC" if coupon.used_at else ""
        return Refusal(ErrorCode.ALREADY_USED, f"this coupon was used{when}{where}", ("code",))
    if status is CouponStatus.EXPIRED:
        return Refusal(ErrorCode.EXPIRED, f"this coupon expired at {coupon.valid_until:%Y-%m-%d %H:%M} UTC",
                       ("code",))
    if status is CouponStatus.CANCELLED:
        return Refusal(ErrorCode.COUPON_CANCELLED, "this coupon was cancelled with its redemption", ("code",))
    if not usable_at(coupon, store_id):
        return Refusal(ErrorCode.WRONG_STORE, "this coupon is not valid in this store", ("storeId",))
    return None


class TillService:
    def __init__(self, orders: "OrderService", deductions: "DeductionService", transactions: "Transactions",
                 clock: "Clock") -> None:
        self.orders = orders
        self.deductions = deductions
        self.transactions = transactions
        self.clock = clock

    async def identify(self, store_id: str, member_id: int) -> TillMember:
        now = self.clock.now()

        async def work(uow: "UnitOfWork") -> TillMember:
            member = await uow.members.get(member_id)
            if member is None:
                raise Refusal(ErrorCode.MEMBER_CODE_INVALID, "this is not a member code", ("memberCode",))
            held = await uow.coupons.page(member_id, CouponStatus.AVAILABLE, now, None, SHOWN_COUPONS * 5)
            return TillMember(member, [c for c in held if usable_at(c, store_id)][:SHOWN_COUPONS])

        return await self.transactions.read(work)

    async def record_order(self, store: Actor, member_id: int, order_id: str, amount_fen: int,
                           key: str) -> "PointsOutcome":
        return await self.orders.record(store, member_id, order_id, amount_fen, OrderChannel.OFFLINE_STORE,
                                        store.name, key)

    async def deduct(self, store: Actor, member_id: int, order_id: str, amount_fen: int, points: int,
                     key: str) -> "PointsOutcome":
        return await self.deductions.apply(store, member_id, order_id, amount_fen, points, DeductionPurpose.ORDER,
                                           key, store_id=store.name)

    async def redeem_coupon(self, store: Actor, store_id: str, code: str) -> Coupon:
        """Mark the coupon USED in this store, once: of two tills at once, one wins and the other is
        told ALREADY_USED. The last coupon of a redemption used makes the redemption USED."""
        checked_store_id(store_id)
        if not isinstance(code, str) or not 1 <= len(code) <= MAX_COUPON_CODE:
            raise NotFound("no coupon has this code", ("code",))
        now = self.clock.now()

        async def work(uow: "UnitOfWork") -> Coupon:
            coupon = _one_coupon(await uow.coupons.by_code(code), store_id, now)
            # The member's lock orders this after (or before) a cancellation of its redemption, which
            # refuses once a coupon of it was used.
            await uow.members.lock(coupon.member_id)
            if not await uow.coupons.use(coupon, store_id, now):
                coupon = await uow.coupons.get(coupon.id)
                raise coupon_refusal(coupon, store_id, now) or Refusal(ErrorCode.ALREADY_USED, "this coupon was "
                                                                       "used just now", ("code",))
            coupon.status, coupon.used_at, coupon.used_store_id = CouponStatus.USED, now, store_id
            await _settle_redemption(uow, coupon.redemption_id, now)
            await uow.audit.record(store.label, "coupon.redeem", str(coupon.id), {"storeId": store_id}, now)
            return coupon

        return await self.transactions.write(work)


def _one_coupon(found: list[Coupon], store_id: str, now: datetime) -> Coupon:
    """The coupon a code names. Codes uploaded by staff are unique per item, not across items: of
    several coupons with one code, the one usable here, if only one is."""
    if not found:
        raise NotFound("no coupon has this code", ("code",))
    usable = [c for c in found if coupon_refusal(c, store_id, now) is None]
    if len(usable) > 1:
        raise Refusal(ErrorCode.CONFLICT, "several coupons carry this code: redeem it by staff", ("code",))
    coupon = usable[0] if usable else found[0]
    refusal = coupon_refusal(coupon, store_id, now)
    if refusal is not None:
        raise refusal
    return coupon


async def _settle_redemption(uow: "UnitOfWork", redemption_id: int, now: datetime) -> None:
    if await uow.coupons.available_count(redemption_id):
        return
    redemption = await uow.mall.redemption(redemption_id)
    if redemption is not None and redemption.status in (RedemptionStatus.CREATED, RedemptionStatus.SHIPPED):
        redemption.status, redemption.updated_at = RedemptionStatus.USED, now
        await uow.mall.update_redemption(redemption)
