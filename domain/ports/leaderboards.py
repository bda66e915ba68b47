"""What leaderboards need from storage; persistence/leaderboards.py implements it."""
from __future__ import annotations

from datetime import date, datetime
from typing import Protocol, TYPE_CHECKING

if TYPE_CHECKING:
    from domain.leaderboards import LeaderboardPeriod, ScoreChange, Standing


class LeaderboardRepository(Protocol):
    async def add(self, changes: list["ScoreChange"]) -> None: ...
    async def top(self, period: "LeaderboardPeriod", starts_on: date, limit: int) -> list[tuple[int, int]]:
        """(member id, points), most points first; equal points: the later member id first."""
    async def all_scores(self, period: "LeaderboardPeriod", starts_on: date) -> list[tuple[int, int]]: ...
    async def standing(self, period: "LeaderboardPeriod", starts_on: date, member_id: int) -> "Standing | None": ...
    async def add_award(self, period: "LeaderboardPeriod", starts_on: date, rank: int, member_id: int, points: int,
                        at: datetime) -> bool:
        """Record a paid prize; False when that rank of that period was paid already."""
