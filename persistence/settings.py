"""Brand settings documents and the staff audit log."""
from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from domain.audit import AuditFilter, AuditRecord
from persistence.direct_statements import direct
from persistence.members import upsert
from persistence.tables import audit_log, settings


ALL_SETTINGS = direct(select(settings.c.key, settings.c.value))
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


class CommittedSettings:
    """The rules as committed, for the write transactions of the one connection that writes SQLite.

    A write must see the rules its transaction sees, not a second-old copy. On SQLite every write of
    this process goes through one connection, which forgets a rule as its change commits; a change
    by any other connection (another process, `jifen` run beside the server) moves SQLite's
    `data_version`, which each write transaction checks as it begins (`begin`), before any read.
    A check-in so reads its three rules from memory instead of from the database.
    """

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}
        self._version: int | None = None

    def begin(self, data_version: int) -> bool:
        """True when the version moved: another connection wrote since, and what is kept is dropped."""
        if data_version == self._version:
            return False
        self._values.clear()
        self._version = data_version
        return True

    def get(self, key: str) -> tuple[bool, Any]:
        if key in self._values:
            return True, self._values[key]
        return False, None

    def keep(self, key: str, value: Any) -> None:
        self._values[key] = value

    def forget(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._values.pop(key, None)


class SqlSettingsRepository:
    def __init__(self, connection, cache: SettingsCache | CommittedSettings | None = None) -> None:
        self.connection = connection
        # Read transactions keep rules a second; SQLite's writer keeps what is committed; other writes
        # (PostgreSQL) read what their transaction sees.
        self.cache = cache
        self.written: set[str] = set()
        self._read: dict[str, Any] | None = None  # every rule, as this transaction read them

    async def get(self, key: str) -> Any | None:
        if self.cache is not None:
            hit, value = self.cache.get(key)
            if hit:
                return value
        if self._read is None:
            # The table is a handful of small documents and a write reads two or three of them (a
            # check-in: brand, rule, tiers): all at once is one round trip instead of three.
            self._read = {row.key: row.value for row in await self.connection.execute(ALL_SETTINGS)}
            if self.cache is not None:
                for name, value in self._read.items():
                    if name not in self.written:  # a value this transaction wrote is not committed
                        self.cache.keep(name, value)
        value = self._read.get(key)
        if self.cache is not None and key not in self.written:
            self.cache.keep(key, value)  # an absent key too: not read again
        return value

    def kept(self, key: str) -> Any | None:
        """A rule kept from another table (the campaigns not ended yet); None when not kept."""
        if self.cache is None or key in self.written:
            return None
        hit, value = self.cache.get(key)
        return value if hit else None

    def keep(self, key: str, value: Any) -> None:
        if self.cache is not None and key not in self.written:  # what this transaction wrote is not committed
            self.cache.keep(key, value)

    def wrote(self, key: str) -> None:
        """A rule changes in this transaction: no longer kept, and forgotten again as it commits."""
        self.written.add(key)
        if self.cache is not None:
            self.cache.forget([key])

    async def put(self, key: str, value: Any, actor: str, at: datetime) -> None:
        self.wrote(key)
        if self._read is not None:
            self._read[key] = value
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
