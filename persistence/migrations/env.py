"""Alembic environment: runs migrations over the async engine of whichever database is configured."""
import asyncio
import contextlib
import fcntl

from alembic import context
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from persistence.tables import metadata

config = context.config
target_metadata = metadata
MIGRATION_LOCK = 0x6A6966656E  # PostgreSQL's advisory lock key for migrating ("jifen")


@contextlib.contextmanager
def migrating_alone(connection):
    """Servers starting together (containers, `jifen migrate` beside a starting server) migrate one
    after the other: the next one reads the revision once the first is done, and finds nothing to do."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        connection.commit()  # the lock is the session's: it outlives this transaction
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
            connection.commit()
        return
    path = connection.engine.url.database
    if not path or path == ":memory:":
        yield
        return
    with open(f"{path}-migrate.lock", "a") as lock:  # released as the file closes, or the process ends
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def run_with(connection) -> None:
    with migrating_alone(connection):
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite", transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()


async def run_online() -> None:
    engine = create_async_engine(config.get_main_option("sqlalchemy.url"))
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_with)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(run_online())
