"""What an import needs from storage; persistence/imports.py implements it."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, TYPE_CHECKING

if TYPE_CHECKING:
    from domain.imports import NewMember
    from domain.ledger import GrowthChange, LedgerEntry


class ImportRepository(Protocol):
    async def checkpoint(self, kind: str, source: str) -> int:
        """The last line of this file an earlier run committed (0: none)."""
    async def save_checkpoint(self, kind: str, source: str, last_line: int, now: datetime) -> None: ...
    async def existing_members(self, external_ids: Sequence[str]) -> set[str]: ...
    async def existing_orders(self, order_ids: Sequence[str]) -> set[str]: ...
    async def member_ids(self, external_ids: Sequence[str]) -> dict[str, int]: ...
    async def add_members(self, new: Sequence["NewMember"], now: datetime) -> dict[str, int]:
        """Insert the members (with their first lot's balance) and give their ids by member id."""
    async def add_growth(self, changes: Sequence["GrowthChange"]) -> None: ...
    async def add_first_lots(self, entries: Sequence["LedgerEntry"]) -> None:
        """New members' first ledger entries and their lots."""
    async def opened(self, keys: Sequence[tuple[int, str]]) -> set[tuple[int, str]]:
        """Of these (member id, ref) pairs, those whose OPENING entry is there already."""
