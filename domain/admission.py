"""Admission to scarce stock: a ticket before the write transaction, so a rush's losers never queue for it.

At 10:00 a sale of 100 units meets thousands of attempts. Each attempt that reaches the write
transaction waits for the member's lock and the sale's row; all but 100 of them learn there that the
stock is gone. The gate answers them first: it counts the stock still to be sold, and an attempt
that takes a ticket goes on to the transaction, while one that finds none is refused without a lock
or a write.

The database stays the last word: the transaction checks the stock again, so a gate that admits
too many only sends more attempts to a refusal they would have met anyway. The gate must never
admit too few (undersell), so its count may only ever be at or above the truth:
- a count is loaded from the committed stock, which only falls while a sale runs;
- a ticket whose transaction sells nothing goes back;
- anything that raises the stock outside the gate (a restock, a cancelled redemption) calls
  `forget`, which starts a new *epoch*: counts and the facts callers keep (a sale's window and
  price) are read again, and a count read while the epoch changed is not kept;
- a refusal by the database for want of stock drops the count (`recount`), so the next attempt
  loads the truth instead of trusting a count that admitted too many;
- tickets carry the generation of the count that issued them, so one given back after a reload
  cannot inflate the new count;
- a short count says "sold out" only while no ticket is held: a holder's transaction may still
  fail and give its units back, so until it is done the transaction decides.

`TicketCounters` keeps the counts in this process: right where one process serves the database
(SQLite). Processes that share a database share a gate in Redis (persistence/admission.py).
"""
from __future__ import annotations

import asyncio
import enum
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from typing import TYPE_CHECKING

from domain.errors import ErrorCode, Refusal
from domain.realtime import Outbox

if TYPE_CHECKING:
    from domain.points import PointsOutcome

# Reads the stock still to be sold from the database; None when the thing is gone.
StockReader = Callable[[], Awaitable[int | None]]


@dataclass(frozen=True)
class Ticket:
    scope: str
    quantity: int
    generation: str
    id: str = ""


class Verdict(enum.Enum):
    ADMITTED = "admitted"  # a ticket: on to the transaction
    SOLD_OUT = "sold out"  # the count is short of the quantity: a true refusal
    STALE = "stale"  # the caller's facts predate the gate's epoch: read them again
    OPEN = "open"  # the gate cannot tell (no count, no gate): the transaction decides alone


@dataclass(frozen=True)
class Admittance:
    verdict: Verdict
    epoch: str | None = None
    ticket: Ticket | None = None


class Admission(Protocol):
    async def epoch(self, scope: str) -> str | None:
        """The scope's current epoch: facts read after learning it hold until it changes. None: no gate now."""

    async def admit(self, scope: str, quantity: int, epoch: str, read_stock: StockReader) -> Admittance:
        """A ticket for `quantity`, if the caller's `epoch` is current and the count has it."""

    async def give_back(self, ticket: Ticket) -> None:
        """The ticket's transaction sold nothing: its units are for others again."""

    async def settle(self, ticket: Ticket) -> None:
        """The ticket's transaction sold its units: the ticket is spent."""

    async def recount(self, ticket: Ticket) -> None:
        """The database refused the ticket for want of stock: the count was too high; load it again."""

    async def forget(self, scope: str) -> None:
        """The stock or the facts changed outside the gate: a new epoch, counted again from the database."""


T = TypeVar("T")


class SingleFlight:
    """One call per key at a time: callers arriving while it runs share its answer (a rush's first
    second reads the stock once, not once per attempt)."""

    def __init__(self) -> None:
        self.running: dict[str, asyncio.Future] = {}

    async def run(self, key: str, call: Callable[[], Awaitable[T]]) -> T:
        pending = self.running.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self.running[key] = future
        try:
            answer = await call()
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: waiters re-raise it, nobody logs it as lost
            raise
        finally:
            self.running.pop(key, None)
        future.set_result(answer)
        return answer


def keep_at_most(found: dict, limit: int) -> None:
    """Drop the oldest entries beyond `limit`: scopes that members create (拼团 groups) must not grow
    a process's memory for ever, and a dropped count or fact only costs a read from the database."""
    while len(found) > limit:
        del found[next(iter(found))]


class TicketCounters:
    """The gate in one process: a count per scope, loaded from the database when first asked."""

    MAX_SCOPES = 20_000

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        # Generations are drawn from one sequence, so a count loaded after another was dropped never
        # shares a generation with the tickets the dropped one issued.
        self.generations: dict[str, int] = {}
        self.next_generation = itertools.count(1)
        self.loads = SingleFlight()
        self.epochs: dict[str, int] = {}  # forgets per scope
        self.held: dict[str, set[str]] = {}  # tickets of the current count not yet settled or given back
        self.issued = itertools.count(1)

    async def epoch(self, scope: str) -> str | None:
        return str(self.epochs.get(scope, 0))

    async def admit(self, scope: str, quantity: int, epoch: str, read_stock: StockReader) -> Admittance:
        current = str(self.epochs.get(scope, 0))
        if epoch != current:
            return Admittance(Verdict.STALE, current)
        if scope not in self.counts and await self._load(scope, read_stock) is None:
            return Admittance(Verdict.OPEN, current)  # gone, unreadable, or a restock raced the read
        left = self.counts.get(scope)
        if left is None:
            return Admittance(Verdict.OPEN, current)
        if left < quantity:
            return Admittance(Verdict.OPEN if self.held[scope] else Verdict.SOLD_OUT, current)
        self.counts[scope] = left - quantity
        ticket = Ticket(scope, quantity, str(self.generations[scope]), str(next(self.issued)))
        self.held[scope].add(ticket.id)
        return Admittance(Verdict.ADMITTED, current, ticket)

    async def _load(self, scope: str, read_stock: StockReader) -> int | None:
        return await self.loads.run(scope, lambda: self._read_and_keep(scope, read_stock))

    async def _read_and_keep(self, scope: str, read_stock: StockReader) -> int | None:
        epoch = self.epochs.get(scope, 0)
        stock = await read_stock()
        if self.epochs.get(scope, 0) != epoch:
            return None  # a restock landed while it read: the next attempt reads again
        if stock is not None and scope not in self.counts:
            self.counts[scope] = max(0, stock)
            self.held[scope] = set()
            self.generations[scope] = next(self.next_generation)
            self._drop_oldest_counts()
        return stock

    def _drop_oldest_counts(self) -> None:
        while len(self.counts) > self.MAX_SCOPES:
            oldest = next(iter(self.counts))
            del self.counts[oldest], self.held[oldest], self.generations[oldest]

    def _issued_by_current_count(self, ticket: Ticket) -> bool:
        return ticket.scope in self.counts and str(self.generations.get(ticket.scope)) == ticket.generation

    def _release(self, ticket: Ticket) -> bool:
        """Whether the ticket was held by the current count (and is not any more)."""
        if not self._issued_by_current_count(ticket) or ticket.id not in self.held[ticket.scope]:
            return False
        self.held[ticket.scope].discard(ticket.id)
        return True

    async def give_back(self, ticket: Ticket) -> None:
        if self._release(ticket):
            self.counts[ticket.scope] += ticket.quantity

    async def settle(self, ticket: Ticket) -> None:
        self._release(ticket)

    async def recount(self, ticket: Ticket) -> None:
        if self._issued_by_current_count(ticket):
            del self.counts[ticket.scope], self.held[ticket.scope], self.generations[ticket.scope]

    async def forget(self, scope: str) -> None:
        if self.counts.pop(scope, None) is not None:
            del self.held[scope], self.generations[scope]
        self.epochs[scope] = self.epochs.get(scope, 0) + 1


FLASH_SALE = "flash"
MALL_ITEM = "item"
GROUP_SLOTS = "group"  # the places left in a 拼团 group
LOTTERY = "lottery"  # a lottery's facts and the daily limits members reached (no count: a draw never sells out)


def scope_of(kind: str, thing_id: int) -> str:
    return f"{kind}:{thing_id}"


class ForgetRestocked:
    """The transactions' after-commit listener: a gate forgets what a committed write restocked or
    changed (`uow.restocked`), wherever that write happened (a staff edit, a cancelled redemption, a
    checkout hold that timed out inside another member operation)."""

    def __init__(self, admission: Admission) -> None:
        self.admission = admission

    async def __call__(self, outbox: Outbox) -> None:
        for scope in dict.fromkeys(outbox.restocked):
            await self.admission.forget(scope)


Facts = TypeVar("Facts")


@dataclass
class Known(Generic[Facts]):
    facts: Facts
    epoch: str
    stock: int | None  # as read with the facts; used once, to load a count without a second read


@dataclass(frozen=True)
class Entry:
    """What the gate decided: a refusal to answer without a write, a ticket, or neither (the
    transaction decides alone, as without a gate)."""
    refusal: Refusal | None = None
    ticket: Ticket | None = None


MAX_KNOWN = 20_000  # things whose facts a gate keeps
MAX_REFUSALS = 100_000  # members' remembered refusals; one forgotten costs one transaction


class StockGate(Generic[Facts]):
    """An `Admission` for one kind of scarce thing (flash sales, mall items), with the facts about each
    thing (window, price, shelf) kept per epoch, so an attempt is decided without reading the database.

    `read` returns a thing's facts and its stock (None when there is no such thing)."""

    ATTEMPTS = 3  # epochs changing faster than this under one attempt send it to the transaction

    def __init__(self, admission: Admission, kind: str,
                 read: Callable[[int], Awaitable[tuple[Facts, int] | None]]) -> None:
        self.admission = admission
        self.kind = kind
        self.read = read
        self.known: dict[int, Known[Facts]] = {}

    def scope(self, thing_id: int) -> str:
        return scope_of(self.kind, thing_id)

    async def attempt(self, thing_id: int, quantity: int, refusal_of: Callable[[Facts], Awaitable[Refusal | None]],
                      sold_out: Callable[[Facts], Refusal],
                      refusal_in_stock: Callable[[Facts], Awaitable[Refusal | None]],
                      refused: Callable[[Refusal], Awaitable["PointsOutcome | None"]],
                      transact: Callable[[], Awaitable["PointsOutcome"]]) -> "PointsOutcome":
        """One attempt on a thing, in the transaction's order of checks: `refusal_of` judges by the facts
        before the count, `sold_out` is the refusal for a short count, `refusal_in_stock` judges after
        a ticket (what the transaction checks after the stock, such as the member's points); both may read
        what they need (the member) when first asked, so a sold-out attempt reads nothing. A refusal
        is answered by `refused` (None: the key was used, so the transaction replays its first answer);
        anything else goes to `transact`, and its ticket is settled, given back or recounted after."""
        entry = await self._enter(thing_id, quantity, refusal_of, sold_out, refusal_in_stock)
        if entry.refusal is not None:
            answer = await refused(entry.refusal)
            if answer is not None:
                return answer
            entry = Entry()
        try:
            outcome = await transact()
        except BaseException:
            await self._leave(entry, sold=False, short=False)
            raise
        short = isinstance(outcome.error, Refusal) and outcome.error.code is ErrorCode.SOLD_OUT
        await self._leave(entry, sold=outcome.error is None and not outcome.replayed, short=short)
        return outcome

    async def _enter(self, thing_id: int, quantity: int, refusal_of: Callable[[Facts], Awaitable[Refusal | None]],
                     sold_out: Callable[[Facts], Refusal],
                     refusal_in_stock: Callable[[Facts], Awaitable[Refusal | None]]) -> Entry:
        scope = self.scope(thing_id)
        epoch: str | None = None  # the gate's epoch when it said ours was stale
        for _ in range(self.ATTEMPTS):
            known, fresh = self.known.get(thing_id), False
            if known is None or epoch is not None:
                known, fresh = await self._learn(thing_id, scope, epoch), True
                if known is None:
                    return Entry()
            refusal = await refusal_of(known.facts)
            if refusal is not None:
                if fresh or await self.admission.epoch(scope) == known.epoch:
                    return Entry(refusal=refusal)
                epoch = None
            else:
                admittance = await self.admission.admit(scope, quantity, known.epoch,
                                                        self._stock_reader(thing_id, known))
                if admittance.verdict is Verdict.ADMITTED:
                    late = await refusal_in_stock(known.facts)
                    if late is not None:
                        await self.admission.give_back(admittance.ticket)
                        return Entry(refusal=late)
                    return Entry(ticket=admittance.ticket)
                if admittance.verdict is Verdict.SOLD_OUT:
                    return Entry(refusal=sold_out(known.facts))
                if admittance.verdict is Verdict.OPEN:
                    return Entry()
                epoch = admittance.epoch
            if self.known.get(thing_id) is known:
                del self.known[thing_id]  # the epoch moved on: read the facts again
        return Entry()

    async def _learn(self, thing_id: int, scope: str, epoch: str | None) -> Known[Facts] | None:
        if epoch is None:
            epoch = await self.admission.epoch(scope)  # before the read: a change after it moves the epoch
            if epoch is None:
                return None
        read = await self.read(thing_id)
        if read is None:
            return None  # no such thing: the transaction says so
        known = Known(read[0], epoch, read[1])
        # Concurrent attempts learn at once: the first to finish is kept; one learnt under an older
        # epoch is found stale by its first user and dropped.
        self.known.setdefault(thing_id, known)
        keep_at_most(self.known, MAX_KNOWN)
        return known

    def _stock_reader(self, thing_id: int, known: Known[Facts]) -> StockReader:
        async def read_stock() -> int | None:
            if known.stock is not None:
                stock, known.stock = known.stock, None  # just read under this epoch: count from it
                return stock
            read = await self.read(thing_id)
            return None if read is None else read[1]
        return read_stock

    async def _leave(self, entry: Entry, sold: bool, short: bool) -> None:
        """After the transaction: `sold` when it sold the ticket's units, `short` when the database
        refused for want of stock."""
        if entry.ticket is None:
            return
        if sold:
            await self.admission.settle(entry.ticket)
        elif short:
            await self.admission.recount(entry.ticket)
        else:
            await self.admission.give_back(entry.ticket)


class KnownFacts(Generic[Facts]):
    """Facts about things with no stock to count (a lottery's window, cost and daily limit), kept while
    their scope's epoch holds, and the refusals members met under an epoch that stay true until a time
    (a daily limit reached stays reached until the day ends, unless staff change the limit, which
    moves the epoch). A caller answers from these what the transaction would refuse, without a read."""

    def __init__(self, admission: Admission, kind: str, read: Callable[[int], Awaitable[Facts | None]]) -> None:
        self.admission = admission
        self.kind = kind
        self.read = read
        self.known: dict[int, tuple[Facts, str]] = {}
        self.refused: dict[tuple[int, int], tuple[Refusal, str, datetime]] = {}

    async def get(self, thing_id: int) -> tuple[Facts, str] | None:
        """The thing's facts and the epoch they hold under; None when there is no gate or no such thing."""
        epoch = await self.admission.epoch(scope_of(self.kind, thing_id))  # before the read, as StockGate
        if epoch is None:
            return None
        known = self.known.get(thing_id)
        if known is not None and known[1] == epoch:
            return known
        facts = await self.read(thing_id)
        if facts is None:
            return None
        self.known[thing_id] = (facts, epoch)
        keep_at_most(self.known, MAX_KNOWN)
        return facts, epoch

    def remember_refusal(self, thing_id: int, member_id: int, refusal: Refusal, epoch: str, until: datetime) -> None:
        self.refused[(thing_id, member_id)] = (refusal, epoch, until)
        keep_at_most(self.refused, MAX_REFUSALS)

    def refusal_for(self, thing_id: int, member_id: int, epoch: str, now: datetime) -> Refusal | None:
        found = self.refused.get((thing_id, member_id))
        if found is None or found[1] != epoch or now >= found[2]:
            return None
        return found[0]

