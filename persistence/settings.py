"""Brand settings documents and the staff audit log."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from domain.audit import AuditFilter, AuditRecord
from persistence.members import upsert
from persistence.tables import audit_log, settings


class SqlSettingsRepository:
    def __init__(self, connection) -> None:
        self.connection = connection

    async def get(self, key: str) -> Any | None:
        return await self.connection.scalar(select(settings.c.value).where(settings.c.key == key))

    async def put(self, key: str, value: Any, actor: str, at: datetime) -> None:
        statement = upsert(self.connection.dialect.name)(settings).values(
            key=key, value=value, updated_at=at, updated_by=actor)
        await self.connection.execute(statement.on_conflict_do_update(
            index_elements=["key"], set_={"value": value, "updated_at": at, "updated_by": actor}))


class SqlAuditLog:
    def __init__(self, connection) -> None:
        self.connection = connection

    async def record(self, actor: str, action: str, target: str, details: dict, at: datetime) -> None:
        await self.connection.execute(insert(audit_log).values(
            actor=actor, action=action, target=target, details=details, at=at))

    async def page(self, where: AuditFilter, before_id: int | None, limit: int) -> list[AuditRecord]:
        log = audit_log.c
        query = select(audit_log)
        if where.actor is not None:
            query = query.where(log.actor == where.actor)
        if where.action is not None:
            query = query.where(log.action.startswith(where.action, autoescape=True) if where.action.endswith(".")
                                else log.action == where.action)
        if where.target is not None:
            query = query.where(log.target == where.target)
        if before_id is not None:
            query = query.where(log.id < before_id)
        rows = await self.connection.execute(query.order_by(log.id.desc()).limit(limit))
        return [AuditRecord(r.id, r.actor, r.action, r.target, r.details, r.at) for r in rows]
