"""What points gifting needs from storage; persistence/gifts.py implements it."""
from __future__ import annotations

from datetime import datetime
from typing import Protocol, TYPE_CHECKING

if TYPE_CHECKING:
    from domain.gifts import GiftTotals, PointsGift


class GiftRepository(Protocol):
    async def add(self, gift: "PointsGift") -> None:
        """Save the gift and give it its id."""
    async def get(self, gift_id: int) -> "PointsGift | None": ...
    async def sent_since(self, giver_id: int, since: datetime) -> "GiftTotals": ...
    async def received_since(self, recipient_id: int, since: datetime) -> "GiftTotals": ...
    async def of_member(self, member_id: int, before_id: int | None, limit: int) -> list["PointsGift"]:
        """Gifts the member gave or received, newest first."""
