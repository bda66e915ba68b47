"""What checkout orders need from storage; persistence/checkout.py implements it."""
from __future__ import annotations

from typing import Protocol, TYPE_CHECKING

if TYPE_CHECKING:
    from domain.checkout import CheckoutOrder


class CheckoutRepository(Protocol):
    async def add(self, order: "CheckoutOrder") -> None: ...
    async def get(self, order_id: int) -> "CheckoutOrder | None": ...
    async def update(self, order: "CheckoutOrder") -> None: ...
    async def page(self, member_id: int, before_id: int | None, limit: int) -> list["CheckoutOrder"]: ...
