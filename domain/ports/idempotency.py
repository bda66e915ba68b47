"""What idempotency keys need from storage; persistence/idempotency.py implements it."""
from __future__ import annotations

from datetime import datetime
from typing import Protocol, TYPE_CHECKING

if TYPE_CHECKING:
    from domain.idempotency import IdempotencyRecord


class IdempotencyRepository(Protocol):
    async def get(self, scope: str, key: str) -> IdempotencyRecord | None: ...
    async def used(self, scope: str, key: str) -> bool: ...
    async def add(self, record: IdempotencyRecord) -> None: ...
    async def purge_before(self, moment: datetime) -> int: ...
