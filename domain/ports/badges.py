"""What badges need from storage; persistence/badges.py implements it."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TYPE_CHECKING

if TYPE_CHECKING:
    from domain.badges import Badge


class BadgeRepository(Protocol):
    async def add(self, badge: "Badge") -> bool:
        """Insert unless the member has the badge; True when inserted."""
    async def of_members(self, member_ids: Sequence[int]) -> dict[int, list["Badge"]]: ...
