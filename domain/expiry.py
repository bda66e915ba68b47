"""The sweep: release orders past their return window, release holds whose time ran out, and
expire due lots (first earned, first expired)."""
from __future__ import annotations

from dataclasses import dataclass

from domain.brand import brand_settings
from domain.clock import Clock
from domain.configuration import SYSTEM
from domain.idempotency import RETENTION
from domain.orders import release_due_orders
from domain.ports import Transactions, UnitOfWork
from domain.tiers import tier_table

BATCH = 200


@dataclass
class SweepReport:
    orders_released: int = 0
    members_expired: int = 0
    points_expired: int = 0
    holds_released: int = 0
    idempotency_keys_purged: int = 0


class ExpirySweep:
    """Safe to run from several processes at once: each member is handled under its own lock."""

    def __init__(self, transactions: Transactions, clock: Clock) -> None:
        self.transactions = transactions
        self.clock = clock

    async def run(self) -> SweepReport:
        report = SweepReport()
        now = self.clock.now()
        await self._release_due_orders(report)
        await self._release_due_holds(report)
        after = 0
        while member_ids := await self.transactions.read(
                lambda uow: uow.ledger.members_with_lots_due(now, after, BATCH)):
            for member_id in member_ids:
                points = await self.transactions.write(lambda uow, m=member_id: self._expire_member(uow, m))
                if points:
                    report.members_expired += 1
                    report.points_expired += points
            after = member_ids[-1]
        report.idempotency_keys_purged = await self.transactions.write(
            lambda uow: uow.idempotency.purge_before(now - RETENTION))
        return report

    async def _expire_member(self, uow: UnitOfWork, member_id: int) -> int:
        member = await uow.members.lock(member_id)
        if member is None:
            return 0
        entries = member.account.expire_due(self.clock.now(), SYSTEM.label + ":expiry")
        if entries:
            member.refresh_tier(await tier_table(uow), self.clock.now())
            await uow.members.save(member)
        return -sum(e.delta for e in entries)

    async def _release_due_orders(self, report: SweepReport) -> None:
        after = 0
        while member_ids := await self.transactions.read(
                lambda uow: uow.orders.members_with_due(self.clock.now(), after, BATCH)):
            for member_id in member_ids:
                report.orders_released += await self.transactions.write(
                    lambda uow, m=member_id: self._release_orders(uow, m))
            after = member_ids[-1]

    async def _release_orders(self, uow: UnitOfWork, member_id: int) -> int:
        member = await uow.members.lock(member_id)
        if member is None:
            return 0
        now = self.clock.now()
        due = await release_due_orders(uow, member, now, (await brand_settings(uow)).expiry_for(now))
        if due:
            member.refresh_tier(await tier_table(uow), now)
            await uow.members.save(member)
        return due

    async def _release_due_holds(self, report: SweepReport) -> None:
        while holds := await self.transactions.read(lambda uow: uow.ledger.holds_due(self.clock.now(), BATCH)):
            for hold in holds:
                report.holds_released += await self.transactions.write(
                    lambda uow, h=hold: self._release(uow, h.member_id, h.id))

    async def _release(self, uow: UnitOfWork, member_id: int, hold_id: int) -> int:
        member = await uow.members.lock(member_id)
        hold = await uow.ledger.hold(hold_id)
        if member is None or hold is None or not hold.is_due(self.clock.now()):
            return 0  # confirmed, cancelled or released by someone else meanwhile
        member.account.release_hold(hold, self.clock.now(), expired=True)
        await uow.members.save(member)
        return 1
