"""Engines for SQLite (embedded default) and PostgreSQL, tuned for a ledger.

SQLite allows one writer at a time. A deferred transaction that reads and
then writes fails with SQLITE_BUSY whatever the busy timeout, so write
transactions open with ``BEGIN IMMEDIATE`` on their own single-connection
engine: writers queue in the pool instead of spinning on the file lock,
while readers use a separate pool and see WAL snapshots without blocking.
"""
from __future__ import annotations

import asyncio
import collections
import threading
from dataclasses import dataclass
from types import SimpleNamespace

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

SQLITE_BUSY_TIMEOUT_MS = 15_000
INLINE_BUSY_TIMEOUT_MS = 200


def async_url(url: str) -> str:
    """Accept the URLs people write (sqlite:///x.db, postgresql://...) and pick the async driver."""
    parsed = make_url(url)
    driver = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg",
              "postgres": "postgresql+asyncpg"}.get(parsed.drivername, parsed.drivername)
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


class DatabaseServed(Exception):
    """Another server already serves this SQLite database."""


def claim_sqlite_server(url: str):
    """Take the SQLite database for this server process, or raise DatabaseServed: one process writes a
    SQLite database, and what the server keeps in memory (the admission gate's counts, the callers'
    used idempotency keys) is true only while it is the one. The claim is a lock on a file beside the
    database (`<name>-server.lock`), released when the process ends, however it ends; the returned
    file holds it and must be kept. None for a database with no file (in memory) or no locks (Windows)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    try:
        import fcntl
    except ImportError:
        return None
    holder = open(f"{parsed.database}-server.lock", "a")  # noqa: SIM115 - held for the process's life
    try:
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder.close()
        raise DatabaseServed(f"another jifen server already serves {parsed.database}; SQLite serves from "
                             "one process (use PostgreSQL for several)") from None
    return holder


def _sqlite_engine(url: str, begin: str, pool_size: int) -> AsyncEngine:
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=0, pool_timeout=60)
    _tune_sqlite(engine.sync_engine, begin)
    return engine


class InlineSqlite:
    """Synchronous SQLite on the event loop's own thread, one connection per thread.

    A statement on a local WAL database takes microseconds, far less than the hand-offs to and from
    aiosqlite's thread it replaces (the home query ran 3x faster so). A unit of work never suspends
    halfway (nothing in one awaits the network), so requests take turns on the connection without
    a pool. Reads are autocommit: each statement sees what is committed when it runs, as on
    PostgreSQL at READ COMMITTED. Writes open with BEGIN IMMEDIATE, and wait on another process's
    lock only briefly (``busy_ms``): the loop must not stall, and the writer retries a busy
    database after an asynchronous pause.
    """

    def __init__(self, url: str, *, writes: bool) -> None:
        sync_url = make_url(url).set(drivername="sqlite").render_as_string(hide_password=False)
        # Each connection stays on the thread that opened it; only close() may come from another.
        options = {} if writes else {"isolation_level": "AUTOCOMMIT"}
        self.engine = create_engine(sync_url, poolclass=NullPool, connect_args={"check_same_thread": False},
                                    **options)
        _tune_sqlite(self.engine, "BEGIN IMMEDIATE" if writes else None,
                     busy_ms=INLINE_BUSY_TIMEOUT_MS if writes else SQLITE_BUSY_TIMEOUT_MS)
        self._local = threading.local()
        self._opened: list = []

    def connection(self):
        connection = getattr(self._local, "connection", None)
        if connection is None or connection.closed:
            connection = self._local.connection = self.engine.connect()
            self._opened.append(connection)
        return connection

    def trace(self, callback) -> None:
        """Have SQLite report each statement its open connections run, direct reads included (None stops)."""
        for connection in self._opened:
            if not connection.closed:
                connection.connection.driver_connection.set_trace_callback(callback)

    def close(self) -> None:
        for connection in self._opened:
            connection.close()
        self._opened.clear()
        self.engine.dispose()


def _tune_sqlite(engine: Engine, begin: str | None, busy_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record) -> None:
        # Take over transaction control from the driver, as SQLAlchemy's SQLite docs describe.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", f"busy_timeout={busy_ms}",
                       "foreign_keys=ON"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    if begin is not None:
        @event.listens_for(engine, "begin")
        def on_begin(connection) -> None:
            connection.exec_driver_sql(begin)


class DirectReads:
    """asyncpg connections for reads on PostgreSQL that run only direct statements (the signed-in
    member, an idempotency key, a page of entries), outside SQLAlchemy's pool: checking a connection
    out of it and back (an AsyncConnection, a greenlet hop, pool events) cost a refused flash-sale
    attempt more than its one statement. Here a connection is taken from a list and put back.

    Connections are opened as SQLAlchemy opens them (the same arguments, the same JSON codecs), when
    first needed, at most `size`; one found broken is closed and the read retried, as for the pool."""

    def __init__(self, engine: AsyncEngine, size: int) -> None:
        self.dialect = engine.dialect
        _, self.arguments = engine.dialect.create_connect_args(engine.url)
        for sqlalchemy_only in ("prepared_statement_cache_size", "prepared_statement_name_func",
                                "async_creator_fn"):
            self.arguments.pop(sqlalchemy_only, None)
        self.size = size
        self.idle: list = []
        self.opened = 0
        self.waiting: collections.deque[asyncio.Future] = collections.deque()

    async def take(self):
        while True:
            if self.idle:
                return self.idle.pop()
            if self.opened < self.size:
                return await self._open()
            turn = asyncio.get_running_loop().create_future()
            self.waiting.append(turn)
            try:
                given = await turn  # a connection handed over, or None: one was closed, open another
            except asyncio.CancelledError:
                if turn.done() and not turn.cancelled():  # handed over as the caller gave up: pass it on
                    self.give_back(turn.result()) if turn.result() is not None else self._wake(None)
                raise
            if given is not None:
                return given

    async def _open(self):
        import asyncpg

        self.opened += 1
        try:
            driver = await asyncpg.connect(**self.arguments)
            adapted = SimpleNamespace(_connection=driver)  # what the dialect's codec set-up reads
            await self.dialect.setup_asyncpg_json_codec(adapted)
            await self.dialect.setup_asyncpg_jsonb_codec(adapted)
        except BaseException:
            self.opened -= 1
            self._wake(None)
            raise
        return driver

    def give_back(self, driver, *, broken: bool = False) -> None:
        if broken or driver.is_closed():
            self.opened -= 1
            driver.terminate()
            self._wake(None)
        elif not self._wake(driver):
            self.idle.append(driver)

    def _wake(self, driver) -> bool:
        while self.waiting:
            turn = self.waiting.popleft()
            if not turn.done():
                turn.set_result(driver)
                return True
        return False

    async def close(self) -> None:
        idle, self.idle = self.idle, []
        for driver in idle:
            self.opened -= 1
            await driver.close()


@dataclass
class Database:
    url: str
    write_engine: AsyncEngine
    read_engine: AsyncEngine
    inline_reads: InlineSqlite | None = None  # SQLite only: reads and writes without a thread hop
    inline_writes: InlineSqlite | None = None
    direct_reads: DirectReads | None = None  # PostgreSQL only

    @property
    def dialect(self) -> str:
        return self.write_engine.dialect.name

    @classmethod
    def connect(cls, url: str, *, pool_size: int = 10) -> "Database":
        url = async_url(url)
        if make_url(url).get_backend_name() == "sqlite":
            return cls(url, _sqlite_engine(url, "BEGIN IMMEDIATE", 1), _sqlite_engine(url, "BEGIN", 4),
                       InlineSqlite(url, writes=False), InlineSqlite(url, writes=True))
        # No pre-ping (a round trip before every transaction): a connection found dead is invalidated
        # and the unit of work is retried (is_transient), which costs once what pinging costs always.
        engine = create_async_engine(url, pool_size=pool_size, max_overflow=0, pool_timeout=60, pool_recycle=1800)
        # Reads run without BEGIN/COMMIT (two round trips fewer); each statement sees what is committed
        # when it runs, as it would at READ COMMITTED inside a transaction.
        return cls(url, engine, engine.execution_options(isolation_level="AUTOCOMMIT"),
                   direct_reads=DirectReads(engine, max(2, pool_size // 2)))

    async def ping(self) -> bool:
        async with self.read_engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")
        return True

    async def dispose(self) -> None:
        if self.direct_reads is not None:
            await self.direct_reads.close()
        for inline in (self.inline_reads, self.inline_writes):
            if inline is not None:
                inline.close()
        await self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()
