"""Alembic, driven from code so that ``jifen migrate``, ``jifen serve`` and the tests share one path."""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config

from persistence.database import async_url

T = TypeVar("T")
MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", async_url(database_url).replace("%", "%%"))
    return config


def outside_event_loop(action: Callable[[], T]) -> T:
    """Call ``action`` where no event loop runs (a thread if need be): env.py starts its own loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return action()
    results: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            results.append(action())
        except BaseException as error:  # handed back to the caller's thread
            errors.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return results[0]


def upgrade(database_url: str, revision: str = "head") -> None:
    outside_event_loop(lambda: command.upgrade(alembic_config(database_url), revision))


def current_revision(database_url: str) -> str | None:
    """The revision the database is at (None before the first migration)."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    async def read() -> str | None:
        engine = create_async_engine(async_url(database_url))
        try:
            async with engine.connect() as connection:
                return (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        finally:
            await engine.dispose()

    return outside_event_loop(lambda: asyncio.run(read()))


def downgrade(database_url: str, revision: str) -> None:
    outside_event_loop(lambda: command.downgrade(alembic_config(database_url), revision))


def revisions(database_url: str) -> list[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(database_url))
    return [r.revision for r in reversed(list(script.walk_revisions()))]
