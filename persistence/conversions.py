"""Conversions of idle points, one per member a brand month (a unique key), and the members the daily
sweep looks at."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, exists, insert, or_, select

from domain.conversions import Conversion, ConversionReason
from persistence.tables import conversions, members, point_lots

C = conversions.c
M = members.c


def conversion_from_row(row) -> Conversion:
    return Conversion(row.member_id, row.period, ConversionReason(row.reason), row.points, row.created_at,
                      row.automatic, row.item_id, row.tier_days, row.redemption_id, row.id)


class SqlConversionRepository:
    def __init__(self, connection) -> None:
        self.connection = connection

    async def taken(self, member_id: int, period: str) -> bool:
        found = await self.connection.scalar(select(C.id).where(C.member_id == member_id, C.period == period))
        return found is not None

    async def add(self, conversion: Conversion) -> None:
        conversion.id = (await self.connection.execute(insert(conversions).values(
            member_id=conversion.member_id, period=conversion.period, reason=conversion.reason.value,
            points=conversion.points, item_id=conversion.item_id, tier_days=conversion.tier_days,
            redemption_id=conversion.redemption_id, automatic=conversion.automatic,
            created_at=conversion.created_at).returning(C.id))).scalar_one()

    async def get(self, conversion_id: int) -> Conversion | None:
        row = (await self.connection.execute(select(conversions).where(C.id == conversion_id))).first()
        return conversion_from_row(row) if row else None

    async def candidates(self, min_available: int, idle_before: datetime | None, expiring_until: datetime | None,
                         now: datetime, period: str, after_id: int, limit: int) -> list[int]:
        reasons = []
        if idle_before is not None:
            reasons.append(or_(M.last_active_at.is_(None), M.last_active_at < idle_before))
        if expiring_until is not None:
            reasons.append(exists().where(and_(point_lots.c.member_id == M.id, point_lots.c.expires_at > now,
                                               point_lots.c.expires_at <= expiring_until,
                                               point_lots.c.remaining > 0)))
        if not reasons:
            return []
        taken = exists().where(and_(C.member_id == M.id, C.period == period))
        rows = await self.connection.execute(
            select(M.id).where(M.id > after_id, M.balance - M.held >= min_available, or_(*reasons), ~taken)
            .order_by(M.id).limit(limit))
        return [row.id for row in rows]
