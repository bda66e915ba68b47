"""SQLite's direct statements (persistence/direct_statements.py) answer and change exactly what SQLAlchemy
answers and changes for the same statement; the writer's rules stay those committed."""
import sqlite3
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from domain.campaigns import Campaign
from domain.configuration import Actor
from domain.ledger import LedgerReason
from persistence.badges import badge_insert
from persistence.campaigns import NOT_ENDED
from persistence.checkin import INSERT_CHECK_IN, LATEST_OF_ONE
from persistence.direct_statements import DirectStatement
from persistence.idempotency import INSERT_RECORD, RECORD
from persistence.leaderboards import score_upsert
from persistence.ledger import FIRST_PAGE
from persistence.members import (DELETE_LOT, INSERT_ENTRY, LIVE_LOTS, LOCK_MEMBER, MEMBER_BY_EXTERNAL_ID, MEMBER_BY_ID,
                                 SAVE_ACCOUNT, lot_upsert)
from persistence.settings import ALL_SETTINGS
from persistence.tables import (check_ins, idempotency_keys, leaderboard_scores, ledger_entries, member_badges,
                                members, point_lots)

STAFF = Actor("staff", "ops")


async def test_each_direct_read_returns_what_sqlalchemy_returns(sqlite_services, clock):
    services = sqlite_services
    member = await services.members.ensure("d1", "直读")
    for i in range(3):
        assert (await services.points.adjust(STAFF, member.id, 10 + i, f"memo {i}", f"k{i}")).error is None
    assert (await services.check_in.check_in(Actor("member", "d1"), member.id, "c1")).error is None
    await services.campaigns.save(STAFF, Campaign("x2", "双倍", 2000, clock.now() - timedelta(hours=1),
                                                  clock.now() + timedelta(days=1), (LedgerReason.ORDER,)),
                                  create=True)
    connection = services.database.inline_reads.connection()
    scope, key = connection.exec_driver_sql("SELECT scope, key FROM idempotency_keys LIMIT 1").one()
    cases = [(MEMBER_BY_ID, {"member_id": member.id}), (LOCK_MEMBER, {"member_id": member.id}),
             (MEMBER_BY_EXTERNAL_ID, {"external_id": "d1"}), (LIVE_LOTS, {"member_id": member.id}),
             (FIRST_PAGE, {"member_id": member.id, "limit": 3}), (LATEST_OF_ONE, {"member_id": member.id}),
             (RECORD, {"scope": scope, "key": key}), (NOT_ENDED, {"at": clock.now()}), (ALL_SETTINGS, {})]
    driver = connection.connection.driver_connection
    for statement, parameters in cases:
        expected = connection.execute(statement, parameters).all()
        got = DirectStatement(statement, connection.dialect).run(driver, parameters)
        assert [tuple(row) for row in got] == [tuple(row) for row in expected], statement
        assert all(row._fields == tuple(e._fields) for row, e in zip(got, expected))
    assert all(DirectStatement(s, connection.dialect).run(driver, p) for s, p in cases[:-1])
    newest = DirectStatement(FIRST_PAGE, connection.dialect).run(driver, {"member_id": member.id, "limit": 1})[0]
    assert newest.occurred_at == clock.now() and newest.occurred_at.utcoffset() == timedelta(0)


def snapshot(connection, table) -> list[tuple]:
    return [tuple(row) for row in connection.execute(select(table).order_by(*table.primary_key.columns))]


async def write_cases(services, clock, dialect: str) -> list[tuple]:
    """Each marked write, with parameters as the repositories send them."""
    member = await services.members.ensure("w1", "直写")
    assert (await services.points.adjust(STAFF, member.id, 10, "m", "seed")).error is None
    now, later = clock.now(), clock.now() + timedelta(days=30)
    lot = next(iter((await services.transactions.read(lambda uow: uow.members.lock(member.id))).account.lots))
    return [
        (INSERT_ENTRY, ledger_entries, {"member_id": member.id, "delta": 5, "balance_after": 15, "reason": "ADJUSTMENT",
                                        "occurred_at": now, "expires_at": later, "memo": "备注", "actor": "staff:x",
                                        "ref": None}),
        (SAVE_ACCOUNT, members, {"member_key": member.id, "balance": 15, "held": 0, "growth": 15, "pending": 0,
                                 "debt": 0, "lifetime_earned": 15, "tier_level": 1, "next_due_at": later}),
        (lot_upsert(dialect), point_lots, {"member_id": member.id, "expires_at": lot, "remaining": 3}),
        (lot_upsert(dialect), point_lots, {"member_id": member.id, "expires_at": later, "remaining": 4}),
        (DELETE_LOT, point_lots, {"member_id": member.id, "expires_at": lot}),
        (score_upsert(dialect), leaderboard_scores, {"period": "DAY", "starts_on": now.date(), "member_id": member.id,
                                                     "points": 7}),
        (score_upsert(dialect, 2), leaderboard_scores, {
            "period_0": "DAY", "starts_on_0": now.date(), "member_id_0": member.id, "points_0": 3,
            "period_1": "ALL_TIME", "starts_on_1": date(2000, 1, 1), "member_id_1": member.id, "points_1": 4}),
        (badge_insert(dialect), member_badges, {"member_id": member.id, "code": "FIRST_CHECK_IN", "awarded_at": now}),
        (INSERT_CHECK_IN, check_ins, {"member_id": member.id, "local_date": now.date(), "streak": 2,
                                      "checked_in_at": now}),
        (INSERT_RECORD, idempotency_keys, {"scope": "member:w1", "key": "新", "fingerprint": "f", "result": {"a": [1]},
                                           "created_at": now}),
    ], member


async def test_each_direct_write_changes_and_returns_what_sqlalchemy_does(sqlite_services, clock):
    services = sqlite_services
    cases, member = await write_cases(services, clock, "sqlite")
    now = clock.now()
    connection = services.database.inline_writes.connection()
    driver = connection.connection.driver_connection
    for statement, table, parameters in cases:
        answers = []
        for way in ("sqlalchemy", "direct"):
            with connection.begin() as transaction:
                if way == "sqlalchemy":
                    result = connection.execute(statement, parameters)
                    returned = result.all() if result.returns_rows else []
                    count = result.rowcount
                else:
                    result = DirectStatement(statement, connection.dialect, tuple(parameters)).run(driver, parameters)
                    returned, count = result.all(), result.rowcount
                answers.append(([tuple(r) for r in returned], count, snapshot(connection, table)))
                transaction.rollback()
        assert answers[0] == answers[1], statement
    with connection.begin() as transaction:  # a second badge is no row, and a duplicate key is SQLAlchemy's error
        badge = DirectStatement(badge_insert("sqlite"), connection.dialect, ("member_id", "code", "awarded_at"))
        first = {"member_id": member.id, "code": "FIRST_ORDER", "awarded_at": now}
        assert badge.run(driver, first).first() is not None and badge.run(driver, first).first() is None
        record = DirectStatement(INSERT_RECORD, connection.dialect, tuple(cases[-1][2]))
        record.run(driver, cases[-1][2])
        with pytest.raises(Exception) as raised:
            record.run(driver, cases[-1][2])
        assert type(raised.value).__name__ == "IntegrityError" and isinstance(raised.value.orig, sqlite3.Error)
        transaction.rollback()


def test_a_statement_with_defaults_computed_in_python_is_left_to_sqlalchemy():
    from sqlalchemy import Column, Integer, MetaData, Table, insert
    from sqlalchemy.dialects import sqlite
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("n", Integer, default=lambda: 1))
    with pytest.raises(ValueError):
        DirectStatement(insert(table), sqlite.dialect(), ("id",))


async def test_the_writer_sees_rules_changed_by_another_connection_at_once(sqlite_services, clock):
    """The writer keeps committed rules in memory; a change committed elsewhere (another process) is seen
    by the very next write, not a second later."""
    services = sqlite_services
    member = await services.members.ensure("rules", "规则")
    actor = Actor("member", "rules")
    first = await services.check_in.check_in(actor, member.id, "day-1")
    assert first.entry.delta == 10
    database = services.database.url.split("///", 1)[1]
    with sqlite3.connect(database) as elsewhere:  # as another process would
        elsewhere.execute("""INSERT INTO settings (key, value, updated_at, updated_by) VALUES ('check_in',
                             '{"basePoints": 3, "streakBonuses": []}', '2026-01-01 00:00:00', 'cli')
                             ON CONFLICT (key) DO UPDATE SET value = excluded.value""")
    clock.advance(timedelta(days=1))
    assert (await services.check_in.check_in(actor, member.id, "day-2")).entry.delta == 3


def test_times_are_written_as_sqlalchemy_s_sqlite_datetime_writes_them():
    """Stored times compare as text in SQL: the fast writer must produce SQLAlchemy's exact text."""
    from datetime import UTC, datetime, timezone

    from sqlalchemy import DateTime
    from sqlalchemy.dialects import sqlite

    from persistence.tables import UtcDateTime
    dialect = sqlite.dialect()
    sqlalchemy_s = DateTime().dialect_impl(dialect).bind_processor(dialect)
    ours = UtcDateTime().dialect_impl(dialect).bind_processor(dialect)
    for moment in (datetime(2026, 12, 5, 7, 31, 33, 880873, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC),
                   datetime(2026, 1, 1, 8, tzinfo=timezone(timedelta(hours=8))),
                   datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)):
        assert ours(moment) == sqlalchemy_s(moment.astimezone(UTC).replace(tzinfo=None))
    assert ours(None) is None
    with pytest.raises(ValueError):
        ours(datetime(2026, 1, 1))


# PostgreSQL: the same statements on asyncpg itself.

# What a row keeps of the transaction that wrote it differs from one run of a statement to the next.
PER_TRANSACTION = {"xact_id"}


async def snapshot_async(connection, table) -> list[tuple]:
    kept = [column for column in table.columns if column.name not in PER_TRANSACTION]
    return [tuple(row) for row in await connection.execute(select(*kept).order_by(*table.primary_key.columns))]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_on_postgresql_each_direct_statement_answers_and_changes_what_sqlalchemy_does(services, clock):
    cases, member = await write_cases(services, clock, "postgresql")
    reads = [(MEMBER_BY_ID, {"member_id": member.id}), (LOCK_MEMBER, {"member_id": member.id}),
             (MEMBER_BY_EXTERNAL_ID, {"external_id": "w1"}), (LIVE_LOTS, {"member_id": member.id}),
             (FIRST_PAGE, {"member_id": member.id, "limit": 3}), (LATEST_OF_ONE, {"member_id": member.id}),
             (NOT_ENDED, {"at": clock.now()}), (ALL_SETTINGS, {})]
    async with services.database.write_engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        for statement, table, parameters in [(s, None, p) for s, p in reads] + cases:
            answers = []
            for way in ("sqlalchemy", "direct"):
                async with connection.begin() as transaction:
                    await connection.execute(select(1))  # SQLAlchemy begins the transaction
                    if way == "sqlalchemy":
                        result = await connection.execute(statement, parameters)
                        returned, count = (result.all() if result.returns_rows else []), result.rowcount
                    else:
                        keys = tuple(parameters) if table is not None else ()
                        result = await DirectStatement(statement, connection.dialect, keys).run_on_asyncpg(
                            driver, parameters)
                        returned, count = result.all(), result.rowcount
                    after = await snapshot_async(connection, table) if table is not None else None
                    returned = [tuple(r) for r in returned]
                    if table is ledger_entries:  # a sequence does not roll back: ids differ, nothing else
                        returned, after = len(returned), [row[1:] for row in after]
                    answers.append((returned, count if table is not None else None, after))
                    await transaction.rollback()
            assert answers[0] == answers[1], statement
        async with connection.begin() as transaction:  # a duplicate key is SQLAlchemy's IntegrityError
            await connection.execute(select(1))
            record = DirectStatement(INSERT_RECORD, connection.dialect, tuple(cases[-1][2]))
            await record.run_on_asyncpg(driver, cases[-1][2])
            with pytest.raises(IntegrityError) as raised:
                await record.run_on_asyncpg(driver, cases[-1][2])
            assert raised.value.orig.sqlstate == "23505"
            await transaction.rollback()
