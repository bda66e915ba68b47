"""Purchase orders recorded from the brand's shop, and the release queue of their pending points."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update

from domain.day_figures import FigureChange, order_changes
from domain.orders import OrderChannel, OrderStatus, PurchaseOrder
from persistence.tables import purchase_orders

COLUMNS = ("member_id", "order_id", "channel", "store_id", "amount_fen", "base_points", "bonus_points",
           "campaign_code", "placed_at", "release_at", "recorded_by", "refunded_fen", "status", "released_at",
           "credited_points", "reversed_points", "threshold_points")


def order_from_row(row) -> PurchaseOrder:
    return PurchaseOrder(row.member_id, row.order_id, OrderChannel(row.channel), row.store_id, row.amount_fen,
                         row.base_points, row.bonus_points, row.campaign_code, row.placed_at, row.release_at,
                         row.recorded_by, row.refunded_fen, OrderStatus(row.status), row.released_at,
                         row.credited_points, row.reversed_points, row.id, row.threshold_points)


def order_values(order: PurchaseOrder) -> dict:
    values = {name: getattr(order, name) for name in COLUMNS}
    values["channel"], values["status"] = order.channel.value, order.status.value
    return values


class SqlOrderRepository:
    def __init__(self, connection) -> None:
        self.connection = connection
        self.figure_changes: list[FigureChange] = []  # to its campaigns' and store's day figures (domain/day_figures.py)

    async def get(self, order_id: str) -> PurchaseOrder | None:
        row = (await self.connection.execute(
            select(purchase_orders).where(purchase_orders.c.order_id == order_id))).first()
        return order_from_row(row) if row else None

    async def add(self, order: PurchaseOrder) -> None:
        result = await self.connection.execute(
            insert(purchase_orders).values(**order_values(order)).returning(purchase_orders.c.id))
        order.id = result.scalar_one()
        self.figure_changes += order_changes(None, order)

    async def update(self, order: PurchaseOrder) -> None:
        if order.campaign_code is not None or order.store_id is not None:  # what the figures counted of it before
            row = (await self.connection.execute(
                select(purchase_orders).where(purchase_orders.c.id == order.id))).first()
            self.figure_changes += order_changes(order_from_row(row), order)
        await self.connection.execute(
            update(purchase_orders).where(purchase_orders.c.id == order.id).values(**order_values(order)))

    async def due_for(self, member_id: int, now: datetime) -> list[PurchaseOrder]:
        rows = await self.connection.execute(select(purchase_orders).where(
            purchase_orders.c.member_id == member_id, purchase_orders.c.status == OrderStatus.PENDING.value,
            purchase_orders.c.release_at <= now).order_by(purchase_orders.c.id))
        return [order_from_row(row) for row in rows]

    async def page(self, member_id: int | None, before_id: int | None, limit: int) -> list[PurchaseOrder]:
        query = select(purchase_orders)
        if member_id is not None:
            query = query.where(purchase_orders.c.member_id == member_id)
        if before_id is not None:
            query = query.where(purchase_orders.c.id < before_id)
        rows = await self.connection.execute(query.order_by(purchase_orders.c.id.desc()).limit(limit))
        return [order_from_row(row) for row in rows]
