"""Recompute every balance from its entries and report each member whose stored state disagrees.

The check is set-based: a batch of members at a time, each batch a handful of grouped queries in
one read transaction (the running ``balanceAfter`` chain by a window sum). A member a batch flags is
checked again on its own under a share lock, so a write landing between two of the batch's queries
is never reported as a disagreement; only what the locked check confirms is.

``since_last`` checks only the members with entries after the last entry a clean run verified
(their whole history and sums), reaching ``LATE_COMMITS`` entries further back for a transaction
that took its entry id before that run and committed after it; holds or pending orders that
changed without an entry wait for the next full run.

The day summaries analytics read are checked against the entries too (every day, or the days from
the first entry a ``since_last`` run covers).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from domain.clock import Clock
from domain.day_summaries import DaySummaries, Verification
from domain.progress import Progress
from domain.ledger import audit_account, audit_totals
from domain.ports import Transactions, UnitOfWork

BATCH = 2000
MARK_KEY = "reconciliation"
LATE_COMMITS = 10_000


@dataclass
class ReconciliationReport:
    members_checked: int = 0
    problems: dict[int, list[str]] = field(default_factory=dict)
    verified_through: int = 0  # the last ledger entry this run covered
    since_entry: int | None = None  # an incremental run: entries after this one
    summaries: Verification = field(default_factory=lambda: Verification([]))

    @property
    def ok(self) -> bool:
        return not self.problems and not self.summaries.disagreements


class Reconciliation:
    def __init__(self, transactions: Transactions, clock: Clock, late_commits: int = LATE_COMMITS) -> None:
        self.transactions = transactions
        self.clock = clock
        self.late_commits = late_commits

    async def run(self, *, since_last: bool = False, progress: Progress | None = None) -> ReconciliationReport:
        report = ReconciliationReport()
        report.verified_through = await self.transactions.read(lambda uow: uow.ledger.last_entry_id())
        if since_last:
            mark = await self.transactions.read(lambda uow: uow.settings.get(MARK_KEY))
            report.since_entry = max(0, mark["lastEntryId"] - self.late_commits) if mark else None
        total = None if report.since_entry is not None else await self.transactions.read(
            lambda uow: uow.ledger.member_count())
        # The summaries are checked beside the members, on a connection of their own: on two cores
        # the slower of the two sets the time, not their sum.
        summaries = asyncio.create_task(DaySummaries(self.transactions, self.clock).verify(report.since_entry))
        try:
            after = 0
            while member_ids := await self.transactions.read(lambda uow: self._next_batch(uow, report, after)):
                await self._check(member_ids, report)
                after = member_ids[-1]
                if progress is not None:
                    progress(report.members_checked, total)
        except BaseException:
            summaries.cancel()
            raise
        report.summaries = await summaries
        if report.ok:
            await self._remember(report)
        return report

    @staticmethod
    async def _next_batch(uow: UnitOfWork, report: ReconciliationReport, after: int) -> list[int]:
        if report.since_entry is None:
            return await uow.ledger.member_ids(after, BATCH)
        return await uow.ledger.members_with_entries_after(report.since_entry, after, BATCH)

    async def _check(self, member_ids: list[int], report: ReconciliationReport) -> None:
        whole_range = report.since_entry is None  # a full run's batch is every member in its id range
        totals = await self.transactions.read(
            lambda uow: uow.ledger.audit_totals(member_ids, whole_range=whole_range), heavy=True)
        report.members_checked += len(totals)
        for flagged in (t.member_id for t in totals if audit_totals(t)):
            snapshot = await self.transactions.read(lambda uow, m=flagged: uow.ledger.audit_snapshot(m), heavy=True)
            if problems := audit_account(snapshot):
                report.problems[flagged] = problems

    async def _remember(self, report: ReconciliationReport) -> None:
        """A clean run's last entry, where the next ``since_last`` run starts."""
        record = {"lastEntryId": report.verified_through, "membersChecked": report.members_checked}

        async def work(uow: UnitOfWork) -> None:
            await uow.settings.put(MARK_KEY, record, "system:check", self.clock.now())

        await self.transactions.write(work)
