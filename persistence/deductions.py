"""Points deducted from ordinary orders, one per member, order and purpose."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select, update

from domain.day_figures import FigureChange, FigureKind
from domain.deductions import Deduction, DeductionPurpose, DeductionStatus
from persistence.tables import deductions


def deduction_from_row(row) -> Deduction:
    return Deduction(row.member_id, row.order_id, DeductionPurpose(row.purpose), row.amount_fen, row.points,
                     row.fen, row.created_at, DeductionStatus(row.status), row.id, row.store_id)


class SqlDeductionRepository:
    def __init__(self, connection) -> None:
        self.connection = connection
        self.figure_changes: list[FigureChange] = []  # to its store's day figures (domain/day_figures.py)

    async def get(self, member_id: int, order_id: str, purpose: DeductionPurpose) -> Deduction | None:
        row = (await self.connection.execute(select(deductions).where(
            deductions.c.member_id == member_id, deductions.c.order_id == order_id,
            deductions.c.purpose == purpose.value))).first()
        return deduction_from_row(row) if row else None

    async def by_id(self, deduction_id: int) -> Deduction | None:
        row = (await self.connection.execute(select(deductions).where(deductions.c.id == deduction_id))).first()
        return deduction_from_row(row) if row else None

    async def add(self, deduction: Deduction) -> None:
        result = await self.connection.execute(insert(deductions).values(
            member_id=deduction.member_id, order_id=deduction.order_id, purpose=deduction.purpose.value,
            amount_fen=deduction.amount_fen, points=deduction.points, fen=deduction.fen,
            status=deduction.status.value, created_at=deduction.created_at, store_id=deduction.store_id)
            .returning(deductions.c.id))
        deduction.id = result.scalar_one()
        self._count(deduction, 1)

    async def free_shipping_count(self, member_id: int, since: datetime) -> int:
        d = deductions.c
        return await self.connection.scalar(select(func.count()).select_from(deductions).where(
            d.member_id == member_id, d.purpose == DeductionPurpose.SHIPPING.value, d.points == 0,
            d.status == DeductionStatus.APPLIED.value, d.created_at >= since))

    async def update(self, deduction: Deduction) -> None:
        await self.connection.execute(update(deductions).where(deductions.c.id == deduction.id)
                                      .values(status=deduction.status.value))
        if deduction.status is DeductionStatus.REFUNDED:  # the one way a deduction changes: it stands no more
            self._count(deduction, -1)

    def _count(self, deduction: Deduction, sign: int) -> None:
        if deduction.store_id is not None:
            self.figure_changes.append(FigureChange(FigureKind.STORE_DEDUCTIONS, deduction.store_id,
                                                    deduction.member_id, deduction.created_at, times=sign,
                                                    points=sign * deduction.points))
