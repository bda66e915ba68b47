"""What the analytics need from storage; persistence/analytics.py implements it."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol, TYPE_CHECKING

if TYPE_CHECKING:
    from domain.analytics import ItemHeat, Participation
    from domain.ledger import LedgerReason


class AnalyticsRepository(Protocol):
    async def flow(self, start: datetime, end: datetime) -> dict["LedgerReason", tuple[int, int, int]]:
        """(credited, debited as a positive number) per reason for entries in [start, end)."""
    async def active_members(self, start: datetime, end: datetime) -> int: ...
    async def balances(self) -> tuple[int, int, int, int, int]:
        """(sum of balances, held, pending, debt, members with a positive balance)."""
    async def expiring_points(self, now: datetime, until: datetime) -> int: ...
    async def tier_counts(self) -> dict[int, int]: ...
    async def item_heat(self, start: datetime, end: datetime, limit: int) -> list["ItemHeat"]: ...
    async def item_views(self, first_day: date, last_day: date, item_ids: Sequence[int] | None,
                         limit: int) -> dict[int, tuple[str, int]]:
        """(item name, member-days of views) per item: of these items, or the most viewed."""
    async def task_participation(self, start: datetime, end: datetime) -> list["Participation"]: ...
    async def campaign_orders(self, start: datetime, end: datetime) -> list[tuple[str, int, int, int, int, int]]:
        """(campaign codes joined by '+', member id, bonus points) of each boosted order placed in [start, end)."""
