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


async def test_members_above_v1_start_their_first_upkeep_period_as_upkeep_arrives(database_url):
    """Nobody is judged on growth earned before upkeep existed: a period starts at the upgrade."""
    from datetime import UTC, datetime

    from sqlalchemy import text
    migrate.downgrade(database_url, "0021")
    database = Database.connect(url := database_url)
    try:
        async with database.write_engine.begin() as connection:
            for external_id, level in (("v1", 1), ("v3", 3)):
                await connection.execute(text(
                    "INSERT INTO members (external_id, nickname, created_at, tier_level, growth, balance, held, "
                    "pending, lifetime_earned, debt) VALUES (:e, :e, :at, :level, 0, 0, 0, 0, 0, 0)"),
                    {"e": external_id, "level": level, "at": datetime(2026, 1, 1)})
    finally:
        await database.dispose()
    migrate.upgrade(url, "0022")  # the revision that brings upkeep
    database = Database.connect(url)
    try:
        async with database.read_engine.connect() as connection:
            rows = {r.external_id: r for r in await connection.execute(
                text("SELECT external_id, keep_until, next_due_at, period_growth FROM members"))}
    finally:
        await database.dispose()
    assert rows["v1"].keep_until is None and rows["v1"].next_due_at is None
    kept = rows["v3"].keep_until
    kept = datetime.fromisoformat(kept) if isinstance(kept, str) else kept
    assert kept.year == datetime.now(UTC).year + 1 and rows["v3"].period_growth == 0
    assert rows["v3"].next_due_at is not None


async def test_last_activity_is_filled_from_the_ledger_as_it_arrives(database_url):
    from datetime import datetime

    from sqlalchemy import text
    migrate.downgrade(database_url, "0025")
    database = Database.connect(database_url)
    try:
        async with database.write_engine.begin() as connection:
            await connection.execute(text(
                "INSERT INTO members (external_id, nickname, created_at, tier_level, growth, balance, held, pending, "
                "lifetime_earned, debt) VALUES ('active', 'a', :at, 1, 0, 5, 0, 0, 5, 0), "
                "('idle', 'i', :at, 1, 0, 3, 0, 0, 3, 0)"), {"at": datetime(2026, 1, 1)})
            ids = dict((await connection.execute(text("SELECT external_id, id FROM members"))).all())
            for member, reason, day in (("active", "CHECK_IN", 2), ("active", "CHECK_IN", 5),
                                        ("active", "EXPIRY", 9), ("idle", "ADJUSTMENT", 3)):
                await connection.execute(text(
                    "INSERT INTO ledger_entries (member_id, delta, balance_after, reason, occurred_at, actor) "
                    "VALUES (:m, 1, 1, :r, :at, 'test')"), {"m": ids[member], "r": reason, "at": datetime(2026, 1, day)})
    finally:
        await database.dispose()
    migrate.upgrade(database_url, "0026")
    database = Database.connect(database_url)
    try:
        async with database.read_engine.connect() as connection:
            rows = dict((await connection.execute(text("SELECT external_id, last_active_at FROM members"))).all())
    finally:
        await database.dispose()
    assert rows["idle"] is None  # a staff adjustment is not the member's own doing
    assert str(rows["active"]).startswith("2026-01-05")  # the latest check-in, not the later expiry
