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


async def test_servers_starting_together_migrate_one_after_the_other(database_url):
    """Several containers (or `jifen migrate` beside a starting server) upgrade one database at once."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    migrate.downgrade(database_url, "base")
    jifen = str(Path(sys.executable).with_name("jifen"))
    env = {**os.environ, "DATABASE_URL": database_url}
    runs = [subprocess.Popen([jifen, "migrate"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for _ in range(3)]
    outputs = [(run.wait(timeout=120), run.stdout.read()) for run in runs]
    assert [code for code, _ in outputs] == [0, 0, 0], outputs
    assert migrate.current_revision(database_url) == migrate.revisions(database_url)[-1]
    assert {"members", "ledger_entries"} <= await table_names(database_url)
