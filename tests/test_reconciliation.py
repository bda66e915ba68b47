"""`jifen check` set-based, on both databases: every kind of disagreement found and confirmed, none
invented while members keep writing, and `--since-last` checking only what changed."""
import asyncio
from datetime import UTC, datetime

from sqlalchemy import text

from domain.configuration import Actor
from domain.reconciliation import Reconciliation

STAFF = Actor("staff", "auditor")


async def earn(services, external_id: str, points: int, key: str) -> int:
    member = await services.members.ensure(external_id)
    outcome = await services.points.adjust(STAFF, member.id, points, "seed", key)
    assert outcome.error is None
    return member.id


async def tamper(services, statement: str, **values) -> None:
    async with services.database.write_engine.begin() as connection:
        await connection.execute(text(statement), values)


async def test_each_kind_of_disagreement_is_found_in_a_batch_and_confirmed(services):
    ids = {name: await earn(services, name, 50, f"seed-{name}") for name in
           ("clean", "chain", "balance", "lots", "held", "growth", "pending")}
    for member_id in ids.values():  # a second entry each, so a broken chain has a position to report
        await services.points.adjust(STAFF, member_id, 10, "more", f"more-{member_id}")
    await tamper(services, "INSERT INTO ledger_entries (member_id, delta, balance_after, reason, occurred_at, actor) "
                           "VALUES (:m, 5, 999, 'ADJUSTMENT', :at, 'staff:forger')",
                 m=ids["chain"], at=datetime(2026, 3, 12, tzinfo=UTC))
    await tamper(services, "UPDATE members SET balance = balance + 7 WHERE id = :m", m=ids["balance"])
    await tamper(services, "UPDATE point_lots SET remaining = remaining - 3 WHERE member_id = :m", m=ids["lots"])
    await tamper(services, "UPDATE members SET held = 4 WHERE id = :m", m=ids["held"])
    await tamper(services, "UPDATE members SET growth = 1000 WHERE id = :m", m=ids["growth"])
    await tamper(services, "UPDATE members SET pending = 9 WHERE id = :m", m=ids["pending"])
    report = await services.reconciliation.run()
    assert report.members_checked == 7 and not report.ok
    problems = {name: report.problems.get(member_id, []) for name, member_id in ids.items()}
    assert problems["clean"] == []
    assert problems["chain"][0] == "entry #3: balanceAfter 999, entries sum to 65"
    assert "balance 67 but entries sum to 60" in problems["balance"]
    assert problems["lots"] == ["balance 60 but lots hold 57"]
    assert problems["held"] == ["held 4 but active holds sum to 0"]
    assert problems["growth"] == ["growth 1000 but growth credits 0 and changes 0"]
    assert problems["pending"] == ["pending 9 but orders inside their return window hold 0"]


async def test_members_writing_during_a_check_are_never_reported(services):
    ids = [await earn(services, f"busy-{i}", 10, f"seed-{i}") for i in range(30)]

    async def keep_writing():
        for round_ in range(20):
            await asyncio.gather(*(services.points.adjust(STAFF, m, 1, "tick", f"tick-{m}-{round_}") for m in ids))

    writer = asyncio.create_task(keep_writing())
    reports = []
    while not writer.done():
        reports.append(await services.reconciliation.run())
    await writer
    reports.append(await services.reconciliation.run())
    assert len(reports) >= 2 and all(r.ok for r in reports), [r.problems for r in reports if not r.ok]


async def test_since_last_checks_only_members_with_new_entries(services):
    first, second = await earn(services, "first", 10, "a"), await earn(services, "second", 10, "b")
    assert (await services.reconciliation.run(since_last=True)).members_checked == 2  # no mark yet: a full run
    recent = await services.reconciliation.run(since_last=True)
    assert recent.since_entry == 0 and recent.members_checked == 2  # reaching back for late commits
    exact = Reconciliation(services.transactions, services.clock, late_commits=0)
    assert (await exact.run(since_last=True)).members_checked == 0  # nothing new since
    for i in range(3):
        await services.points.adjust(STAFF, second, 1, "later", f"later-{i}")
    await tamper(services, "UPDATE members SET growth = 3 WHERE id = :m", m=first)  # no entry: a full run's
    incremental = await exact.run(since_last=True)
    assert incremental.ok and incremental.members_checked == 1
    full = await exact.run()
    assert list(full.problems) == [first]
    mark = await services.transactions.read(lambda uow: uow.settings.get("reconciliation"))
    assert mark["lastEntryId"] == incremental.verified_through  # a run that found something moves no mark
    await tamper(services, "UPDATE members SET balance = balance + 1 WHERE id = :m", m=second)
    await services.points.adjust(STAFF, second, 1, "again", "again")
    assert list((await exact.run(since_last=True)).problems) == [second]
