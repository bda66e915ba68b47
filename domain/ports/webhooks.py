"""What webhooks need from storage; persistence/webhooks.py implements it."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, TYPE_CHECKING

if TYPE_CHECKING:
    from domain.webhooks import Attempt, Delivery, DeliveryStatus


class WebhookRepository(Protocol):
    async def add(self, deliveries: Sequence["Delivery"]) -> None: ...
    async def get(self, delivery_id: int) -> "Delivery | None": ...
    async def update(self, delivery: "Delivery") -> None: ...
    async def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> list["Delivery"]:
        """Pending deliveries due by ``now``, each leased (not due again) until ``lease_until``."""
    async def add_attempt(self, attempt: "Attempt") -> None: ...
    async def page(self, status: "DeliveryStatus | None", before_id: int | None, limit: int) -> list["Delivery"]: ...
    async def attempts_of(self, delivery_ids: Sequence[int]) -> dict[int, list["Attempt"]]: ...
