"""Admission to scarce stock: a ticket before the write transaction, so a rush's losers never queue for it.

At 10:00 a sale of 100 units meets thousands of attempts. Each attempt that reaches the write
transaction waits for the member's lock and the sale's row; all but 100 of them learn there that the
stock is gone. The gate answers them first: it counts the stock still to be sold, and an attempt
that takes a ticket goes on to the transaction, while one that finds none is refused without a lock
or a write.

The database stays the last word: the transaction checks the stock again, so a gate that admits
too many only sends more attempts to a refusal they would have met anyway. The gate must never
admit too few (undersell): a ticket whose transaction does not sell goes back; a counter is
loaded from the database when first asked and again after anything outside the gate changes the
stock (`forget`); a refusal by the database for want of stock resets the counter to zero, which is
then the truth. Tickets carry the generation of the counter that issued them, so one given back
after a reload cannot inflate the new count.

`TicketCounters` keeps the counts in this process: right where one process serves the database
(SQLite). Processes that share a database share a gate through Redis (persistence/), or use none
(the transaction decides alone).
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

# Reads the stock still to be sold from the database; None when the thing is gone.
StockReader = Callable[[], Awaitable[int | None]]


@dataclass(frozen=True)
class Ticket:
    scope: str
    quantity: int
    generation: int


class Admission(Protocol):
    async def admit(self, scope: str, quantity: int, read_stock: StockReader) -> Ticket | None | bool:
        """A ticket; False when the stock is known to be gone; None when the gate cannot tell."""

    async def give_back(self, ticket: Ticket) -> None:
        """The ticket's transaction sold nothing: its units are for others again."""

    async def sold_out(self, scope: str) -> None:
        """The database refused for want of stock: nothing is left, whatever was counted."""

    async def forget(self, scope: str) -> None:
        """The stock changed outside the gate (a restock): count again from the database next time."""


class TicketCounters:
    """The gate in one process: a count per scope, loaded from the database when first asked."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.generations: dict[str, int] = {}
        self.loading: dict[str, asyncio.Future[int | None]] = {}
        self.forgotten: dict[str, int] = {}  # forgets per scope: a read begun before one counts for nothing

    async def admit(self, scope: str, quantity: int, read_stock: StockReader) -> Ticket | None | bool:
        if scope not in self.counts:
            stock = await self._load(scope, read_stock)
            if stock is None:
                return None  # gone, or unreadable: the transaction answers
        left = self.counts.get(scope)
        if left is None:
            return None
        if left < quantity:
            return False
        self.counts[scope] = left - quantity
        return Ticket(scope, quantity, self.generations.get(scope, 0))

    async def _load(self, scope: str, read_stock: StockReader) -> int | None:
        """One read per scope however many attempts arrive while it runs."""
        pending = self.loading.get(scope)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self.loading[scope] = future
        forgets = self.forgotten.get(scope, 0)
        try:
            stock = await read_stock()
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: waiters re-raise it, nobody logs it as lost
            raise
        finally:
            self.loading.pop(scope, None)
        if self.forgotten.get(scope, 0) != forgets:
            stock = None  # a restock landed while it read: the next attempt reads again
        if stock is not None and scope not in self.counts:
            self.counts[scope] = max(0, stock)
            self.generations[scope] = self.generations.get(scope, 0) + 1
        future.set_result(stock)
        return stock

    async def give_back(self, ticket: Ticket) -> None:
        if ticket.scope in self.counts and self.generations.get(ticket.scope) == ticket.generation:
            self.counts[ticket.scope] += ticket.quantity

    async def sold_out(self, scope: str) -> None:
        if scope in self.counts:
            self.counts[scope] = 0

    async def forget(self, scope: str) -> None:
        self.counts.pop(scope, None)
        self.forgotten[scope] = self.forgotten.get(scope, 0) + 1
