"""What campaigns need from storage; persistence/campaigns.py implements it."""
from __future__ import annotations

from datetime import datetime
from typing import Protocol, TYPE_CHECKING

if TYPE_CHECKING:
    from domain.campaigns import Campaign


class CampaignRepository(Protocol):
    async def get(self, code: str) -> "Campaign | None": ...
    async def all(self) -> list["Campaign"]: ...
    async def active(self, at: datetime) -> list["Campaign"]: ...
    async def put(self, campaign: "Campaign") -> None: ...
