"""Leaderboard scores per period and member, and the prizes paid at a period's close."""
from __future__ import annotations

import functools
from datetime import date, datetime

from sqlalchemy import and_, bindparam, func, select

from domain.leaderboards import LeaderboardPeriod, ScoreChange, Standing, score_band
from persistence.direct_statements import direct
from persistence.members import upsert
from persistence.tables import leaderboard_awards, leaderboard_bands, leaderboard_scores, leaderboard_ties

ORDER = (leaderboard_scores.c.points.desc(), leaderboard_scores.c.member_id.desc())
TIE_BLOCK = 4096  # as migration 0028's triggers block the ties


def _standing():
    s, b, t = leaderboard_scores.c, leaderboard_bands.c, leaderboard_ties.c
    period, starts_on, points = bindparam("period"), bindparam("starts_on"), bindparam("points")
    kept = (lambda table: and_(table.period == period, table.starts_on == starts_on))
    return direct(select(
        select(func.coalesce(func.sum(b.members), 0)).where(kept(b), b.band >= bindparam("band_end"))
        .scalar_subquery().label("bands_above"),
        select(func.coalesce(func.sum(t.members), 0)).where(kept(t), t.points > points,
                                                           t.points < bindparam("band_end"))
        .scalar_subquery().label("above_in_band"),
        select(func.coalesce(func.sum(t.members), 0)).where(kept(t), t.points == points, t.block > bindparam("block"))
        .scalar_subquery().label("tied_blocks_ahead"),
        select(func.count()).select_from(leaderboard_scores).where(
            kept(s), s.points == points, s.member_id > bindparam("member_id"),
            s.member_id < bindparam("block_end")).scalar_subquery().label("tied_in_block_ahead")))


STANDING = _standing()


@functools.cache
def score_upsert(dialect: str, rows: int = 1):
    """Built once per dialect and size: every earning adds to four periods' scores, in one statement
    (one round trip on PostgreSQL), and building it cost more than running it."""
    statement = upsert(dialect)(leaderboard_scores)
    if rows > 1:
        statement = statement.values([{name: bindparam(f"{name}_{i}") for name in SCORE_COLUMNS} for i in range(rows)])
    return direct(statement.on_conflict_do_update(
        index_elements=["period", "starts_on", "member_id"],
        set_={"points": leaderboard_scores.c.points + statement.excluded.points}))


SCORE_COLUMNS = ("period", "starts_on", "member_id", "points")
MAX_ROWS = 8  # rows per statement: the statements kept stay few


class SqlLeaderboardRepository:
    def __init__(self, connection) -> None:
        self.connection = connection
        self.insert = upsert(connection.dialect.name)

    async def add(self, changes: list[ScoreChange]) -> None:
        # An upsert of many rows may not name one row twice: one row per score, its points summed.
        totals: dict[tuple, int] = {}
        for change in changes:
            key = (change.period.value, change.starts_on, change.member_id)
            totals[key] = totals.get(key, 0) + change.points
        rows = [(*key, points) for key, points in totals.items()]
        for start in range(0, len(rows), MAX_ROWS):
            await self._upsert(rows[start:start + MAX_ROWS])

    async def _upsert(self, rows: list[tuple]) -> None:
        if len(rows) == 1:
            parameters = dict(zip(SCORE_COLUMNS, rows[0]))
        else:
            parameters = {f"{name}_{i}": value for i, row in enumerate(rows) for name, value in zip(SCORE_COLUMNS, row)}
        await self.connection.write_behind(score_upsert(self.connection.dialect.name, len(rows)), parameters)

    def _of(self, period: LeaderboardPeriod, starts_on: date):
        return and_(leaderboard_scores.c.period == period.value, leaderboard_scores.c.starts_on == starts_on)

    async def top(self, period: LeaderboardPeriod, starts_on: date, limit: int) -> list[tuple[int, int]]:
        rows = await self.connection.execute(select(leaderboard_scores.c.member_id, leaderboard_scores.c.points)
                                             .where(self._of(period, starts_on)).order_by(*ORDER).limit(limit))
        return [(row.member_id, row.points) for row in rows]

    async def all_scores(self, period: LeaderboardPeriod, starts_on: date) -> list[tuple[int, int]]:
        return await self.top(period, starts_on, 2**31)

    async def standing(self, period: LeaderboardPeriod, starts_on: date, member_id: int) -> Standing | None:
        """Counts kept by the database's triggers, summed: the bands above the member's, the scores
        above theirs within it, the blocks of their tie above theirs; then the members ahead within
        their own block of their tie counted (at most TIE_BLOCK). Ranks equal the full order's."""
        points = await self.connection.scalar(select(leaderboard_scores.c.points).where(
            self._of(period, starts_on), leaderboard_scores.c.member_id == member_id))
        if points is None:
            return None
        row = (await self.connection.execute(STANDING, {
            "period": period.value, "starts_on": starts_on, "points": points, "member_id": member_id,
            "band_end": score_band(points)[1], "block": member_id // TIE_BLOCK,
            "block_end": (member_id // TIE_BLOCK + 1) * TIE_BLOCK})).first()
        return Standing(member_id, points, sum(int(part) for part in row) + 1)

    async def add_award(self, period: LeaderboardPeriod, starts_on: date, rank: int, member_id: int, points: int,
                        at: datetime) -> bool:
        """Record a prize; False when that rank of that period was paid already."""
        statement = self.insert(leaderboard_awards).values(
            period=period.value, starts_on=starts_on, rank=rank, member_id=member_id, points=points, awarded_at=at)
        result = await self.connection.execute(statement.on_conflict_do_nothing(
            index_elements=["period", "starts_on", "rank"]).returning(leaderboard_awards.c.rank))
        return result.first() is not None
