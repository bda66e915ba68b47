"""PostgreSQL's direct reads (persistence/database.py DirectReads): reads of direct statements on asyncpg
connections of their own, at most `size` of them, replaced when the server drops one or a read is
cancelled mid-statement, closed with the database."""
import asyncio

import pytest

from tests.conftest import _admin

only_postgresql = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@only_postgresql
async def test_many_concurrent_reads_share_at_most_size_connections(services):
    direct = services.database.direct_reads
    member = await services.members.ensure("dr-many", "直读")
    found = await asyncio.gather(*(services.members.find("dr-many") for _ in range(50)))
    assert {m.id for m in found} == {member.id}
    assert 1 <= direct.opened <= direct.size and len(direct.idle) == direct.opened
    assert not direct.waiting


@only_postgresql
async def test_a_waiting_reader_gets_the_connection_given_back(services):
    direct = services.database.direct_reads
    taken = [await direct.take() for _ in range(direct.size)]
    waiter = asyncio.ensure_future(direct.take())
    await asyncio.sleep(0.05)
    assert not waiter.done()
    direct.give_back(taken[0])
    assert await asyncio.wait_for(waiter, 5) is taken[0]
    for driver in [waiter.result(), *taken[1:]]:
        direct.give_back(driver)
    assert direct.opened == direct.size and len(direct.idle) == direct.size


@only_postgresql
async def test_a_waiting_reader_opens_a_new_connection_when_a_broken_one_is_given_back(services):
    direct = services.database.direct_reads
    taken = [await direct.take() for _ in range(direct.size)]
    waiter = asyncio.ensure_future(direct.take())
    cancelled = asyncio.ensure_future(direct.take())
    await asyncio.sleep(0.05)
    cancelled.cancel()
    direct.give_back(taken[0], broken=True)
    fresh = await asyncio.wait_for(waiter, 5)
    assert fresh is not taken[0] and taken[0].is_closed() and await fresh.fetchval("SELECT 1") == 1
    for driver in [fresh, *taken[1:]]:
        direct.give_back(driver)
    assert direct.opened == direct.size


@only_postgresql
async def test_connections_the_server_dropped_are_replaced_and_the_read_answers(services, database_url):
    member = await services.members.ensure("dr-dropped", "直读")
    await asyncio.gather(*(services.members.find("dr-dropped") for _ in range(10)))
    name = database_url.rsplit("/", 1)[1]
    await _admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
    assert (await services.members.find("dr-dropped")).id == member.id
    assert (await services.members.find("dr-dropped")).id == member.id


@only_postgresql
async def test_reads_cancelled_mid_statement_do_not_hand_their_connection_on(services):
    direct = services.database.direct_reads
    await services.members.ensure("dr-cancel", "直读")
    for delay in (0, 0.0005, 0.001, 0.002, 0.004):
        reads = [asyncio.ensure_future(services.members.find("dr-cancel")) for _ in range(20)]
        await asyncio.sleep(delay)
        for read in reads[::2]:
            read.cancel()
        answers = await asyncio.gather(*reads, return_exceptions=True)
        assert all(isinstance(a, asyncio.CancelledError) or a.external_id == "dr-cancel" for a in answers)
        assert len(direct.idle) == direct.opened <= direct.size
        for driver in direct.idle:
            assert await driver.fetchval("SELECT 1") == 1  # none left mid-protocol


@only_postgresql
async def test_dispose_closes_every_direct_connection(database_url, clock):
    from api.ops.services import Services

    built = Services.build(database_url, clock)
    await built.members.ensure("dr-close", "直读")
    await asyncio.gather(*(built.members.find("dr-close") for _ in range(5)))
    opened = list(built.database.direct_reads.idle)
    assert opened
    await built.close()
    assert all(driver.is_closed() for driver in opened) and built.database.direct_reads.opened == 0
