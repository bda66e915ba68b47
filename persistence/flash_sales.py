"""Flash sales; a sale's row is the lock every attempt queues on."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select, update

from domain.flash_sales import FlashSale
from domain.mall import RedemptionStatus
from persistence.tables import flash_sales, redemptions


def sale_from_row(row) -> FlashSale:
    return FlashSale(row.item_id, row.title, row.points_price, row.stock, row.per_member_limit, row.starts_at,
                     row.ends_at, row.id)


class SqlFlashSaleRepository:
    def __init__(self, connection) -> None:
        self.connection = connection

    async def add(self, sale: FlashSale) -> None:
        result = await self.connection.execute(insert(flash_sales).values(
            item_id=sale.item_id, title=sale.title, points_price=sale.points_price, stock=sale.stock,
            per_member_limit=sale.per_member_limit, starts_at=sale.starts_at, ends_at=sale.ends_at)
            .returning(flash_sales.c.id))
        sale.id = result.scalar_one()

    async def get(self, sale_id: int) -> FlashSale | None:
        row = (await self.connection.execute(select(flash_sales).where(flash_sales.c.id == sale_id))).first()
        return sale_from_row(row) if row else None

    async def lock(self, sale_id: int) -> FlashSale | None:
        row = (await self.connection.execute(
            select(flash_sales).where(flash_sales.c.id == sale_id).with_for_update())).first()
        return sale_from_row(row) if row else None

    async def update(self, sale: FlashSale) -> None:
        await self.connection.execute(update(flash_sales).where(flash_sales.c.id == sale.id).values(
            title=sale.title, points_price=sale.points_price, stock=sale.stock, per_member_limit=sale.per_member_limit,
            starts_at=sale.starts_at, ends_at=sale.ends_at))

    async def update_stock(self, sale: FlashSale) -> None:
        await self.connection.execute(update(flash_sales).where(flash_sales.c.id == sale.id).values(stock=sale.stock))

    async def between(self, now: datetime, until: datetime) -> list[FlashSale]:
        rows = await self.connection.execute(select(flash_sales).where(
            flash_sales.c.ends_at > now, flash_sales.c.starts_at < until).order_by(flash_sales.c.starts_at))
        return [sale_from_row(row) for row in rows]

    async def redeemed_quantity(self, member_id: int, sale_id: int) -> int:
        return await self.connection.scalar(select(func.coalesce(func.sum(redemptions.c.quantity), 0)).where(
            redemptions.c.member_id == member_id, redemptions.c.flash_sale_id == sale_id,
            redemptions.c.status != RedemptionStatus.CANCELLED.value))
