"""What the analytics need from storage; persistence/analytics.py implements it."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol, TYPE_CHECKING

if TYPE_CHECKING:
    from domain.analytics import ItemHeat, Participation
    from domain.day_figures import Counts, FigureKind, Figures
    from domain.day_summaries import ActiveCounts, OffsetSpan, Sums, SummaryDelta
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
    async def campaign_orders(self, start: datetime, end: datetime) -> list[tuple[str, int, int, int, int, int, int]]:
        """(campaign codes joined by '+', member id, base, bonus and threshold points, amount, refunded
        fen) of each boosted order placed in [start, end), not wholly refunded."""
    async def item_buyers(self, start: datetime, end: datetime, item_ids: Sequence[int]) -> dict[int, int]:
        """Per item, the members whose redemptions of it in [start, end) stand."""
    async def store_counts(self, start: datetime, end: datetime, store_id: str | None) -> dict[str, dict[str, tuple]]:
        """Per figure kind (STORE_*), per store: the counts its rows make in [start, end)."""
    async def task_members(self, start: datetime, end: datetime, codes: Sequence[str]) -> dict[str, int]: ...
    async def campaign_members(self, start: datetime, end: datetime) -> dict[str, int]: ...


class DaySummaryRepository(Protocol):
    """The per-day sums of the ledger (domain/day_summaries.py); persistence/day_summaries.py."""

    async def add(self, delta: "SummaryDelta") -> None: ...
    async def flows(self, first_day: date, last_day: date) -> dict[date, dict["LedgerReason", tuple[int, int, int]]]:
        """Per day and reason: (credited, debited, order points taken back by refunds)."""
    async def active_counts(self, first_day: date, last_day: date) -> "ActiveCounts": ...
    async def entry_times(self, after_entry_id: int = 0) -> tuple[datetime, datetime] | None: ...
    async def lock(self) -> None:
        """Writers adding to the sums wait until this transaction ends."""
    async def snapshot(self) -> None:
        """Every statement of this read transaction sees one moment (first in it)."""
    async def ledger_sums(self, spans: Sequence["OffsetSpan"], *, whole_ledger: bool = False) -> "Sums":
        """The sums as the entries within the spans make them (``whole_ledger``: the spans hold every entry)."""
    async def stored(self, from_day: date | None = None) -> "Sums": ...
    async def replace(self, sums: "Sums") -> None: ...


class DayFigureRepository(Protocol):
    """The per-day figures of items, tasks and campaigns (domain/day_figures.py); persistence/day_figures.py."""

    async def add(self, figures: "Figures") -> None: ...
    async def sums(self, kind: "FigureKind", first_day: date, last_day: date) -> dict[str, "Counts"]:
        """Per code, the figures summed over the days."""
    async def row_times(self) -> tuple[datetime, datetime] | None:
        """The first and last moments of the rows the figures count."""
    async def computed(self, spans: Sequence["OffsetSpan"]) -> "Figures":
        """The figures as the rows make them (the spans hold every row)."""
    async def stored(self) -> "Figures": ...
    async def replace(self, figures: "Figures") -> None: ...
