"""The day summaries analytics read, on both databases: written with the entries (concurrent writers
included), equal to what the ledger says over any range, verified by `jifen check`, stale after a
change of time zone (analytics read the ledger meanwhile) and rebuilt."""
import asyncio
import random
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from domain.brand import BrandSettings
from domain.configuration import Actor
from domain.day_summaries import STATUS_KEY, DaySummaries
from persistence.migrate import downgrade, upgrade
from persistence.database import Database
from api.ops.services import Services
from tests.conftest import START
from tests.test_api_analytics import ANALYTICS, build_history
from tests.test_api_expiry import SETTINGS
from tests.test_api_mall import CANCEL
from tests.test_api_orders import refund
from tests.test_api_tasks import CREATE as TASK, complete
from tests.test_reconciliation import STAFF, tamper

FIRST_DAY = date(2026, 3, 12)  # START in Shanghai


async def live_through(services, clock, days: int, members: int, seed: int) -> None:
    """Each day some members check in (their own doing) and staff adjust others (not); on some days
    every one of them at once."""
    chosen = random.Random(seed)
    ids = [(await services.members.ensure(f"m{i}")).id for i in range(members)]
    for day in range(days):
        crowd = ids if day % 17 == 0 else chosen.sample(ids, chosen.randint(0, members // 2))
        await asyncio.gather(*(services.check_in.check_in(Actor("member", f"m{m}"), m, f"c-{m}-{day}")
                               for m in crowd))
        for m in chosen.sample(ids, 2):
            await services.points.adjust(STAFF, m, chosen.choice([5, -1]), "fix", f"a-{m}-{day}")
        clock.advance(timedelta(days=1, hours=chosen.choice([0, 5, -3])))


async def periods(services, ranges):
    return [await services.analytics.period(first, last) for first, last in ranges]


async def mark_stale(services) -> None:
    async def work(uow):
        await uow.settings.put(STATUS_KEY, {"timezone": None}, "test", services.clock.now())
    await services.transactions.write(work)


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Europe/Berlin"])  # Berlin's clocks move on March 29th
async def test_any_range_read_from_the_summaries_equals_the_ledger(services, clock, zone):
    if zone != BrandSettings().timezone:
        await services.brand.update(STAFF, BrandSettings(timezone=zone))
        await DaySummaries(services.transactions, services.clock).rebuild()  # nothing to sum yet: fresh
    await live_through(services, clock, days=130, members=12, seed=7)
    picks = random.Random(11)
    ranges = [(FIRST_DAY, FIRST_DAY + timedelta(days=91)), (FIRST_DAY + timedelta(days=40), FIRST_DAY + timedelta(days=40))]
    for _ in range(12):
        first = FIRST_DAY + timedelta(days=picks.randint(0, 125))
        ranges.append((first, first + timedelta(days=picks.randint(0, 91))))
    summarised = await periods(services, ranges)
    assert (await DaySummaries(services.transactions, services.clock).verify()).disagreements == []

    await mark_stale(services)  # the ledger itself answers now
    assert await periods(services, ranges) == summarised
    assert sum(p.active_members for p in summarised) > 0 and any(
        p.active_members < sum(d.active_members for d in p.days) for p in summarised)  # distinct, not summed


async def test_analytics_read_the_summaries_until_they_are_stale_and_check_finds_a_wrong_one(services, clock):
    await live_through(services, clock, days=3, members=4, seed=3)
    summaries = DaySummaries(services.transactions, services.clock)
    before = await services.analytics.period(FIRST_DAY, FIRST_DAY + timedelta(days=2))
    shard = min(await shards_of(services, FIRST_DAY))
    await tamper(services, "UPDATE day_flows SET credited = credited + 1000 "
                           "WHERE reason = 'CHECK_IN' AND day = :d AND shard = :s", d=FIRST_DAY, s=shard)
    tampered = await services.analytics.period(FIRST_DAY, FIRST_DAY + timedelta(days=2))
    assert tampered.earned == before.earned + 1000  # read from the summaries, not the entries
    report = await services.reconciliation.run()
    assert not report.ok and report.problems == {}
    [line] = report.summaries.disagreements
    assert line.startswith(f"flows {FIRST_DAY} CHECK_IN {shard}: (1") and line.endswith("in the ledger")

    await summaries.rebuild()
    assert (await services.reconciliation.run()).ok
    assert await services.analytics.period(FIRST_DAY, FIRST_DAY + timedelta(days=2)) == before


async def shards_of(services, day: date) -> list:
    async with services.database.read_engine.connect() as connection:
        return list((await connection.execute(text(
            "SELECT shard FROM day_flows WHERE reason = 'CHECK_IN' AND day = :d"), {"d": day})).scalars())


async def test_an_incremental_check_verifies_the_days_of_new_entries_only(services, clock):
    await live_through(services, clock, days=5, members=3, seed=5)
    assert (await services.reconciliation.run(since_last=True)).ok
    await tamper(services, "UPDATE day_flows SET debited = debited + 1 WHERE day = :d", d=FIRST_DAY)
    clock.advance(timedelta(days=1))
    await services.points.adjust(STAFF, (await services.members.ensure("m0")).id, 3, "later", "later")
    reconciliation = services.reconciliation
    reconciliation.late_commits = 0
    assert (await reconciliation.run(since_last=True)).ok  # the tampered day is older than what it reads
    assert not (await reconciliation.run()).ok  # a full run reads it


def test_a_new_time_zone_reads_the_ledger_until_the_summaries_are_rebuilt(live_server):
    staff = build_history(live_server)
    dates = {"from": "2026-03-11", "to": "2026-03-14"}
    shanghai = staff.data(ANALYTICS, dates)["analytics"]
    assert staff.data(SETTINGS, {"months": 1, "tz": "America/New_York"})["updateBrandSettings"]["userErrors"] == []
    new_york = staff.data(ANALYTICS, dates)["analytics"]
    assert [d["earned"] for d in new_york["days"]] != [d["earned"] for d in shanghai["days"]]  # other days
    assert new_york["earned"] == shanghai["earned"]

    report = asyncio.run(_with(live_server, lambda s: s.reconciliation.run()))
    assert report.ok and report.summaries.stale
    asyncio.run(_with(live_server, lambda s: DaySummaries(s.transactions, s.clock).rebuild()))
    assert staff.data(ANALYTICS, dates)["analytics"] == new_york
    report = asyncio.run(_with(live_server, lambda s: s.reconciliation.run()))
    assert report.ok and not report.summaries.stale

    staff.data(SETTINGS, {"months": 1, "tz": "Asia/Shanghai"})  # back: the sums are New York's, stale again
    assert staff.data(ANALYTICS, dates)["analytics"] == shanghai


async def _with(live_server, action):
    services = Services.build(live_server.database_url, live_server.clock)
    try:
        return await action(services)
    finally:
        await services.close()


async def test_upgrading_sums_the_ledger_already_there(database_url):
    downgrade(database_url, "0026")
    start = START.replace(tzinfo=None, microsecond=1)  # UTC with microseconds, as the ledger keeps it
    database = Database.connect(database_url)
    try:
        async with database.write_engine.begin() as connection:
            await connection.execute(text(
                "INSERT INTO members (external_id, nickname, created_at, tier_level, growth, balance, held, pending, "
                "lifetime_earned, debt) VALUES ('a', 'a', :at, 1, 0, 0, 0, 0, 0, 0)"), {"at": start})
            member = (await connection.execute(text("SELECT id FROM members"))).scalar()
            balance = 0
            for reason, delta, at in (("CHECK_IN", 10, start), ("ADJUSTMENT", 5, start + timedelta(hours=20)),
                                      ("CHECK_IN", 10, start + timedelta(days=3))):
                balance += delta
                await connection.execute(text(
                    "INSERT INTO ledger_entries (member_id, delta, balance_after, reason, occurred_at, actor) "
                    "VALUES (:m, :d, :b, :r, :at, 'test')"), {"m": member, "d": delta, "b": balance, "r": reason,
                                                              "at": at})
    finally:
        await database.dispose()
    upgrade(database_url)
    services = Services.build(database_url)
    try:
        period = await services.analytics.period(FIRST_DAY, FIRST_DAY + timedelta(days=3))
        assert (await DaySummaries(services.transactions, services.clock).verify()).disagreements == []
    finally:
        await services.close()
    assert [(d.earned, d.active_members) for d in period.days] == [(10, 1), (5, 0), (0, 0), (10, 1)]
    assert period.active_members == 1  # one member on two days


FIGURES = """query($from: Date!, $to: Date!) { analytics(from: $from, to: $to) {
  itemHeat(first: 5) { itemName redemptions quantity points members views conversion }
  taskParticipation { code times members }
  campaignParticipation { code times members bonusPoints } } }"""


def test_item_task_and_campaign_figures_are_kept_per_day_and_agree_with_their_rows(live_server):
    """The history of the analytics test, and then: a cup redemption cancelled, bob's order (under a
    multiplier and a threshold bonus at once) partly refunded, and a task done by two members."""
    staff = build_history(live_server)
    assert staff.data(TASK, {"code": "browse", "period": "DAILY", "cap": 3})["createTask"]["userErrors"] == []
    for name in ("alice", "carol"):
        assert complete(live_server.member(name), "browse", f"t-{name}")["userErrors"] == []
    complete(live_server.member("alice"), "browse", "t-alice-2")
    alice = live_server.member("alice")
    cup = alice.data("{ me { redemptions(first: 1) { edges { node { id } } } } }")["me"]["redemptions"]["edges"]
    assert staff.data(CANCEL, {"id": cup[0]["node"]["id"], "key": "x"})["cancelRedemption"]["userErrors"] == []
    assert refund(staff, "BOB-1", 3000, "bob-part")["userErrors"] == []
    dates = {"from": "2026-03-12", "to": "2026-03-13"}
    kept = staff.data(FIGURES, dates)["analytics"]
    assert kept["itemHeat"] == [
        {"itemName": "保温杯", "redemptions": 1, "quantity": 1, "points": 300, "members": 1, "views": 3,
         "conversion": 1 / 3},
        {"itemName": "茶具", "redemptions": 0, "quantity": 0, "points": 0, "members": 0, "views": 1,
         "conversion": 0.0}]
    assert kept["taskParticipation"] == [{"code": "browse", "times": 3, "members": 2}]
    # 70 yuan kept of 100: 250 * 0.7 = 175 points, 70 base; of the 105 bonus the threshold paid 50
    assert kept["campaignParticipation"] == [{"code": "double", "times": 1, "members": 1, "bonusPoints": 55},
                                             {"code": "man100", "times": 1, "members": 1, "bonusPoints": 50}]

    asyncio.run(_with(live_server, mark_stale))  # the rows themselves answer
    assert staff.data(FIGURES, dates)["analytics"] == kept
    asyncio.run(_with(live_server, lambda s: DaySummaries(s.transactions, s.clock).rebuild()))
    assert staff.data(FIGURES, dates)["analytics"] == kept
    downgrade(live_server.database_url, "0028")  # as before the figures were kept: upgrading fills them
    upgrade(live_server.database_url)
    assert staff.data(FIGURES, dates)["analytics"] == kept

    # Staff later change what the threshold pays: what it paid then stands, and agrees with the orders.
    asyncio.run(_with(live_server, lambda s: tamper(s, "UPDATE campaigns SET bonus_points = 80")))
    assert staff.data(FIGURES, dates)["analytics"] == kept
    assert asyncio.run(_with(live_server, lambda s: s.reconciliation.run())).ok

    asyncio.run(_with(live_server, lambda s: tamper(s, "UPDATE day_figures SET views = views + 5 WHERE kind = 'ITEM'")))
    assert staff.data(FIGURES, dates)["analytics"]["itemHeat"][0]["views"] > 3  # read from the figures
    report = asyncio.run(_with(live_server, lambda s: s.reconciliation.run()))
    assert not report.ok and report.summaries.disagreements
    assert all(line.startswith("figures 2026-03-1") and " ITEM " in line for line in report.summaries.disagreements)
    asyncio.run(_with(live_server, lambda s: DaySummaries(s.transactions, s.clock).rebuild()))
    assert asyncio.run(_with(live_server, lambda s: s.reconciliation.run())).ok
    assert staff.data(FIGURES, dates)["analytics"] == kept
