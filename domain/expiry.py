"""What falls due with time, settled per member: orders past their return window are released,
holds past their timeout are released, lots past their expiry expire (first earned, first
expired), and a tier whose upkeep date has come is judged.

Each member row carries ``next_due_at``, the earliest such moment. The sweep visits the members
whose moment has passed; a member's own writes settle them first; and reading a member whose
moment has passed settles them before answering, so a balance on screen is never one that a
spend would refuse.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from domain.brand import BrandSettings, brand_settings
from domain.checkout import expire_checkout_for
from domain.clock import Clock
from domain.configuration import SYSTEM
from domain.idempotency import RETENTION
from domain.leaderboards import record_scores
from domain.notifications import on_tier_refreshed
from domain.orders import release_due_orders
from domain.partners import expire_exchange_for
from domain.progress import Progress, unreported
from domain.task_tickets import CLOCK_SKEW, TICKET_LIFETIME
from domain.tiers import tier_table

if TYPE_CHECKING:
    from domain.members import Member
    from domain.ports import Transactions, UnitOfWork

BATCH = 200


@dataclass
class SettleReport:
    orders_released: int = 0
    holds_released: int = 0
    points_expired: int = 0
    upkeep_judged: bool = False
    tier_lowered: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.orders_released or self.holds_released or self.points_expired or self.upkeep_judged)


async def settle_due(uow: "UnitOfWork", member: "Member", now: datetime, brand: BrandSettings) -> SettleReport:
    """Apply to a locked member everything that fell due by ``now``, in memory (the caller saves)."""
    report = SettleReport()
    account = member.account
    if account.pending:
        report.orders_released = await release_due_orders(uow, member, now, brand.expiry_for(now))
    if account.held:
        for hold in await uow.ledger.active_holds_due(member.id, now):
            account.release_hold(hold, now, expired=True)
            await expire_checkout_for(uow, member, hold, now)
            await expire_exchange_for(uow, hold, now)
            report.holds_released += 1
    report.points_expired = -sum(e.delta for e in account.expire_due(now, SYSTEM.label + ":expiry"))
    if member.upkeep_due(now):
        before = (member.tier_level, member.keep_until)
        member.apply_upkeep(await tier_table(uow), now)
        report.upkeep_judged = (member.tier_level, member.keep_until) != before
        report.tier_lowered = member.tier_level < before[0]
    return report


async def settle_member(uow: "UnitOfWork", member_id: int, now: datetime) -> SettleReport:
    """Lock, settle and save one member; a member with nothing due is left untouched."""
    member = await uow.members.lock(member_id)
    if member is None:
        return SettleReport()
    brand = await brand_settings(uow)
    report = await settle_due(uow, member, now, brand)
    if report.changed:
        member.refresh_tier(await tier_table(uow), now)
        await on_tier_refreshed(uow, member, now)
        await record_scores(uow, member, brand)  # a released order earns in the period it is released
    await uow.members.save(member)  # also moves next_due_at on, when only protected lots were due
    return report


@dataclass
class SweepReport:
    members_settled: int = 0
    orders_released: int = 0
    holds_released: int = 0
    points_expired: int = 0
    tiers_lowered: int = 0
    idempotency_keys_purged: int = 0


class ExpirySweep:
    """Safe to run from several processes at once: each member is settled under its own lock."""

    def __init__(self, transactions: "Transactions", clock: Clock) -> None:
        self.transactions = transactions
        self.clock = clock

    async def run(self, progress: Progress = unreported) -> SweepReport:
        """Settle each member with something due, a transaction each (``progress``: members visited);
        a crash leaves the rest due for the next run."""
        report = SweepReport()
        now = self.clock.now()
        after, visited = 0, 0
        while member_ids := await self.transactions.read(lambda uow: uow.members.due_ids(now, after, BATCH)):
            for member_id in member_ids:
                settled = await self.transactions.write(lambda uow, m=member_id: settle_member(uow, m, now))
                report.members_settled += settled.changed
                report.orders_released += settled.orders_released
                report.holds_released += settled.holds_released
                report.points_expired += settled.points_expired
                report.tiers_lowered += settled.tier_lowered
            after = member_ids[-1]
            visited += len(member_ids)
            progress(visited, None)
        report.idempotency_keys_purged = await self.transactions.write(
            lambda uow: uow.idempotency.purge_before(now - RETENTION))
        await self.transactions.write(lambda uow: uow.tasks.purge_ticket_nonces(now - TICKET_LIFETIME - CLOCK_SKEW))
        return report
