"""What tier perks need from storage; persistence/perks.py implements it."""
from __future__ import annotations

from typing import Protocol, TYPE_CHECKING

if TYPE_CHECKING:
    from domain.perks import PerkGrant


class PerkRepository(Protocol):
    async def ungranted(self, tier_level: int, perk_key: str, period: str, after_id: int, limit: int) -> list[int]:
        """Ids above ``after_id`` of the tier's members without this perk's grant for the period, ascending."""
    async def add_grants(self, grants: list["PerkGrant"]) -> list[int]:
        """Keep the grants not kept yet; the member ids of those this call kept."""
