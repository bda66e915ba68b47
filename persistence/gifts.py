"""Points gifts: one row each, read back by giver and by receiver."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, or_, select

from domain.gifts import GiftTotals, PointsGift
from persistence.tables import points_gifts

G = points_gifts.c


def gift_from_row(row) -> PointsGift:
    return PointsGift(row.giver_id, row.recipient_id, row.points, row.message, row.created_at, row.id)


class SqlGiftRepository:
    def __init__(self, connection) -> None:
        self.connection = connection

    async def add(self, gift: PointsGift) -> None:
        gift.id = (await self.connection.execute(insert(points_gifts).values(
            giver_id=gift.giver_id, recipient_id=gift.recipient_id, points=gift.points, message=gift.message,
            created_at=gift.created_at).returning(G.id))).scalar_one()

    async def get(self, gift_id: int) -> PointsGift | None:
        row = (await self.connection.execute(select(points_gifts).where(G.id == gift_id))).first()
        return gift_from_row(row) if row else None

    async def sent_since(self, giver_id: int, since: datetime) -> GiftTotals:
        return await self._totals(G.giver_id == giver_id, since)

    async def received_since(self, recipient_id: int, since: datetime) -> GiftTotals:
        return await self._totals(G.recipient_id == recipient_id, since)

    async def _totals(self, whose, since: datetime) -> GiftTotals:
        gifts, points = (await self.connection.execute(select(func.count(), func.coalesce(func.sum(G.points), 0))
                                                       .where(whose, G.created_at >= since))).one()
        return GiftTotals(gifts, int(points))

    async def of_member(self, member_id: int, before_id: int | None, limit: int) -> list[PointsGift]:
        query = select(points_gifts).where(or_(G.giver_id == member_id, G.recipient_id == member_id))
        if before_id is not None:
            query = query.where(G.id < before_id)
        rows = await self.connection.execute(query.order_by(G.id.desc()).limit(limit))
        return [gift_from_row(row) for row in rows]
