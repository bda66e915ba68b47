"""Writes held back on PostgreSQL (`PostgresConnection.write_behind`): sent with the next write or before
the commit, one round trip for several, and never seen differently from writes sent one by one.

On SQLite a write runs as it is given; every test runs on both databases and expects the same."""
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError

from domain.configuration import Actor
from persistence.direct_statements import POSTGRES_TRACES, DirectStatement
from persistence.idempotency import INSERT_RECORD, RECORD
from persistence.members import DELETE_LOT, INSERT_ENTRY, LIVE_LOTS, SAVE_ACCOUNT, lot_upsert
from persistence.tables import members, point_lots

STAFF = Actor("staff", "ops")
EXPIRES = datetime(2030, 1, 1, tzinfo=UTC)


class Sent:
    """The statements PostgreSQL's writes send on asyncpg."""

    def __enter__(self):
        self.statements = []
        POSTGRES_TRACES.append(self.statements.append)
        return self

    def __exit__(self, *exc):
        POSTGRES_TRACES.remove(self.statements.append)


def record(key: str) -> dict:
    return {"scope": "test", "key": key, "fingerprint": "f", "result": {}, "created_at": datetime.now(UTC)}


async def lots(services, member_id: int) -> list[tuple]:
    rows = await services.transactions.read(lambda uow: uow.connection.execute(LIVE_LOTS, {"member_id": member_id}))
    return [(row.expires_at, row.remaining) for row in rows]


async def test_writes_held_back_are_read_back_in_their_transaction_and_committed(services):
    member = await services.members.ensure("behind-1")

    async def work(uow):
        await uow.members.lock(member.id)  # as a change of points begins (the transaction is open)
        lot = {"member_id": member.id, "expires_at": EXPIRES}
        await uow.connection.write_behind(lot_upsert(uow.connection.dialect.name), {**lot, "remaining": 5})
        await uow.connection.write_behind(INSERT_RECORD, record("k1"))
        seen = [tuple(r) for r in await uow.connection.execute(LIVE_LOTS, {"member_id": member.id})]
        key = (await uow.connection.execute(RECORD, {"scope": "test", "key": "k1"})).first()
        return seen, key.key

    with Sent() as sent:
        assert await services.transactions.write(work) == ([(EXPIRES, 5)], "k1")
    assert await lots(services, member.id) == [(EXPIRES, 5)]
    if services.database.url.startswith("postgresql"):
        # both writes in one statement, sent before the next read
        assert sent.statements[1].startswith("WITH behind_0 AS (INSERT INTO point_lots")


async def test_writes_to_one_table_keep_their_order(services):
    member = await services.members.ensure("behind-2")
    later = EXPIRES + timedelta(days=1)

    async def work(uow):
        await uow.members.lock(member.id)
        lot = {"member_id": member.id, "expires_at": EXPIRES}
        upsert = lot_upsert(uow.connection.dialect.name)
        await uow.connection.write_behind(upsert, {**lot, "remaining": 5})
        await uow.connection.write_behind(upsert, {**lot, "remaining": 7})  # the same row: after the first
        await uow.connection.write_behind(upsert, {"member_id": member.id, "expires_at": later, "remaining": 2})
        await uow.connection.write_behind(DELETE_LOT, {"member_id": member.id, "expires_at": later})
        await uow.connection.write_behind(SAVE_ACCOUNT, {"member_key": member.id, "balance": 7})
        await uow.connection.write_behind(SAVE_ACCOUNT, {"member_key": member.id, "balance": 9})

    await services.transactions.write(work)
    assert await lots(services, member.id) == [(EXPIRES, 7)]
    found = await services.transactions.read(lambda uow: uow.members.get(member.id))
    assert found.account.balance == 9


async def test_a_write_held_back_that_fails_fails_its_unit_and_keeps_nothing(services):
    member = await services.members.ensure("behind-3")
    await services.transactions.write(lambda uow: uow.connection.execute(INSERT_RECORD, record("taken")))

    async def work(uow):
        await uow.members.lock(member.id)
        lot = {"member_id": member.id, "expires_at": EXPIRES, "remaining": 5}
        await uow.connection.write_behind(lot_upsert(uow.connection.dialect.name), lot)
        await uow.connection.write_behind(INSERT_RECORD, record("taken"))  # a unique violation, sent later
        return "answered"

    with pytest.raises(IntegrityError):  # the class the retry rules read, as if it had been sent alone
        await services.transactions.write(work)
    assert await lots(services, member.id) == []


async def test_a_returning_write_takes_the_writes_before_it_along(services):
    member = await services.members.ensure("behind-4")
    at = datetime.now(UTC)

    async def work(uow):
        await uow.members.lock(member.id)
        await uow.connection.write_behind(INSERT_RECORD, record("k4"))
        entry = {"member_id": member.id, "delta": 1, "balance_after": 1, "reason": "ADJUSTMENT", "occurred_at": at,
                 "expires_at": None, "memo": "m", "actor": "staff:ops", "ref": None}
        return (await uow.connection.execute(INSERT_ENTRY, entry)).scalar_one()

    with Sent() as sent:
        entry_id = await services.transactions.write(work)
    assert entry_id > 0
    if services.database.url.startswith("postgresql"):
        assert len(sent.statements) == 2 and sent.statements[1].startswith("WITH behind_0 AS (INSERT INTO idempotency")
    stored = await services.transactions.read(
        lambda uow: uow.connection.execute(RECORD, {"scope": "test", "key": "k4"}))
    assert stored.first().key == "k4"


def test_only_a_write_that_reads_no_other_table_is_sent_with_others():
    dialect = postgresql.asyncpg.dialect()
    reads_lots = update(members).values(balance=0).where(
        members.c.id == select(func.max(point_lots.c.member_id)).scalar_subquery())
    # `table` is set only for a write that may be sent with others
    assert DirectStatement(reads_lots, dialect).table is None
    assert DirectStatement(LIVE_LOTS, dialect).table is None
    assert DirectStatement(SAVE_ACCOUNT, dialect, ("member_key", "balance")).table == "members"
    assert DirectStatement(lot_upsert("postgresql"), dialect, ("member_id", "expires_at", "remaining")).table == \
        "point_lots"
