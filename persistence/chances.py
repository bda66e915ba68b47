"""Lottery chances, one row each, and poster shares: a member's usable chances are found by an index
on (member, expiry) among the unused ones."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select, update

from domain.chances import ChanceSource, LotteryChance, PosterShare, ShareChannel
from persistence.tables import lottery_chances, poster_shares

C = lottery_chances.c


def chance_from_row(row) -> LotteryChance:
    return LotteryChance(row.member_id, ChanceSource(row.source), row.ref, row.granted_at, row.expires_at,
                         row.used_at, row.draw_id, row.id)


class SqlChanceRepository:
    def __init__(self, connection) -> None:
        self.connection = connection

    async def add(self, chances: list[LotteryChance]) -> None:
        if chances:
            await self.connection.execute(insert(lottery_chances), [
                {"member_id": c.member_id, "source": c.source.value, "ref": c.ref, "granted_at": c.granted_at,
                 "expires_at": c.expires_at} for c in chances])

    def _usable(self, member_id: int, now: datetime):
        return (C.member_id == member_id, C.used_at.is_(None), C.expires_at > now)

    async def first_usable(self, member_id: int, now: datetime) -> LotteryChance | None:
        row = (await self.connection.execute(select(lottery_chances).where(*self._usable(member_id, now))
                                             .order_by(C.expires_at, C.id).limit(1))).first()
        return chance_from_row(row) if row else None

    async def mark_used(self, chance: LotteryChance) -> None:
        await self.connection.execute(update(lottery_chances).where(C.id == chance.id).values(used_at=chance.used_at))

    async def attach_draw(self, chance_id: int, draw_id: int) -> None:
        await self.connection.execute(update(lottery_chances).where(C.id == chance_id).values(draw_id=draw_id))

    async def void(self, member_id: int, ref: str, now: datetime) -> int:
        result = await self.connection.execute(update(lottery_chances).where(
            C.member_id == member_id, C.ref == ref, C.used_at.is_(None)).values(used_at=now))
        return result.rowcount

    async def granted_since(self, member_id: int, source: ChanceSource, since: datetime) -> int:
        return await self.connection.scalar(select(func.count()).select_from(lottery_chances).where(
            C.member_id == member_id, C.source == source.value, C.granted_at >= since))

    async def usable(self, member_id: int, now: datetime, limit: int) -> tuple[int, list[LotteryChance]]:
        count = await self.connection.scalar(select(func.count()).select_from(lottery_chances)
                                             .where(*self._usable(member_id, now)))
        rows = await self.connection.execute(select(lottery_chances).where(*self._usable(member_id, now))
                                             .order_by(C.expires_at, C.id).limit(limit))
        return count, [chance_from_row(row) for row in rows]

    async def add_share(self, share: PosterShare) -> None:
        result = await self.connection.execute(insert(poster_shares).values(
            member_id=share.member_id, channel=share.channel.value, shared_at=share.shared_at,
            chances=share.chances).returning(poster_shares.c.id))
        share.id = result.scalar_one()

    async def share(self, share_id: int) -> PosterShare | None:
        row = (await self.connection.execute(select(poster_shares).where(poster_shares.c.id == share_id))).first()
        return PosterShare(row.member_id, ShareChannel(row.channel), row.shared_at, row.chances, row.id) \
            if row else None
