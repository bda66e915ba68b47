"""What segments need from storage; persistence/segments.py implements it."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, TYPE_CHECKING

if TYPE_CHECKING:
    from domain.segments import MemberActivity, Segment, SegmentRule


class SegmentRepository(Protocol):
    async def spending_since(self, since: datetime) -> dict[int, tuple[int, int]]:
        """Per member: points spent since ``since`` other than on redemptions, and of those the deductions."""
    async def activity(self, member_ids: Sequence[int], now: datetime, rule: "SegmentRule",
                       spending: dict[int, tuple[int, int]]) -> list["MemberActivity"]:
        """What the segments of a batch of members are decided on (a batch: every member from its first id
        to its last, in order); ``spending`` as ``spending_since`` gave it."""
    async def store(self, segments: dict[int, set["Segment"]], now: datetime) -> None:
        """Replace a batch's segments (as ``activity``'s); a segment a member keeps keeps its start."""
    async def of_members(self, member_ids: Sequence[int]) -> dict[int, set["Segment"]]: ...
    async def members_in(self, segment: "Segment", before_id: int | None, limit: int) -> list[int]: ...
    async def counts(self) -> dict["Segment", int]: ...
