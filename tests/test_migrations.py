"""The migration stairway: every revision up and down, on both databases."""
from sqlalchemy import inspect

from persistence import migrate
from persistence.database import Database


async def table_names(url):
    database = Database.connect(url)
    try:
        async with database.read_engine.connect() as connection:
            return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await database.dispose()


async def test_every_revision_walks_down_and_up_again(database_url):
    revisions = migrate.revisions(database_url)
    assert revisions[0] == "0001"
    assert "ledger_entries" in await table_names(database_url)
    for revision in reversed(revisions[:-1]):
        migrate.downgrade(database_url, revision)
    migrate.downgrade(database_url, "base")
    assert await table_names(database_url) <= {"alembic_version"}
    for revision in revisions:
        migrate.upgrade(database_url, revision)
    assert {"members", "ledger_entries", "point_lots", "holds", "check_ins", "idempotency_keys"} <= \
        await table_names(database_url)
