"""What members need from storage; persistence/members.py implements it."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, TYPE_CHECKING

if TYPE_CHECKING:
    from domain.ledger import GrowthChange, LedgerEntry
    from domain.members import MemberSignals
    from domain.members import Member
    from domain.tiers import TierChange


class MemberRepository(Protocol):
    async def get(self, member_id: int) -> Member | None: ...
    async def get_by_external_id(self, external_id: str) -> Member | None: ...
    async def get_many(self, member_ids: Sequence[int]) -> list[Member]: ...
    async def external_ids(self, member_ids: Sequence[int]) -> dict[int, str]: ...
    async def add_if_absent(self, external_id: str, nickname: str, tier_level: int, at: datetime,
                            signals: MemberSignals = ...) -> None: ...
    async def lock(self, member_id: int) -> Member | None:
        """Load a member with its open lots, holding a write lock until the transaction ends."""
    async def save(self, member: Member) -> list[LedgerEntry]:
        """Persist account changes and the member's next due moment; return the new entries with ids."""
    async def due_ids(self, now: datetime, after_id: int, limit: int) -> list[int]:
        """Members with something due (an order release, a hold timeout, a lot expiry, upkeep) by ``now``."""
    async def tier_changes(self, member_id: int) -> list[TierChange]: ...
    async def growth_changes_page(self, member_id: int, before_id: int | None, limit: int) -> list[GrowthChange]:
        """The member's growth changes other than earning, newest first."""
    async def ids_below_tier(self, thresholds: Sequence[tuple[int, int]], after_id: int, limit: int) -> list[int]:
        """Members whose growth earns a higher tier under ``thresholds`` than the one they hold."""
    async def start_upkeep_periods(self, keep_until: datetime) -> int:
        """Give every member above V1 without an upkeep date this one (their period starts now)."""
    async def end_upkeep_periods(self) -> None:
        """Upkeep switched off: no member has an upkeep date."""
