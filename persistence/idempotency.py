"""Idempotency records, kept for at least seven days (the sweep purges older ones)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete, insert, select

from domain.idempotency import IdempotencyRecord
from persistence.direct_statements import direct
from persistence.tables import idempotency_keys


# Built once: every mutation that moves points looks its key up and records it.
RECORD = direct(select(idempotency_keys).where(idempotency_keys.c.scope == bindparam("scope"),
                                               idempotency_keys.c.key == bindparam("key")))
INSERT_RECORD = direct(insert(idempotency_keys))


class SqlIdempotencyRepository:
    def __init__(self, connection) -> None:
        self.connection = connection

    async def get(self, scope: str, key: str) -> IdempotencyRecord | None:
        row = (await self.connection.execute(RECORD, {"scope": scope, "key": key})).first()
        return IdempotencyRecord(row.scope, row.key, row.fingerprint, row.result, row.created_at) if row else None

    async def add(self, record: IdempotencyRecord) -> None:
        # A concurrent twin makes this a unique violation; the transaction runner retries and replays.
        await self.connection.execute(INSERT_RECORD, {
            "scope": record.scope, "key": record.key, "fingerprint": record.fingerprint, "result": record.result,
            "created_at": record.created_at})

    async def purge_before(self, moment: datetime) -> int:
        result = await self.connection.execute(
            delete(idempotency_keys).where(idempotency_keys.c.created_at < moment))
        return result.rowcount or 0
