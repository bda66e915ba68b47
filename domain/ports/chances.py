"""What lottery chances need from storage; persistence/chances.py implements it."""
from __future__ import annotations

from datetime import datetime
from typing import Protocol, TYPE_CHECKING

if TYPE_CHECKING:
    from domain.chances import ChanceSource, LotteryChance, PosterShare


class ChanceRepository(Protocol):
    async def add(self, chances: list["LotteryChance"]) -> None: ...
    async def first_usable(self, member_id: int, now: datetime) -> "LotteryChance | None":
        """The member's unused chance expiring first (after ``now``)."""
    async def mark_used(self, chance: "LotteryChance") -> None: ...
    async def attach_draw(self, chance_id: int, draw_id: int) -> None: ...
    async def void(self, member_id: int, ref: str, now: datetime) -> int:
        """Use up the member's unused chances granted under ``ref`` (a refunded order's); how many."""
    async def granted_since(self, member_id: int, source: "ChanceSource", since: datetime) -> int: ...
    async def usable(self, member_id: int, now: datetime, limit: int) -> tuple[int, list["LotteryChance"]]:
        """How many chances the member can use now, and the first ``limit``, first-expiring first."""
    async def add_share(self, share: "PosterShare") -> None:
        """Save the share and give it its id."""
    async def share(self, share_id: int) -> "PosterShare | None": ...
