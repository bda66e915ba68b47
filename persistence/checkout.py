"""Points-plus-cash orders waiting for, or past, payment."""
from __future__ import annotations

from sqlalchemy import insert, select, update

from domain.checkout import CheckoutOrder, OrderStatus
from persistence.tables import checkout_orders

FIELDS = ("member_id", "item_id", "item_name", "quantity", "points_held", "cash_due_fen", "created_at", "expires_at",
          "payment_ref", "resolved_at")


def order_from_row(row) -> CheckoutOrder:
    return CheckoutOrder(row.member_id, row.item_id, row.item_name, row.quantity, row.points_held, row.cash_due_fen,
                         row.created_at, row.expires_at, OrderStatus(row.status), row.payment_ref, row.resolved_at,
                         row.id)


def order_values(order: CheckoutOrder) -> dict:
    return {**{name: getattr(order, name) for name in FIELDS}, "status": order.status.value}


class SqlCheckoutRepository:
    def __init__(self, connection) -> None:
        self.connection = connection

    async def add(self, order: CheckoutOrder) -> None:
        result = await self.connection.execute(
            insert(checkout_orders).values(**order_values(order)).returning(checkout_orders.c.id))
        order.id = result.scalar_one()

    async def get(self, order_id: int) -> CheckoutOrder | None:
        row = (await self.connection.execute(
            select(checkout_orders).where(checkout_orders.c.id == order_id))).first()
        return order_from_row(row) if row else None

    async def update(self, order: CheckoutOrder) -> None:
        await self.connection.execute(update(checkout_orders).where(checkout_orders.c.id == order.id)
                                      .values(**order_values(order)))

    async def page(self, member_id: int, before_id: int | None, limit: int) -> list[CheckoutOrder]:
        query = select(checkout_orders).where(checkout_orders.c.member_id == member_id)
        if before_id is not None:
            query = query.where(checkout_orders.c.id < before_id)
        rows = await self.connection.execute(query.order_by(checkout_orders.c.id.desc()).limit(limit))
        return [order_from_row(row) for row in rows]
