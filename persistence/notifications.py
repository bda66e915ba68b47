"""Per-member notifications; a reminder is unique per member and reference, so jobs can rerun freely."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update

from domain.notifications import Notification, NotificationDraft
from persistence.members import upsert
from persistence.tables import notifications, point_lots


INSERT_CHUNK = 1000


def notification_from_row(row) -> Notification:
    return Notification(row.id, row.member_id, row.kind, row.title, row.body, row.created_at, row.read_at, row.ref)


class SqlNotificationRepository:
    def __init__(self, connection) -> None:
        self.connection = connection

    async def expiring_lots(self, after: datetime, until: datetime, start_after: tuple[datetime, int] | None,
                            limit: int) -> list[tuple[int, datetime, int]]:
        lots = point_lots.c
        query = select(lots.member_id, lots.expires_at, lots.remaining).where(
            lots.remaining > 0, lots.expires_at > after, lots.expires_at <= until)
        if start_after is not None:  # the next page in (expires_at, member_id) order, the index's
            expires_at, member_id = start_after
            query = query.where(or_(lots.expires_at > expires_at,
                                    and_(lots.expires_at == expires_at, lots.member_id > member_id)))
        rows = await self.connection.execute(query.order_by(lots.expires_at, lots.member_id).limit(limit))
        return [(r.member_id, r.expires_at, r.remaining) for r in rows]

    async def add_once(self, drafts: Sequence[NotificationDraft], at: datetime) -> list[Notification]:
        stored = []
        # Chunks keep each statement far below the drivers' bound-parameter limits (asyncpg: 32,767).
        for start in range(0, len(drafts), INSERT_CHUNK):
            values = [{"member_id": d.member_id, "kind": d.kind, "title": d.title, "body": d.body, "ref": d.ref,
                       "created_at": at, "read_at": None} for d in drafts[start:start + INSERT_CHUNK]]
            statement = upsert(self.connection.dialect.name)(notifications).values(values)
            result = await self.connection.execute(
                statement.on_conflict_do_nothing(index_elements=["member_id", "ref"]).returning(*notifications.c))
            stored.extend(notification_from_row(row) for row in result)
        return sorted(stored, key=lambda n: n.id)

    async def page(self, member_id: int, before_id: int | None, limit: int) -> list[Notification]:
        query = select(notifications).where(notifications.c.member_id == member_id)
        if before_id is not None:
            query = query.where(notifications.c.id < before_id)
        rows = await self.connection.execute(query.order_by(notifications.c.id.desc()).limit(limit))
        return [notification_from_row(row) for row in rows]

    async def mark_read(self, member_id: int, ids: Sequence[int] | None, at: datetime) -> int:
        statement = update(notifications).where(notifications.c.member_id == member_id,
                                                notifications.c.read_at.is_(None))
        if ids is not None:
            statement = statement.where(notifications.c.id.in_(ids))
        return (await self.connection.execute(statement.values(read_at=at))).rowcount or 0

    async def unread_count(self, member_id: int) -> int:
        return await self.connection.scalar(select(func.count()).select_from(notifications).where(
            notifications.c.member_id == member_id, notifications.c.read_at.is_(None)))
