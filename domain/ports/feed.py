"""What the ledger change feed needs from storage; persistence/feed.py implements it."""
from __future__ import annotations

from typing import Protocol, TYPE_CHECKING

if TYPE_CHECKING:
    from domain.feed import FeedPosition, LedgerChange


class FeedRepository(Protocol):
    async def after(self, position: "FeedPosition", limit: int) -> list["LedgerChange"]:
        """Up to ``limit`` entries after ``position``, in feed order, none of which a transaction still
        running could come to precede."""
