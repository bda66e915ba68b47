"""What deductions need from storage; persistence/deductions.py implements it."""
from __future__ import annotations

from datetime import datetime
from typing import Protocol, TYPE_CHECKING

if TYPE_CHECKING:
    from domain.deductions import Deduction, DeductionPurpose


class DeductionRepository(Protocol):
    async def get(self, member_id: int, order_id: str, purpose: "DeductionPurpose") -> "Deduction | None": ...
    async def by_id(self, deduction_id: int) -> "Deduction | None": ...
    async def add(self, deduction: "Deduction") -> None: ...
    async def update(self, deduction: "Deduction") -> None: ...
    async def free_shipping_count(self, member_id: int, since: datetime) -> int:
        """The member's standing free-shipping deductions (SHIPPING, 0 points) made since ``since``."""
