"""Brand settings documents and the staff audit log."""
from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select

from domain.audit import AuditFilter, AuditRecord
from persistence.members import upsert
from persistence.tables import audit_log, settings


SETTING = select(settings.c.value).where(settings.c.key == bindparam("key"))
CACHE_SECONDS = 1.0


class SettingsCache:
    """Rules are read on nearly every request and change a few times a day: reads keep them a second.

    The process that changes one forgets it as the change commits; another server process sees the
    change within a second.
    """

    def __init__(self) -> None:
        self._values: dict[str, tuple[float, Any]] = {}

    def get(self, key: str) -> tuple[bool, Any]:
        found = self._values.get(key)
        if found is None or found[0] < time.monotonic():
            return False, None
        return True, found[1]

    def keep(self, key: str, value: Any) -> None:
        self._values[key] = (time.monotonic() + CACHE_SECONDS, value)

    def forget(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._values.pop(key, None)


class SqlSettingsRepository:
    def __init__(self, connection, cache: SettingsCache | None = None) -> None:
        self.connection = connection
        self.cache = cache  # only for read transactions: a write reads what its transaction sees
        self.written: set[str] = set()

    async def get(self, key: str) -> Any | None:
        if self.cache is not None:
            hit, value = self.cache.get(key)
            if hit:
                return value
        value = await self.connection.scalar(SETTING, {"key": key})
        if self.cache is not None:
            self.cache.keep(key, value)
        return value

    async def put(self, key: str, value: Any, actor: str, at: datetime) -> None:
        self.written.add(key)
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
