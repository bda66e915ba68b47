"""SQLite's known idempotency keys (persistence/idempotency.py, KnownKeys): a refusal at the gate tells a
fresh key from a used one without reading the database, and never takes a used key for a fresh one.

(Replaying a winning key after the sale sold out, over HTTP on both databases: tests/test_admission.py.)
"""
import asyncio

import pytest

from api.ops.services import Services
from domain.configuration import Actor
from tests.conftest import SqliteStatements


@pytest.fixture
def services(sqlite_services):
    return sqlite_services


async def used(services, actor: Actor, key: str) -> bool:
    return await services.transactions.read(lambda uow: uow.idempotency.used(actor.label, key))


class KeyReads(SqliteStatements):
    """The statements SQLite's readers run on the idempotency table, as SQLite reports them."""

    def __init__(self, services) -> None:
        super().__init__(services.database.inline_reads)

    @property
    def count(self) -> int:
        return sum("idempotency_keys" in statement for statement in self.statements)


async def checked_in(services, external_id: str, key: str) -> Actor:
    member = await services.members.ensure(external_id, "键")
    actor = Actor("member", external_id)
    assert (await services.check_in.check_in(actor, member.id, key)).error is None
    return actor


async def test_a_caller_s_keys_are_read_once_then_answered_from_memory(services):
    actor = await checked_in(services, "kk-once", "day-1")
    with KeyReads(services) as reads:
        assert await used(services, actor, "day-1")
        assert not await used(services, actor, "fresh")
        assert not await used(services, actor, "fresh again")
    assert reads.count == 1


async def test_a_key_recorded_after_the_keys_were_read_is_known_as_used(services, clock):
    from datetime import timedelta

    actor = await checked_in(services, "kk-later", "day-1")
    assert not await used(services, actor, "day-2")
    clock.advance(timedelta(days=1))
    member = await services.members.find("kk-later")
    assert (await services.check_in.check_in(actor, member.id, "day-2")).error is None
    with KeyReads(services) as reads:
        assert await used(services, actor, "day-2")
    assert reads.count == 0


async def test_a_key_still_being_committed_when_the_keys_are_read_counts_as_used(services):
    """Units of one loop turn commit together in the next: a read in between sees the database without
    them, and must still never learn the caller's keys without the one being committed."""
    member = await services.members.ensure("kk-race", "键")
    actor = Actor("member", "kk-race")
    written, seen = await asyncio.gather(services.check_in.check_in(actor, member.id, "racing"),
                                         used(services, actor, "racing"))
    assert written.error is None and seen
    assert await used(services, actor, "racing")


async def test_keys_another_process_recorded_are_seen_once_this_one_writes(services, clock):
    """Another process writing the database (it should not, while a server serves it: `jifen serve`
    refuses a second server) moves SQLite's data_version; the writer's next transaction notices and
    forgets every caller's keys."""
    from datetime import timedelta

    actor = await checked_in(services, "kk-other", "day-1")
    assert not await used(services, actor, "elsewhere")
    other = Services.build(services.database.url, clock)
    try:
        clock.advance(timedelta(days=1))
        member = await other.members.find("kk-other")
        assert (await other.check_in.check_in(actor, member.id, "elsewhere")).error is None
    finally:
        await other.close()
    await checked_in(services, "kk-someone", "own")  # any write of this process
    assert await used(services, actor, "elsewhere")
