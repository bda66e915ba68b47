"""Leaderboards in Redis sorted sets, one per period instance, mirroring the scores table.

Members are stored as zero-padded ids, so Redis's order for equal scores (the later member first,
by ZREVRANGE's reverse lexical order) is the SQL query's order: the two paths answer alike.
"""
from __future__ import annotations

from datetime import date, timedelta

from domain.leaderboards import LeaderboardPeriod, ScoreChange, Standing

KEEP = {LeaderboardPeriod.DAY: timedelta(days=40), LeaderboardPeriod.WEEK: timedelta(days=120),
        LeaderboardPeriod.MONTH: timedelta(days=800), LeaderboardPeriod.ALL_TIME: None}


def member_key(member_id: int) -> str:
    return f"{member_id:015d}"


class RedisLeaderboardCache:
    def __init__(self, url: str, prefix: str) -> None:
        import redis.asyncio as redis  # only processes configured for Redis need the client

        self.redis = redis.from_url(url, decode_responses=True)
        self.prefix = prefix

    def key(self, period: LeaderboardPeriod, starts_on: date) -> str:
        return f"{self.prefix}:lb:{period.value}:{starts_on.isoformat()}"

    async def add(self, changes: list[ScoreChange]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for change in changes:
                key = self.key(change.period, change.starts_on)
                pipe.zincrby(key, change.points, member_key(change.member_id))
                if KEEP[change.period] is not None:
                    pipe.expire(key, KEEP[change.period])
            await pipe.execute()

    async def top(self, period: LeaderboardPeriod, starts_on: date, limit: int) -> list[tuple[int, int]]:
        rows = await self.redis.zrevrange(self.key(period, starts_on), 0, limit - 1, withscores=True)
        return [(int(member), int(score)) for member, score in rows]

    async def standing(self, period: LeaderboardPeriod, starts_on: date, member_id: int) -> Standing | None:
        key = self.key(period, starts_on)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zrevrank(key, member_key(member_id))
            pipe.zscore(key, member_key(member_id))
            rank, score = await pipe.execute()
        return None if rank is None else Standing(member_id, int(score), rank + 1)

    async def replace(self, period: LeaderboardPeriod, starts_on: date, scores: list[tuple[int, int]]) -> None:
        key = self.key(period, starts_on)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            if scores:
                pipe.zadd(key, {member_key(member_id): points for member_id, points in scores})
            await pipe.execute()

    async def close(self) -> None:
        await self.redis.aclose()
