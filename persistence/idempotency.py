"""Idempotency records, kept for at least seven days (the sweep purges older ones)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete, insert, select

from domain.admission import keep_at_most
from domain.idempotency import IdempotencyRecord
from persistence.direct_statements import direct
from persistence.tables import idempotency_keys


# Built once: every mutation that moves points looks its key up and records it.
RECORD = direct(select(idempotency_keys).where(idempotency_keys.c.scope == bindparam("scope"),
                                               idempotency_keys.c.key == bindparam("key")))
INSERT_RECORD = direct(insert(idempotency_keys))
KEYS_OF_SCOPE = direct(select(idempotency_keys.c.key).where(idempotency_keys.c.scope == bindparam("scope")))


class KnownKeys:
    """SQLite only: the keys of callers seen lately, kept whole per scope (a caller), so an attempt the
    gate refuses can tell a fresh key from a used one without reading the database.

    It holds because one process writes a SQLite database (the server refuses `--workers` above 1
    on it) and every key it records passes `inserted`. A key is added as its INSERT runs, before the
    commit: a key taken for used when its unit then rolls back only sends an attempt on to the
    transaction, which reads it again. A scope is loaded whole by a read on the event loop's thread,
    which does not suspend between the statement and keeping its answer; the keys the open shared
    transaction has inserted are not in that read's snapshot, so they are added from `uncommitted`.
    Keys purged by the sweep stay known as used: again only a longer way. When another connection
    has written (`data_version` moved), everything is forgotten."""

    MAX_SCOPES = 50_000
    MAX_KEYS = 2_000  # a caller with more is looked up key by key

    def __init__(self) -> None:
        self.scopes: dict[str, set[str]] = {}
        self.uncommitted: dict[str, set[str]] = {}

    def used(self, scope: str, key: str) -> bool | None:
        """Whether the key was used; None when the scope is not known."""
        keys = self.scopes.get(scope)
        return None if keys is None else key in keys

    def loaded(self, scope: str, keys: list[str]) -> set[str]:
        """The caller's keys as read, with those the open shared transaction inserted; kept unless
        there are too many."""
        used = set(keys) | self.uncommitted.get(scope, set())
        if len(used) <= self.MAX_KEYS:
            self.scopes[scope] = used
            keep_at_most(self.scopes, self.MAX_SCOPES)
        return used

    def inserted(self, scope: str, key: str) -> None:
        self.uncommitted.setdefault(scope, set()).add(key)
        keys = self.scopes.get(scope)
        if keys is not None:
            keys.add(key)
            if len(keys) > self.MAX_KEYS:
                del self.scopes[scope]

    def committed(self) -> None:
        """The shared transaction ended (committed or not): later loads see all it wrote."""
        self.uncommitted.clear()

    def forget(self) -> None:
        self.scopes.clear()


class SqlIdempotencyRepository:
    def __init__(self, connection, known: KnownKeys | None = None) -> None:
        self.connection = connection
        self.known = known  # only on SQLite's event-loop connections

    async def get(self, scope: str, key: str) -> IdempotencyRecord | None:
        row = (await self.connection.execute(RECORD, {"scope": scope, "key": key})).first()
        return IdempotencyRecord(row.scope, row.key, row.fingerprint, row.result, row.created_at) if row else None

    async def used(self, scope: str, key: str) -> bool:
        if self.known is None:
            return await self.get(scope, key) is not None
        used = self.known.used(scope, key)
        if used is None:
            keys = [row.key for row in await self.connection.execute(KEYS_OF_SCOPE, {"scope": scope})]
            used = key in self.known.loaded(scope, keys)
        return used

    async def add(self, record: IdempotencyRecord) -> None:
        # A concurrent twin makes this a unique violation; the transaction runner retries and replays.
        if self.known is not None:
            self.known.inserted(record.scope, record.key)
        await self.connection.write_behind(INSERT_RECORD, {
            "scope": record.scope, "key": record.key, "fingerprint": record.fingerprint, "result": record.result,
            "created_at": record.created_at})

    async def purge_before(self, moment: datetime) -> int:
        result = await self.connection.execute(
            delete(idempotency_keys).where(idempotency_keys.c.created_at < moment))
        return result.rowcount or 0
