"""Engines for SQLite (embedded default) and PostgreSQL, tuned for a ledger.

SQLite allows one writer at a time. A deferred transaction that reads and
then writes fails with SQLITE_BUSY whatever the busy timeout, so write
transactions open with ``BEGIN IMMEDIATE`` on their own single-connection
engine: writers queue in the pool instead of spinning on the file lock,
while readers use a separate pool and see WAL snapshots without blocking.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

SQLITE_BUSY_TIMEOUT_MS = 15_000


def async_url(url: str) -> str:
    """Accept the URLs people write (sqlite:///x.db, postgresql://...) and pick the async driver."""
    parsed = make_url(url)
    driver = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg",
              "postgres": "postgresql+asyncpg"}.get(parsed.drivername, parsed.drivername)
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def _sqlite_engine(url: str, begin: str, pool_size: int) -> AsyncEngine:
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=0, pool_timeout=60)

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection, _record) -> None:
        # Take over transaction control from the driver, as SQLAlchemy's SQLite docs describe.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
                       "foreign_keys=ON"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection) -> None:
        connection.exec_driver_sql(begin)

    return engine


@dataclass
class Database:
    url: str
    write_engine: AsyncEngine
    read_engine: AsyncEngine

    @property
    def dialect(self) -> str:
        return self.write_engine.dialect.name

    @classmethod
    def connect(cls, url: str, *, pool_size: int = 10) -> "Database":
        url = async_url(url)
        if make_url(url).get_backend_name() == "sqlite":
            return cls(url, _sqlite_engine(url, "BEGIN IMMEDIATE", 1), _sqlite_engine(url, "BEGIN", 4))
        engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        return cls(url, engine, engine)

    async def ping(self) -> bool:
        async with self.read_engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")
        return True

    async def dispose(self) -> None:
        await self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()
