"""Exports of a brand's data for its other systems (`jifen export`): members, the ledger and
redemptions, from a date on, streamed in the order they were written, whatever their number."""
from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING

from domain.progress import Progress, unreported

if TYPE_CHECKING:
    from domain.ports import Transactions


class ExportKind(str, Enum):
    MEMBERS = "members"  # since: joined on or after
    LEDGER = "ledger"  # since: entries that occurred on or after
    REDEMPTIONS = "redemptions"  # since: redeemed on or after


COLUMNS = {
    ExportKind.MEMBERS: ("member_id", "nickname", "joined_at", "tier_level", "growth", "balance", "held", "pending",
                         "debt", "lifetime_earned", "last_active_at"),
    ExportKind.LEDGER: ("entry_id", "member_id", "delta", "balance_after", "reason", "occurred_at", "expires_at",
                        "memo", "ref"),
    ExportKind.REDEMPTIONS: ("redemption_id", "member_id", "item_id", "item_name", "quantity", "points", "status",
                             "code", "created_at", "updated_at"),
}


class ExportService:
    def __init__(self, transactions: "Transactions") -> None:
        self.transactions = transactions

    async def count(self, kind: ExportKind, since: datetime | None) -> int:
        return await self.transactions.read(lambda uow: uow.exports.count(kind, since), heavy=True)

    async def run(self, kind: ExportKind, since: datetime | None,
                  write: Callable[[Sequence[tuple]], Awaitable[None] | None], progress: Progress = unreported) -> int:
        """Every row, in the order written, handed to ``write`` a batch at a time (columns as
        ``COLUMNS`` names them; awaited when it is a coroutine, so a slow reader holds the read
        back); how many. One read: a consistent copy as of its start."""
        async def work(uow) -> int:
            done = 0
            async for rows in uow.exports.rows(kind, since):
                written = write(rows)
                if inspect.isawaitable(written):
                    await written
                done += len(rows)
                progress(done, None)
            return done

        return await self.transactions.read(work, heavy=True)
