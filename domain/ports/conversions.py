"""What idle-points conversions need from storage; persistence/conversions.py implements it."""
from __future__ import annotations

from datetime import datetime
from typing import Protocol, TYPE_CHECKING

if TYPE_CHECKING:
    from domain.conversions import Conversion


class ConversionRepository(Protocol):
    async def taken(self, member_id: int, period: str) -> bool: ...
    async def add(self, conversion: "Conversion") -> None:
        """Save it and give it its id."""
    async def get(self, conversion_id: int) -> "Conversion | None": ...
    async def candidates(self, min_available: int, idle_before: datetime | None, expiring_until: datetime | None,
                         now: datetime, period: str, after_id: int, limit: int) -> list[int]:
        """Ids above ``after_id``, ascending, of members with ``min_available`` points available, no
        conversion in ``period``, and either no activity since ``idle_before`` or a lot expiring in
        (now, ``expiring_until``]."""
