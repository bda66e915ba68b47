"""What check-ins need from storage; persistence/checkin.py implements it."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TYPE_CHECKING

if TYPE_CHECKING:
    from domain.checkin import CheckIn


class CheckInRepository(Protocol):
    async def latest(self, member_ids: Sequence[int]) -> dict[int, CheckIn]: ...
    async def add(self, check_in: CheckIn) -> None: ...
