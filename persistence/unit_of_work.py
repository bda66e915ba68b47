"""Transactions over the ports: one connection, every repository bound to it, bounded retries."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sqlite3
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from domain.brand import brand_settings
from domain.day_figures import Figures
from domain.day_summaries import SummaryDelta
from domain.realtime import Outbox
from persistence.analytics import SqlAnalyticsRepository
from persistence.assists import SqlAssistRepository
from persistence.badges import SqlBadgeRepository
from persistence.birthdays import SqlBirthdayRepository
from persistence.campaigns import SqlCampaignRepository
from persistence.checkin import SqlCheckInRepository
from persistence.checkout import SqlCheckoutRepository
from persistence.database import Database, DirectReads
from persistence.coupons import SqlCouponRepository
from persistence.day_figures import SqlDayFigureRepository
from persistence.day_summaries import SqlDaySummaryRepository
from persistence.direct_statements import DirectStatement, direct_statement
from persistence.deductions import SqlDeductionRepository
from persistence.feed import SqlFeedRepository
from persistence.exports import SqlExportRepository
from persistence.imports import SqlImportRepository
from persistence.events import SqlEventRepository
from persistence.flash_sales import SqlFlashSaleRepository
from persistence.group_redemptions import SqlGroupRedemptionRepository
from persistence.idempotency import KnownKeys, SqlIdempotencyRepository
from persistence.chances import SqlChanceRepository
from persistence.conversions import SqlConversionRepository
from persistence.tags import SqlTagRepository
from persistence.gifts import SqlGiftRepository
from persistence.invitations import SqlInvitationRepository
from persistence.perks import SqlPerkRepository
from persistence.leaderboards import SqlLeaderboardRepository
from persistence.ledger import SqlLedgerRepository
from persistence.lottery import SqlLotteryRepository
from persistence.mall import SqlMallRepository
from persistence.members import SqlMemberRepository
from persistence.notifications import SqlNotificationRepository
from persistence.orders import SqlOrderRepository
from persistence.partners import SqlPartnerRepository
from persistence.segments import SqlSegmentRepository
from persistence.settings import CommittedSettings, SettingsCache, SqlAuditLog, SqlSettingsRepository
from persistence.submissions import SqlSubmissionRepository
from persistence.tasks import SqlTaskRepository
from persistence.webhooks import SqlWebhookRepository

T = TypeVar("T")
log = logging.getLogger("jifen.persistence")

MAX_ATTEMPTS = 6
# serialization failure, deadlock
RETRYABLE_SQLSTATES = {"40001", "40P01"}
# Unique races worth retrying: a concurrent twin stored the same idempotency key, order id or event id
# first (under another member's lock); the rerun then replays it or refuses it cleanly.
RETRYABLE_UNIQUE = ("idempotency_keys", "purchase_orders", "brand_events")


# Made on first use: a read touches one or two of these, and a request makes a few units of work.
REPOSITORIES = {
    "summaries": SqlDaySummaryRepository,
    "figures": SqlDayFigureRepository,
    "coupons": SqlCouponRepository,
    "gifts": SqlGiftRepository,
    "perks": SqlPerkRepository,
    "chances": SqlChanceRepository,
    "conversions": SqlConversionRepository,
    "tags": SqlTagRepository,
    "feed": SqlFeedRepository,
    "imports": SqlImportRepository,
    "exports": SqlExportRepository,
    "leaderboards": SqlLeaderboardRepository, "badges": SqlBadgeRepository, "partners": SqlPartnerRepository,
    "segments": SqlSegmentRepository, "analytics": SqlAnalyticsRepository, "webhooks": SqlWebhookRepository,
    "ledger": SqlLedgerRepository, "check_ins": SqlCheckInRepository, "orders": SqlOrderRepository,
    "tasks": SqlTaskRepository, "invitations": SqlInvitationRepository,
    "submissions": SqlSubmissionRepository, "notifications": SqlNotificationRepository,
    "events": SqlEventRepository, "assists": SqlAssistRepository, "birthdays": SqlBirthdayRepository,
    "mall": SqlMallRepository, "checkout": SqlCheckoutRepository, "deductions": SqlDeductionRepository,
    "flash_sales": SqlFlashSaleRepository, "lotteries": SqlLotteryRepository, "groups": SqlGroupRedemptionRepository,
    "audit": SqlAuditLog,
}


# The repositories that note the ledger entries they saved, for the day summaries.
ENTRY_SAVERS = ("members", "imports")

# The repositories that note what their writes add to the day figures (domain/day_figures.py).
FIGURE_WRITERS = ("mall", "tasks", "orders", "deductions", "coupons")

# What a unit of work holds of its outbox, under the names the domain uses.
OUTBOX_PARTS = {"activity": "activity", "scores": "scores", "badge_awards": "badges", "restocked": "restocked"}


class SqlUnitOfWork:
    """Repositories and the outbox are built when first used: a read uses one or two of them (the
    signed-in member, an idempotency key), and a request makes several reads."""

    def __init__(self, connection, settings_cache: SettingsCache | None = None,
                 known_keys: KnownKeys | None = None) -> None:
        self.connection = connection
        self.settings_cache = settings_cache
        self.known_keys = known_keys

    def __getattr__(self, name: str):
        """Only called for what is not there yet: build it and keep it."""
        if name == "outbox":
            built = Outbox()
        elif name == "members":
            built = SqlMemberRepository(self.connection, self.outbox.points)
        elif name == "settings":
            built = SqlSettingsRepository(self.connection, self.settings_cache)
        elif name == "idempotency":
            built = SqlIdempotencyRepository(self.connection, self.known_keys)
        elif name == "campaigns":
            built = SqlCampaignRepository(self.connection, self.settings)
        elif name in OUTBOX_PARTS:
            built = getattr(self.outbox, OUTBOX_PARTS[name])
        elif name in REPOSITORIES:
            built = REPOSITORIES[name](self.connection)
        else:
            raise AttributeError(name)
        setattr(self, name, built)
        return built

    async def write_summaries(self) -> None:
        """Add what this unit wrote to the day summaries and figures, last: their rows are locked only
        from here to the commit."""
        savers = [saver for name in ENTRY_SAVERS if (saver := self.__dict__.get(name)) is not None]
        entries = [saved for saver in savers for saved in saver.saved_entries]
        writers = [writer for name in FIGURE_WRITERS if (writer := self.__dict__.get(name)) is not None]
        changes = [change for writer in writers for change in writer.figure_changes]
        if not entries and not changes:
            return
        zone = (await brand_settings(self)).zone
        if entries:
            delta = SummaryDelta()
            for member_id, saved_entries, previously_active_at in entries:
                delta.add(member_id, saved_entries, previously_active_at, zone)
            for saver in savers:
                saver.saved_entries = []
            await self.summaries.add(delta)
        if changes:
            for writer in writers:
                writer.figure_changes = []
            await self.figures.add(Figures.of(changes, zone))

    @property
    def written_settings(self) -> set[str]:
        settings = self.__dict__.get("settings")
        return settings.written if settings is not None else set()


def is_transient(error: DBAPIError) -> bool:
    if error.connection_invalidated:  # a pooled connection the database had closed: a fresh one will do
        return True
    original = error.orig
    sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    text = str(original).lower()
    if isinstance(error, OperationalError) and "database is locked" in text:
        return True
    return isinstance(error, IntegrityError) and any(table in text for table in RETRYABLE_UNIQUE) and (
        sqlstate == "23505" or "unique constraint failed" in text)


class SqlTransactions:
    def __init__(self, database: Database) -> None:
        self.database = database
        self.listeners: list[Callable[[Outbox], Awaitable[None]]] = []
        self.settings_cache = SettingsCache()
        self.committed_settings = CommittedSettings()
        self.known_keys = KnownKeys() if database.inline_writes is not None else None
        self._inline_writer = asyncio.Lock()
        self._batches: dict[int, SharedCommit] = {}  # the open shared transaction of each writing connection

    async def write(self, work: Callable[[SqlUnitOfWork], Awaitable[T]]) -> T:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                uow, result = await self._write_once(work)
                self.settings_cache.forget(uow.written_settings)  # committed: reads now fetch the new rules
                self.committed_settings.forget(uow.written_settings)
                await self._announce(uow.outbox)  # committed: a rolled-back attempt never gets here
                return result
            except DBAPIError as error:
                if attempt == MAX_ATTEMPTS or not is_transient(error):
                    raise
                log.info("transient conflict, retrying (attempt %d): %s", attempt, error.orig)
                await asyncio.sleep(random.uniform(0, 0.005 * 2 ** attempt))
        raise AssertionError("unreachable")

    async def _write_once(self, work: Callable[[SqlUnitOfWork], Awaitable[T]]) -> tuple[SqlUnitOfWork, T]:
        inline = self.database.inline_writes
        if inline is None:
            async with self.database.write_engine.connect() as connection:
                uow = SqlUnitOfWork(PostgresConnection(connection, autocommit=False))
                async with connection.begin():
                    result = await work(uow)
                    await uow.write_summaries()
                    await uow.connection.flush()
                    return uow, result
        return await self._write_inline(inline.connection(), work)

    async def _write_inline(self, connection, work: Callable[[SqlUnitOfWork], Awaitable[T]]) -> tuple[SqlUnitOfWork, T]:
        """One unit of work in its own savepoint of the shared transaction (see SharedCommit), answered
        once that transaction has committed."""
        async with self._inline_writer:  # one unit at a time on the thread's connection
            batch = self._batches.get(id(connection))
            if batch is None:
                batch = self._batches[id(connection)] = SharedCommit(connection, self)
            uow = SqlUnitOfWork(InlineConnection(connection), self.committed_settings, self.known_keys)
            batch.driver.execute("SAVEPOINT unit")
            failure = None
            try:
                result = await work(uow)
                await uow.write_summaries()
            except BaseException as error:
                self.committed_settings.forget(uow.written_settings)
                if not batch.undo_unit():
                    self._batches.pop(id(connection), None)  # its commit fails every unit in it
                if not isinstance(error, Exception):
                    raise  # cancelled: at once
                failure = error
            else:
                batch.driver.execute("RELEASE unit")
        if failure is not None:
            # A failure too is answered after the shared COMMIT: a caller that read outside the writer,
            # found the state moved under its lock (Conflict) and looks again must see the units before it.
            with contextlib.suppress(Exception):
                await batch.committed()
            raise failure
        await batch.committed()
        return uow, result

    def began(self, data_version: int) -> None:
        """SQLite: a shared transaction begins; `data_version` moved if another connection wrote."""
        if self.committed_settings.begin(data_version) and self.known_keys is not None:
            self.known_keys.forget()

    def ended(self) -> None:
        if self.known_keys is not None:
            self.known_keys.committed()

    async def _commit_batch(self, batch: "SharedCommit") -> None:
        # One turn more: the requests read from the sockets as this turn began run in it and join.
        await asyncio.sleep(0)
        async with self._inline_writer:  # after any unit already running: never a half-done one
            if self._batches.get(id(batch.connection)) is batch:
                del self._batches[id(batch.connection)]
            batch.finish()

    async def _announce(self, outbox: Outbox) -> None:
        if not outbox:
            return
        for listener in self.listeners:
            try:
                await listener(outbox)
            except Exception:  # the write has committed; a lost toast must not turn it into an error
                log.exception("could not announce what a write changed")

    async def read(self, work: Callable[[SqlUnitOfWork], Awaitable[T]], *, heavy: bool = False) -> T:
        """``heavy``: a read that may scan much (analytics, a refresh over every member) runs off the
        event loop's thread on SQLite, so it never stalls other requests."""
        inline = self.database.inline_reads
        if inline is not None and not heavy:
            return await work(SqlUnitOfWork(InlineConnection(inline.connection()), self.settings_cache,
                                            self.known_keys))
        if heavy:  # one transaction: one snapshot on SQLite, row locks (FOR SHARE) held to its end
            engine = self.database.write_engine if inline is None else self.database.read_engine
            async with engine.connect() as connection:
                async with connection.begin():
                    return await work(SqlUnitOfWork(connection, self.settings_cache))
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                async with contextlib.AsyncExitStack() as stack:
                    connection = OnFirstStatement(self.database.read_engine, stack,  # autocommit
                                                  self.database.direct_reads)
                    return await work(SqlUnitOfWork(connection, self.settings_cache))
            except DBAPIError as error:
                if attempt == MAX_ATTEMPTS or not error.connection_invalidated:
                    raise
        raise AssertionError("unreachable")


class SharedCommit:
    """Group commit on SQLite: the units of work that reach the writer in one turn of the event loop,
    or the turn after, share one transaction and one COMMIT.

    A unit of work on the inline writer runs to its end without suspending, so units are serial.
    The first unit of a turn begins the transaction (BEGIN IMMEDIATE) and schedules its commit for
    the turn after next (the requests read from the sockets as the next turn begins join it: the
    batches of a rush are about twice as large, the wait is one turn); each unit runs in its own
    savepoint, so a unit that fails is rolled back alone and the others go on; every unit is answered only after the shared COMMIT, so nothing is
    acknowledged before it is committed, and what comes after a commit (toasts, the gate, caches)
    comes after this one. A COMMIT that fails fails every unit in it, each as it would fail alone.
    A rush of check-ins so pays for one commit, and one write of each shared page (the ledger's
    tail, an index's leaf), per turn instead of per check-in.
    """

    def __init__(self, connection, transactions: "SqlTransactions") -> None:
        self.connection = connection
        self.driver = connection.connection.driver_connection
        self.transactions = transactions
        self.transaction = connection.begin()  # BEGIN IMMEDIATE: raises while another process writes
        transactions.began(data_version(self.driver))
        self.done = asyncio.get_running_loop().create_future()
        self.error: BaseException | None = None
        self.rolled_back = False
        # Kept here: a task nothing refers to may be collected before it runs.
        self.committer = asyncio.get_running_loop().create_task(transactions._commit_batch(self))

    def undo_unit(self) -> bool:
        """Roll back the failed unit's savepoint. False when that failed or SQLite had ended the whole
        transaction (a full disk): the units before it are lost with it, and the transaction is
        rolled back now, so the next unit begins a new one."""
        try:
            self.driver.execute("ROLLBACK TO unit")
            self.driver.execute("RELEASE unit")
        except sqlite3.Error as error:
            self.error = DBAPIError.instance("ROLLBACK TO unit", (), error, sqlite3.Error)
        if self.error is None and not self.driver.in_transaction:
            self.error = OperationalError("ROLLBACK TO unit", (), "SQLite rolled the transaction back")
        if self.error is None:
            return True
        self._roll_back()
        return False

    def _roll_back(self) -> None:
        # Once only: after `undo_unit` rolled this batch back, the connection may already be in the
        # next batch's transaction, which a second ROLLBACK (from `finish`) would wipe out.
        if self.rolled_back:
            return
        self.rolled_back = True
        with contextlib.suppress(Exception):
            self.transaction.rollback()
        if self.driver.in_transaction:  # a COMMIT that failed (a deferred check) leaves it open
            with contextlib.suppress(sqlite3.Error):
                self.driver.execute("ROLLBACK")

    def finish(self) -> None:
        try:
            if self.error is not None:
                raise self.error
            self.transaction.commit()
        except BaseException as error:
            self._roll_back()
            self.transactions.committed_settings.begin(-1)  # what a lost unit read may not be committed
            self.transactions.ended()
            self.done.set_exception(error)
            self.done.exception()  # retrieved: every unit that waits re-raises it
            return
        self.transactions.ended()
        self.done.set_result(None)

    async def committed(self) -> None:
        await asyncio.shield(self.done)


def data_version(driver: sqlite3.Connection) -> int:
    """SQLite's count of commits by other connections, as this one sees it."""
    return driver.execute("PRAGMA data_version").fetchone()[0]


class OnFirstStatement:
    """A pooled connection checked out at the first statement. A read answered from the settings
    cache (the tier table every request reads, brand rules) then needs none: on PostgreSQL a
    checkout and its return cost more than the whole lookup. On PostgreSQL direct statements run on a
    connection of `DirectReads`, the others on one of SQLAlchemy's pool (a read may hold one of each:
    in autocommit each statement sees what is committed when it runs, whichever connection runs it)."""

    def __init__(self, engine, stack: contextlib.AsyncExitStack, direct_reads: DirectReads | None = None) -> None:
        self.engine = engine
        self.stack = stack
        self.dialect = engine.dialect
        self.direct_reads = direct_reads
        self._connection = None
        self._driver = None
        self._driver_broken = False

    async def _opened(self):
        if self._connection is None:
            opened = await self.stack.enter_async_context(self.engine.connect())
            self._connection = PostgresConnection(opened, autocommit=True) if self.dialect.name == "postgresql" \
                else opened
        return self._connection

    async def _direct_driver(self):
        """A connection of the direct reads' own (PostgreSQL), given back when the read is over."""
        if self._driver is None:
            self._driver = await self.direct_reads.take()
            self.stack.callback(self._give_back_driver)
        return self._driver

    def _give_back_driver(self) -> None:
        driver, self._driver = self._driver, None
        self.direct_reads.give_back(driver, broken=self._driver_broken)

    async def _run_direct(self, plan, parameters):
        driver = await self._direct_driver()
        # Broken until the statement answers: a read cancelled mid-statement leaves the connection
        # mid-protocol, and it must not go back to the list.
        self._driver_broken = True
        try:
            rows = await plan.run_on_asyncpg(driver, parameters or {})
        except DBAPIError as error:
            self._driver_broken = error.connection_invalidated
            raise
        self._driver_broken = False
        return rows

    def _direct_plan(self, statement, parameters):
        return None if self.direct_reads is None else direct_statement(statement, parameters, self.dialect)

    async def execute(self, statement, parameters=None):
        plan = self._direct_plan(statement, parameters)
        if plan is not None:
            return await self._run_direct(plan, parameters)
        return await (await self._opened()).execute(statement, parameters)

    async def scalar(self, statement, parameters=None):
        plan = self._direct_plan(statement, parameters)
        if plan is not None:
            return (await self._run_direct(plan, parameters)).scalar()
        return await (await self._opened()).scalar(statement, parameters)

    write_behind = execute  # autocommit: nothing to send it with


class PostgresConnection:
    """A pooled PostgreSQL connection whose statements marked ``direct`` run on asyncpg itself
    (persistence/direct_statements.py) once a transaction is open, or at once in autocommit."""

    def __init__(self, connection, *, autocommit: bool) -> None:
        self.connection = connection
        self.dialect = connection.dialect
        self.autocommit = autocommit
        self._driver = None
        self._behind: list[tuple[DirectStatement, tuple]] = []  # writes not sent yet (`write_behind`)

    async def _direct_driver(self):
        """asyncpg's connection, when a statement on it runs where SQLAlchemy's would."""
        if self._driver is None:
            sync = self.connection.sync_connection
            # Checked out and valid: the pool's connection is right there (no greenlet hop to fetch it).
            pooled = sync.connection if sync is not None and not sync.invalidated else \
                await self.connection.get_raw_connection()
            self._driver = pooled.driver_connection
        return self._driver if self.autocommit or self._driver.is_in_transaction() else None

    async def execute(self, statement, parameters=None):
        plan = direct_statement(statement, parameters, self.dialect)
        if plan is not None and (driver := await self._direct_driver()) is not None:
            return await self._run(plan, driver, parameters)
        await self.flush()
        return await self.connection.execute(statement, parameters)

    async def scalar(self, statement, parameters=None):
        plan = direct_statement(statement, parameters, self.dialect)
        if plan is not None and (driver := await self._direct_driver()) is not None:
            return (await self._run(plan, driver, parameters)).scalar()
        await self.flush()
        return await self.connection.scalar(statement, parameters)

    async def stream(self, statement, parameters=None):
        """Rows as they come, for a read of many (computing the day summaries again)."""
        await self.flush()
        return await self.connection.stream(statement, parameters)

    async def write_behind(self, statement, parameters: dict) -> None:
        """A write whose answer nothing waits for (no rows, no count), in a transaction: sent with the
        next statement that writes, or before the commit. A check-in's seven writes so take three round
        trips instead of seven. A failure surfaces there, in the same transaction, which it fails."""
        plan = direct_statement(statement, parameters, self.dialect)
        if plan is None or plan.row is not None or plan.table is None or self.autocommit or \
                await self._direct_driver() is None:
            await self.execute(statement, parameters)
            return
        if not self._joins_held(plan):
            await self.flush()  # two writes to one table in one statement would race each other
        self._behind.append((plan, plan._values(parameters)))

    def _joins_held(self, plan: DirectStatement) -> bool:
        """Whether ``plan`` may go in one statement with the writes held back: a write that reads no
        other table (see `DirectStatement.table`), to a table none of them changes."""
        return plan.table is not None and all(held.table != plan.table for held, _ in self._behind)

    async def flush(self) -> None:
        """Send the writes held back (before a statement that reads, and before the commit)."""
        if self._behind:
            (last, values), self._behind = self._behind[-1], self._behind[:-1]
            await self._run(last, await self._direct_driver(), values=values)

    async def _run(self, plan, driver, parameters=None, values=None):
        if self._behind and not self._joins_held(plan):
            await self.flush()  # a read must see them; a write to a table held back goes after them
        before, self._behind = self._behind, []
        try:
            return await plan.run_on_asyncpg(driver, parameters or {}, before, values)
        except DBAPIError as error:
            if error.connection_invalidated:  # as SQLAlchemy would: the pool must not hand it out again
                await self.connection.invalidate()
            raise


class InlineConnection:
    """A synchronous connection behind the awaitable calls the repositories make; the statements marked
    ``direct`` run on the driver's connection (persistence/direct_statements.py)."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.dialect = connection.dialect

    async def execute(self, statement, parameters=None):
        plan = direct_statement(statement, parameters, self.dialect)
        if plan is not None:
            return plan.run(self.connection.connection.driver_connection, parameters or {})
        return self.connection.execute(statement, parameters)

    async def scalar(self, statement, parameters=None):
        plan = direct_statement(statement, parameters, self.dialect)
        if plan is not None:
            return plan.run(self.connection.connection.driver_connection, parameters or {}).scalar()
        return self.connection.scalar(statement, parameters)

    async def stream(self, statement, parameters=None):
        """Rows as SQLite's cursor steps to them (``partitions`` as SQLAlchemy's AsyncResult has it)."""
        return SteppedRows(self.connection.execute(statement, parameters))

    # SQLite's statements cost no round trip: a write runs as it is given.
    write_behind = execute


class SteppedRows:
    def __init__(self, result) -> None:
        self.result = result

    async def partitions(self, size: int):
        for rows in self.result.partitions(size):
            yield rows
