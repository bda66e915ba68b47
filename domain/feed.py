"""The ledger change feed (`ledgerChanges`): every entry, once, in an order a reader can follow
without ever missing one, so a brand's CRM keeps a copy of the ledger in step.

Entry ids are handed out as rows are written, not as transactions commit: on PostgreSQL a
transaction may write entry 100, a second entry 101 and commit first. A reader that saw 101 and
remembered "after 101" would never see 100. So the feed orders entries by the transaction that
wrote them, then by id, and shows only entries of transactions older than every transaction still
running on this database (see persistence/feed.py): nothing can ever commit behind the position a
reader has reached. A transaction that runs long holds the feed back until it ends; it never loses an entry.
On SQLite one transaction writes at a time, so ids are in commit order and the transaction part is 0.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import TYPE_CHECKING

from domain.errors import InvalidInput

if TYPE_CHECKING:
    from domain.ledger import LedgerEntry
    from domain.ports import Transactions

MAX_PAGE = 100  # as every connection; pages count against the caller's cost budget
CURSOR_PREFIX = "feed1:"


@dataclass(frozen=True, order=True)
class FeedPosition:
    """Where a reader is: the last entry it has, by (transaction, id)."""

    transaction: int = 0
    entry_id: int = 0

    def encode(self) -> str:
        return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{self.transaction}:{self.entry_id}".encode()).decode()

    @classmethod
    def decode(cls, cursor: str | None) -> "FeedPosition":
        if cursor is None:
            return cls()
        try:
            text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii")
            transaction, entry_id = text.removeprefix(CURSOR_PREFIX).split(":")
            if not text.startswith(CURSOR_PREFIX):
                raise ValueError(text)
            position = cls(int(transaction), int(entry_id))
        except (ValueError, UnicodeError, binascii.Error):
            raise InvalidInput("not a cursor of ledgerChanges", ("after",)) from None
        if position.transaction < 0 or position.entry_id < 0:
            raise InvalidInput("not a cursor of ledgerChanges", ("after",))
        return position


@dataclass(frozen=True)
class LedgerChange:
    position: FeedPosition
    entry: "LedgerEntry"
    member_external_id: str


class FeedService:
    def __init__(self, transactions: "Transactions") -> None:
        self.transactions = transactions

    async def changes(self, after: FeedPosition, first: int) -> tuple[list[LedgerChange], bool]:
        """Up to ``first`` changes after ``after``, and whether more are there now."""
        if not 1 <= first <= MAX_PAGE:
            raise InvalidInput(f"first must be 1-{MAX_PAGE}", ("first",))
        found = await self.transactions.read(lambda uow: uow.feed.after(after, first + 1))
        return found[:first], len(found) > first
