"""Recompute every balance from its entries and report each member whose stored state disagrees."""
from __future__ import annotations

from dataclasses import dataclass, field

from domain.ledger import audit_account
from domain.ports import Transactions

BATCH = 500


@dataclass
class ReconciliationReport:
    members_checked: int = 0
    problems: dict[int, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


class Reconciliation:
    def __init__(self, transactions: Transactions) -> None:
        self.transactions = transactions

    async def run(self) -> ReconciliationReport:
        report = ReconciliationReport()
        after = 0
        while member_ids := await self.transactions.read(lambda uow: uow.ledger.member_ids(after, BATCH)):
            for member_id in member_ids:
                snapshot = await self.transactions.read(lambda uow, m=member_id: uow.ledger.audit_snapshot(m),
                                                        heavy=True)
                report.members_checked += 1
                if problems := audit_account(snapshot):
                    report.problems[member_id] = problems
            after = member_ids[-1]
        return report
