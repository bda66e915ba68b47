"""What segments need from storage; persistence/segments.py implements it."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, TYPE_CHECKING

if TYPE_CHECKING:
    from domain.segments import MemberActivity, Segment, SegmentRule


class SegmentRepository(Protocol):
    async def activity(self, member_ids: Sequence[int], now: datetime,
                       rule: "SegmentRule") -> list["MemberActivity"]: ...
    async def store(self, segments: dict[int, set["Segment"]], now: datetime) -> None:
        """Replace these members' segments; a segment a member keeps keeps its start."""
    async def of_members(self, member_ids: Sequence[int]) -> dict[int, set["Segment"]]: ...
    async def members_in(self, segment: "Segment", before_id: int | None, limit: int) -> list[int]: ...
    async def counts(self) -> dict["Segment", int]: ...
