"""Group commit on SQLite (persistence/unit_of_work.py, SharedCommit): units of work that reach the writer
in one turn of the event loop, or the turn after, share one transaction and one COMMIT, each in its own
savepoint.

What must hold: every unit's effect is there once its caller is answered; a unit that fails is rolled
back alone; a COMMIT that fails fails every unit in it and keeps nothing of them; the writer goes on
after either. (A server killed mid-rush keeps every acknowledged answer: tests/test_cross_process.py.)
"""
import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from domain.configuration import Actor
from domain.errors import Conflict
from tests.conftest import SqliteStatements

STAFF = Actor("staff", "ops")


@pytest.fixture
def services(sqlite_services):
    return sqlite_services


class Commits(SqliteStatements):
    """The COMMITs SQLite's writer runs, as SQLite reports them."""

    def __init__(self, services) -> None:
        super().__init__(services.database.inline_writes)

    @property
    def count(self) -> int:
        return sum(s.strip().upper() == "COMMIT" for s in self.statements)


async def members(services, n: int) -> list[int]:
    found = [await services.members.ensure(f"g-{i}", f"成员{i}") for i in range(n)]
    return [m.id for m in found]


async def available(services, member_id: int) -> int:
    return (await services.transactions.read(lambda uow: uow.members.get(member_id))).account.available


async def test_units_that_arrive_together_share_one_commit_and_each_sees_its_effect(services):
    ids = await members(services, 20)
    with Commits(services) as commits:
        outcomes = await asyncio.gather(*(services.points.adjust(STAFF, i, 7, "m", f"k{i}") for i in ids))
    assert all(o.error is None for o in outcomes)
    assert commits.count < len(ids) / 2  # shared, not one per unit
    assert [await available(services, i) for i in ids] == [7] * 20
    assert (await services.reconciliation.run()).ok


async def test_a_unit_that_arrives_a_turn_later_joins_the_commit(services):
    """The requests read from the sockets while a batch's units run start in the next turn: they join."""
    first, second = await members(services, 2)

    async def a_turn_later():
        await asyncio.sleep(0)
        return await services.points.adjust(STAFF, second, 6, "m", "b")

    with Commits(services) as commits:
        answers = await asyncio.gather(services.points.adjust(STAFF, first, 5, "m", "a"), a_turn_later())
    assert [a.error for a in answers] == [None, None] and commits.count == 1
    assert (await available(services, first), await available(services, second)) == (5, 6)


async def test_a_transaction_sqlite_ended_under_a_unit_never_takes_the_next_one_with_it(services):
    """SQLite ends the whole transaction under a unit (a full disk): that batch is rolled back at once
    and the next unit begins another; the first batch's late commit must leave the second alone."""
    first, second = await members(services, 2)

    async def ends_the_transaction(uow):
        uow.connection.connection.connection.driver_connection.execute("ROLLBACK")  # as SQLITE_FULL does
        raise RuntimeError("disk full")

    answers = await asyncio.gather(services.points.adjust(STAFF, first, 5, "m", "a"),
                                   services.transactions.write(ends_the_transaction),
                                   services.points.adjust(STAFF, second, 6, "m", "b"), return_exceptions=True)
    assert isinstance(answers[0], Exception) and isinstance(answers[1], RuntimeError)  # lost with its batch
    assert answers[2].error is None
    assert (await available(services, first), await available(services, second)) == (0, 6)
    assert (await services.reconciliation.run()).ok


async def test_a_failing_unit_is_rolled_back_alone(services):
    first, second = await members(services, 2)

    async def fails(uow):
        await uow.audit.record("staff:ops", "doomed", "x", {}, services.clock.now())
        raise RuntimeError("a unit that fails halfway")

    with Commits(services) as commits:
        answers = await asyncio.gather(services.points.adjust(STAFF, first, 5, "m", "a"),
                                       services.transactions.write(fails),
                                       services.points.adjust(STAFF, second, 6, "m", "b"), return_exceptions=True)
    assert isinstance(answers[1], RuntimeError) and answers[0].error is None and answers[2].error is None
    assert commits.count == 1
    assert (await available(services, first), await available(services, second)) == (5, 6)
    doomed = await services.transactions.read(
        lambda uow: uow.connection.scalar(text("SELECT count(*) FROM audit_log WHERE action = 'doomed'")))
    assert doomed == 0


async def test_a_commit_that_fails_fails_every_unit_in_it_and_keeps_nothing(services):
    first, second = await members(services, 2)

    async def breaks_the_commit(uow):
        # A row no member owns, its check put off to the COMMIT: the shared COMMIT fails.
        await uow.connection.execute(text("PRAGMA defer_foreign_keys = ON"))
        await uow.connection.execute(text("INSERT INTO check_ins (member_id, local_date, streak, checked_in_at) "
                                          "VALUES (987654, '2026-01-01', 1, '2026-01-01 00:00:00')"))

    answers = await asyncio.gather(services.points.adjust(STAFF, first, 5, "m", "a"),
                                   services.transactions.write(breaks_the_commit),
                                   services.points.adjust(STAFF, second, 6, "m", "b"), return_exceptions=True)
    assert all(isinstance(a, IntegrityError) for a in answers), answers
    assert (await available(services, first), await available(services, second)) == (0, 0)
    again = await services.points.adjust(STAFF, first, 5, "m", "a")  # the same key: it was never used
    assert again.error is None and await available(services, first) == 5
    assert (await services.reconciliation.run()).ok


async def test_a_failed_unit_is_answered_after_the_commit_so_a_retry_reads_what_came_before_it(services):
    """Use cases that read outside the writer and verify under the lock (a 拼团 join's participants)
    start over on a Conflict: the read they start over with must see the units committed with theirs."""
    async def writes(uow):
        await uow.audit.record("staff:ops", "before", "x", {}, services.clock.now())

    async def conflicts(uow):
        raise Conflict()

    async def starts_over():
        with pytest.raises(Conflict):
            await services.transactions.write(conflicts)
        return await services.transactions.read(
            lambda uow: uow.connection.scalar(text("SELECT count(*) FROM audit_log WHERE action = 'before'")))

    _, seen = await asyncio.gather(services.transactions.write(writes), starts_over())
    assert seen == 1
