"""The reads behind `jifen export` (domain/exports.py): streamed on the driver's cursor, in id order."""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from sqlalchemy import func, select

from domain.exports import ExportKind
from persistence.day_summaries import partitions
from persistence.tables import ledger_entries, members, redemptions

M, E, R = members.c, ledger_entries.c, redemptions.c
STREAMED = 5000


def _query(kind: ExportKind):
    """(the columns' select, the time a `since` compares)."""
    if kind is ExportKind.MEMBERS:
        return select(M.external_id, M.nickname, M.created_at, M.tier_level, M.growth, M.balance, M.held,
                      M.pending, M.debt, M.lifetime_earned, M.last_active_at).order_by(M.id), M.created_at
    if kind is ExportKind.LEDGER:
        return (select(E.id, M.external_id, E.delta, E.balance_after, E.reason, E.occurred_at, E.expires_at,
                       E.memo, E.ref).join(members, members.c.id == E.member_id).order_by(E.id), E.occurred_at)
    return (select(R.id, M.external_id, R.item_id, R.item_name, R.quantity, R.points, R.status, R.code,
                   R.created_at, R.updated_at).join(members, members.c.id == R.member_id).order_by(R.id),
            R.created_at)


class SqlExportRepository:
    def __init__(self, connection) -> None:
        self.connection = connection

    async def count(self, kind: ExportKind, since: datetime | None) -> int:
        query, moment = _query(kind)
        counted = select(func.count()).select_from(query.order_by(None).where(
            moment >= since if since else moment.is_not(None)).subquery())
        return int(await self.connection.scalar(counted))

    async def rows(self, kind: ExportKind, since: datetime | None) -> AsyncIterator[list[tuple]]:
        query, moment = _query(kind)
        async for batch in partitions(self.connection, query.where(moment >= since) if since else query, STREAMED):
            yield [tuple(row) for row in batch]
