"""Webhook deliveries and their attempts; a claim leases due rows so two dispatchers never share one."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select, update

from domain.webhooks import Attempt, Delivery, DeliveryStatus
from persistence.tables import webhook_attempts, webhook_deliveries

FIELDS = ("event", "payload", "attempts", "next_attempt_at", "last_status", "last_error", "created_at",
          "delivered_at")
INSERT_CHUNK = 500


def delivery_from_row(row) -> Delivery:
    return Delivery(row.event, row.payload, row.created_at, row.next_attempt_at, DeliveryStatus(row.status),
                    row.attempts, row.last_status, row.last_error, row.delivered_at, row.id)


def delivery_values(delivery: Delivery) -> dict:
    return {**{name: getattr(delivery, name) for name in FIELDS}, "status": delivery.status.value}


class SqlWebhookRepository:
    def __init__(self, connection) -> None:
        self.connection = connection

    async def add(self, deliveries: Sequence[Delivery]) -> None:
        for start in range(0, len(deliveries), INSERT_CHUNK):
            await self.connection.execute(insert(webhook_deliveries),
                                          [delivery_values(d) for d in deliveries[start:start + INSERT_CHUNK]])

    async def get(self, delivery_id: int) -> Delivery | None:
        row = (await self.connection.execute(
            select(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id))).first()
        return delivery_from_row(row) if row else None

    async def update(self, delivery: Delivery) -> None:
        await self.connection.execute(update(webhook_deliveries).where(webhook_deliveries.c.id == delivery.id)
                                      .values(**delivery_values(delivery)))

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> list[Delivery]:
        d = webhook_deliveries.c
        # SKIP LOCKED: another process's dispatcher takes other rows instead of waiting (SQLite has one writer).
        rows = (await self.connection.execute(
            select(webhook_deliveries).where(d.status == DeliveryStatus.PENDING.value, d.next_attempt_at <= now)
            .order_by(d.id).limit(limit).with_for_update(skip_locked=True))).all()
        if rows:
            await self.connection.execute(update(webhook_deliveries).where(d.id.in_([r.id for r in rows]))
                                          .values(next_attempt_at=lease_until))
        return [delivery_from_row(row) for row in rows]

    async def add_attempt(self, attempt: Attempt) -> None:
        await self.connection.execute(insert(webhook_attempts).values(
            delivery_id=attempt.delivery_id, at=attempt.at, status_code=attempt.status_code, error=attempt.error,
            duration_ms=attempt.duration_ms))

    async def page(self, status: DeliveryStatus | None, before_id: int | None, limit: int) -> list[Delivery]:
        query = select(webhook_deliveries)
        if status is not None:
            query = query.where(webhook_deliveries.c.status == status.value)
        if before_id is not None:
            query = query.where(webhook_deliveries.c.id < before_id)
        rows = await self.connection.execute(query.order_by(webhook_deliveries.c.id.desc()).limit(limit))
        return [delivery_from_row(row) for row in rows]

    async def attempts_of(self, delivery_ids: Sequence[int]) -> dict[int, list[Attempt]]:
        found: dict[int, list[Attempt]] = {i: [] for i in delivery_ids}
        rows = await self.connection.execute(select(webhook_attempts)
                                             .where(webhook_attempts.c.delivery_id.in_(delivery_ids))
                                             .order_by(webhook_attempts.c.id))
        for row in rows:
            found[row.delivery_id].append(Attempt(row.delivery_id, row.at, row.status_code, row.error,
                                                  row.duration_ms))
        return found
