"""The ledger on real databases: holds, expiry, the sweep, immutability and reconciliation."""
import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from domain.configuration import Actor
from domain.errors import ErrorCode
from domain.ledger import HoldStatus, LedgerReason

STAFF = Actor("staff", "ops")
SHOP = Actor("system", "shop")


async def member_with(services, external_id, points, key="seed"):
    member = await services.members.ensure(external_id)
    if points:
        outcome = await services.points.adjust(STAFF, member.id, points, "seed", key)
        assert outcome.error is None
    return member


async def points_of(services, member_id):
    member = await services.transactions.read(lambda uow: uow.members.get(member_id))
    return member.account


async def test_hold_then_settle_writes_one_entry(services):
    member = await member_with(services, "h1", 100)
    placed = await services.points.place_hold(SHOP, member.id, 70, LedgerReason.CHECKOUT, timedelta(minutes=15), "h")
    assert placed.hold.status is HoldStatus.ACTIVE and placed.entries == []
    account = await points_of(services, member.id)
    assert (account.balance, account.held, account.available) == (100, 70, 30)
    refused = await services.points.place_hold(SHOP, member.id, 31, LedgerReason.CHECKOUT, timedelta(minutes=1), "h2")
    assert refused.error.code is ErrorCode.INSUFFICIENT_POINTS
    settled = await services.points.settle_hold(SHOP, member.id, placed.hold.id, "s")
    assert settled.entry.delta == -70 and settled.entry.reason is LedgerReason.CHECKOUT
    assert settled.entry.ref == f"hold:{placed.hold.id}"
    account = await points_of(services, member.id)
    assert (account.balance, account.held) == (30, 0)
    assert (await services.reconciliation.run()).ok


async def test_concurrent_settle_and_release_resolve_a_hold_once(services):
    member = await member_with(services, "h2", 100)
    hold = (await services.points.place_hold(SHOP, member.id, 100, LedgerReason.CHECKOUT,
                                             timedelta(minutes=15), "h")).hold
    attempts = [services.points.settle_hold(SHOP, member.id, hold.id, f"s{i}") if i % 2 else
                services.points.release_hold(SHOP, member.id, hold.id, f"r{i}") for i in range(40)]
    outcomes = await asyncio.gather(*attempts)
    winners = [o for o in outcomes if o.error is None]
    assert len(winners) == 1
    assert {o.error.code for o in outcomes if o.error} == {ErrorCode.HOLD_NOT_ACTIVE}
    account = await points_of(services, member.id)
    assert account.held == 0 and account.balance in (0, 100)
    assert (await services.reconciliation.run()).ok


async def test_sweep_releases_timed_out_holds(services, clock):
    member = await member_with(services, "h3", 50)
    hold = (await services.points.place_hold(SHOP, member.id, 50, LedgerReason.CHECKOUT,
                                             timedelta(minutes=15), "h")).hold
    assert (await services.expiry.run()).holds_released == 0
    clock.advance(timedelta(minutes=15))
    assert (await services.expiry.run()).holds_released == 1
    assert (await services.transactions.read(lambda uow: uow.ledger.hold(hold.id))).status is HoldStatus.EXPIRED
    assert (await points_of(services, member.id)).available == 50
    late = await services.points.settle_hold(SHOP, member.id, hold.id, "late")
    assert late.error.code is ErrorCode.HOLD_NOT_ACTIVE


async def test_points_expire_first_earned_first_expired(services, clock):
    # START is 2026-03-12: points earned now expire at the end of March 2027 (Shanghai).
    member = await member_with(services, "e1", 100, "march")
    clock.set(datetime(2026, 4, 20, tzinfo=UTC))
    await services.points.adjust(STAFF, member.id, 40, "april", "april")
    await services.points.adjust(STAFF, member.id, -30, "spend", "spend")  # from the March lot
    assert await services.points_queries.expiring_soon(member.id, 30) == 0
    clock.set(datetime(2027, 3, 15, tzinfo=UTC))
    assert await services.points_queries.expiring_soon(member.id, 30) == 70
    clock.set(datetime(2027, 3, 31, 16, tzinfo=UTC))  # midnight, April 1st in Shanghai
    report = await services.expiry.run()
    assert (report.members_settled, report.points_expired) == (1, 70)
    account = await points_of(services, member.id)
    assert account.balance == 40 and account.growth == 0
    entries = await services.transactions.read(lambda uow: uow.ledger.entries_page(member.id, None, 10, None))
    assert (entries[0].reason, entries[0].delta, entries[0].balance_after) == (LedgerReason.EXPIRY, -70, 40)
    assert (await services.expiry.run()).points_expired == 0  # a second sweep finds nothing
    assert (await services.reconciliation.run()).ok


async def test_expired_points_cannot_be_spent_even_before_the_sweep(services, clock):
    member = await member_with(services, "e2", 100)
    clock.set(datetime(2027, 4, 2, tzinfo=UTC))
    spend = await services.points.adjust(STAFF, member.id, -1, "too late", "late")
    assert spend.error.code is ErrorCode.INSUFFICIENT_POINTS
    entries = await services.transactions.read(lambda uow: uow.ledger.entries_page(member.id, None, 10, None))
    assert entries[0].reason is LedgerReason.EXPIRY  # the refusal still recorded the expiry it found


async def test_ledger_entries_cannot_be_edited_or_deleted(services):
    await member_with(services, "imm", 10)
    for statement in ("UPDATE ledger_entries SET delta = 1000", "DELETE FROM ledger_entries"):
        with pytest.raises(DBAPIError, match="immutable"):
            async with services.database.write_engine.begin() as connection:
                await connection.execute(text(statement))


async def test_the_database_refuses_a_negative_available_balance(services):
    member = await member_with(services, "neg", 10)
    with pytest.raises(DBAPIError):
        async with services.database.write_engine.begin() as connection:
            await connection.execute(text("UPDATE members SET held = 11 WHERE id = :id"), {"id": member.id})


async def test_reconciliation_catches_a_tampered_balance(services):
    member = await member_with(services, "tamper", 10)
    async with services.database.write_engine.begin() as connection:
        await connection.execute(text("UPDATE members SET balance = 15 WHERE id = :id"), {"id": member.id})
    report = await services.reconciliation.run()
    assert report.problems == {member.id: ["balance 15 but entries sum to 10", "balance 15 but lots hold 10"]}
