"""What the coupon wallet needs from storage; persistence/coupons.py implements it."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, TYPE_CHECKING

if TYPE_CHECKING:
    from domain.coupons import Coupon, CouponStatus


class CouponRepository(Protocol):
    async def add(self, issued: Sequence["Coupon"]) -> None:
        """Store the coupons and give each its id."""
    async def page(self, member_id: int, status: "CouponStatus | None", now: datetime, before_id: int | None,
                   limit: int) -> list["Coupon"]:
        """A member's coupons, newest first; ``status`` as the clock says it at ``now``."""
    async def get(self, coupon_id: int) -> "Coupon | None": ...
    async def by_code(self, code: str) -> list["Coupon"]:
        """The coupons carrying this code (codes are unique per item, not across items)."""
    async def use(self, coupon: "Coupon", store_id: str, now: datetime) -> bool:
        """Mark it USED in this store if it is available at ``now`` (and count it in the store's
        figures); whether it was."""
    async def available_count(self, redemption_id: int) -> int: ...
    async def used_count(self, redemption_id: int) -> int: ...
    async def settle(self, redemption_id: int, status: "CouponStatus", now: datetime) -> None:
        """The redemption's available coupons become ``status``."""
    async def expire_due(self, now: datetime, limit: int) -> int:
        """Store EXPIRED on up to ``limit`` available coupons past their window; how many."""
    async def expiring_unreminded(self, now: datetime, until: datetime, limit: int) -> list["Coupon"]: ...
    async def mark_reminded(self, coupon_ids: Sequence[int], now: datetime) -> None: ...
