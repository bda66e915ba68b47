"""The ledger change feed (domain/feed.py): entries after a position, by (transaction, id), up to the
oldest transaction still running on PostgreSQL; by id on SQLite, where ids are in commit order."""
from __future__ import annotations

from sqlalchemy import literal_column, select, tuple_

from domain.feed import FeedPosition, LedgerChange
from persistence.ledger import entry_from_row
from persistence.tables import ledger_entries, members

E = ledger_entries.c
# The oldest transaction that may still write this database's ledger, as the statement's snapshot
# sees it: every older one has ended, so what it wrote is visible now or never will be. Transaction
# ids are the cluster's: a transaction running in another database (pg_stat_activity says which,
# by the low 32 bits of its id) never writes here, and is not waited for. One that ended since the
# snapshot was taken is still waited for (its entries are not in the snapshot): the next read has them.
HORIZON = literal_column("""(SELECT coalesce(min(x::text::bigint), pg_snapshot_xmax(pg_current_snapshot())::text::bigint)
 FROM pg_snapshot_xip(pg_current_snapshot()) AS x
 WHERE x::text::bigint % 4294967296 NOT IN (
  SELECT backend_xid::text::bigint FROM pg_stat_activity
  WHERE backend_xid IS NOT NULL AND datname IS DISTINCT FROM current_database()))""")


class SqlFeedRepository:
    def __init__(self, connection) -> None:
        self.connection = connection

    async def after(self, position: FeedPosition, limit: int) -> list[LedgerChange]:
        query = select(ledger_entries, members.c.external_id).join(members, members.c.id == E.member_id)
        if self.connection.dialect.name == "postgresql":
            query = query.where(tuple_(E.xact_id, E.id) > tuple_(position.transaction, position.entry_id),
                                E.xact_id < HORIZON).order_by(E.xact_id, E.id)
        else:
            query = query.where(E.id > position.entry_id).order_by(E.id)
        rows = await self.connection.execute(query.limit(limit))
        return [LedgerChange(FeedPosition(row.xact_id or 0, row.id), entry_from_row(row), row.external_id)
                for row in rows]
