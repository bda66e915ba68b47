"""How the staff and operations paths grow with the data: fill a database to N members with K entries
each, then time each operation, at two sizes, and report the growth factor.

The fill is a documented bulk path, not the GraphQL API (a year of a brand's activity through the
API would take hours): members, their ledger entries (daily check-ins over the past year, a
redemption every tenth entry, with its row and a view of its item; a task completion row every tenth
check-in), their lots (never expiring, but for every eleventh member 10 points
expiring in a fortnight, for the reminders), balances, growth, tiers and all-time leaderboard
scores, all consistent, which `jifen check` proves after the day summaries are built from that
ledger (`jifen rebuild-summaries`, as after an import): the bench stops if it is not OK.

    python bench/scale.py --database sqlite --sizes 10000x50,100000x50
    python bench/scale.py --database postgresql --sizes 2000x50,20000x50
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from flash_sale import database  # noqa: E402

from sqlalchemy import insert  # noqa: E402

from api.ops.services import Services  # noqa: E402
from domain.clock import ManualClock  # noqa: E402
from domain.configuration import Actor  # noqa: E402
from domain.day_summaries import STATUS_KEY, DaySummaries, SummaryStatus  # noqa: E402
from domain.ledger import NEVER  # noqa: E402
from domain.tiers import DEFAULT_TIERS  # noqa: E402
from persistence import migrate  # noqa: E402
from domain.leaderboards import ALL_TIME_START, LeaderboardPeriod  # noqa: E402
from persistence.tables import (item_views, leaderboard_scores, ledger_entries, mall_items, members,  # noqa: E402
                               point_lots, redemptions, task_completions)

NOW = datetime(2026, 12, 1, 4, tzinfo=UTC)
CHUNK = 20_000
ITEMS = 40
SHANGHAI = timedelta(hours=8)  # the brand's zone: a view's local day
STEP_TABLES = {table.name: table for table in (ledger_entries, redemptions, item_views, task_completions)}


class Member:
    """One member's state as the fill steps through the year."""

    __slots__ = ("id", "start", "balance", "growth", "last_at")

    def __init__(self, member_id: int) -> None:
        self.id, self.balance, self.growth, self.last_at = member_id, 0, 0, None
        self.start = NOW - timedelta(days=365) + timedelta(minutes=member_id % 1440)


def step_rows(member: Member, n: int, per_member: int, rows: dict[str, list[dict]]) -> None:
    """The member's ``n``-th entry (a check-in, or every tenth a redemption when they can afford it,
    with its row and a view of its item; every tenth check-in a task completion row too)."""
    at = member.start + timedelta(days=n * 365 // per_member)
    if n % 10 == 9 and member.balance >= 20:
        delta, reason = -20, "REDEMPTION"
        item_id = 1 + (member.id + n) % ITEMS
        rows["redemptions"].append({"member_id": member.id, "item_id": item_id, "item_name": f"商品{item_id}",
                                    "quantity": 1, "points": 20, "status": "PENDING", "created_at": at})
        rows["item_views"].append({"item_id": item_id, "member_id": member.id, "day": (at + SHANGHAI).date(),
                                   "viewed_at": at})
    else:
        delta, reason = 10, "CHECK_IN"
        member.growth += 10
        if n % 10 == 3:
            rows["task_completions"].append({"member_id": member.id, "task_code": f"task{member.id % 5}",
                                             "period_key": at.date().isoformat(), "completed_at": at})
    member.balance += delta
    member.last_at = at
    rows["ledger_entries"].append({"member_id": member.id, "delta": delta, "balance_after": member.balance,
                                   "reason": reason, "occurred_at": at, "expires_at": None, "memo": None,
                                   "actor": f"member:s{member.id}", "ref": None})


def final_rows(member: Member, rows: dict[str, list[dict]]) -> None:
    """The member row, lots and score once every entry is in: each balance the sum of its entries."""
    balance, growth = member.balance, member.growth
    rows["members"].append({"id": member.id, "external_id": f"s{member.id}", "nickname": f"会员{member.id}",
                            "created_at": member.start, "tier_level": DEFAULT_TIERS.level_for(growth),
                            "growth": growth, "balance": balance, "held": 0, "pending": 0, "lifetime_earned": growth,
                            "debt": 0, "period_growth": 0, "last_active_at": member.last_at})
    soon = 10 if member.id % 11 == 0 and balance >= 10 else 0  # for the expiry reminders
    if soon:
        rows["point_lots"].append({"member_id": member.id, "expires_at": NOW + timedelta(days=14), "remaining": soon})
    if balance - soon:
        rows["point_lots"].append({"member_id": member.id, "expires_at": NEVER, "remaining": balance - soon})
    if growth:
        rows["leaderboard_scores"].append({"period": LeaderboardPeriod.ALL_TIME.value, "starts_on": ALL_TIME_START,
                                           "member_id": member.id, "points": growth})


def item_rows() -> list[dict]:
    return [{"id": n, "name": f"商品{n}", "kind": "GOODS", "points_price": 20, "cash_price_fen": 0, "stock": 10 ** 9,
             "per_member_limit": 0, "min_tier_level": 1, "on_shelf": True, "category": "", "description": "",
             "position": n, "created_at": NOW - timedelta(days=400), "group_size": 0, "group_points_price": 0,
             "group_hours": 24} for n in range(1, ITEMS + 1)]


async def fill(services: Services, count: int, per_member: int) -> float:
    """Members first (their final state worked out ahead), then the year's entries in time order, so
    entry ids rise with time as a real ledger's do; a transaction per ``CHUNK`` entries."""
    started = time.perf_counter()
    engine = services.database.write_engine
    people = [Member(member_id) for member_id in range(1, count + 1)]
    finals = {table.name: [] for table in (members, point_lots, leaderboard_scores)}
    for member in people:
        for n in range(per_member):
            step_rows(member, n, per_member, {name: [] for name in STEP_TABLES})
        final_rows(member, finals)
    async with engine.begin() as connection:
        await connection.execute(insert(mall_items), item_rows())
        for table in (members, point_lots, leaderboard_scores):
            for first in range(0, len(finals[table.name]), CHUNK):
                await connection.execute(insert(table), finals[table.name][first:first + CHUNK])
    people = [Member(member.id) for member in sorted(people, key=lambda m: (m.start, m.id))]  # in time order
    for n in range(per_member):
        for first in range(0, count, CHUNK):
            rows = {name: [] for name in STEP_TABLES}
            for member in people[first:first + CHUNK]:
                step_rows(member, n, per_member, rows)
            async with engine.begin() as connection:
                for name, table_rows in rows.items():
                    if table_rows:
                        await connection.execute(insert(STEP_TABLES[name]), table_rows)
    if services.database.dialect == "postgresql":
        async with engine.begin() as connection:  # ids were given: move the sequence past them
            for table in ("members", "mall_items"):
                await connection.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                                 f"(SELECT max(id) FROM {table}))")
    if services.database.dialect == "postgresql":  # as autovacuum would have by now: index-only scans need it
        async with engine.connect() as connection:
            await (await connection.execution_options(isolation_level="AUTOCOMMIT")).exec_driver_sql("VACUUM ANALYZE")
    return time.perf_counter() - started


async def timed(action) -> tuple[float, object]:
    started = time.perf_counter()
    result = await action()
    return time.perf_counter() - started, result


async def measure(url: str, count: int, per_member: int) -> dict[str, float]:
    migrate.upgrade(url)
    services = Services.build(url, ManualClock(NOW))
    try:
        figures = {"fill (s)": await fill(services, count, per_member)}
        figures["jifen rebuild-summaries (s)"] = (await timed(
            DaySummaries(services.transactions, services.clock).rebuild))[0]  # the bulk fill wrote no summaries
        seconds, report = await timed(services.reconciliation.run)
        if not report.ok:
            raise SystemExit(f"the fill is not consistent: {list(report.problems.items())[:3]} "
                             f"{report.summaries.disagreements[:3]}")
        figures["jifen check (s)"] = seconds
        figures["jifen check --since-last, nothing new (s)"] = (await timed(
            lambda: services.reconciliation.run(since_last=True)))[0]
        last = NOW.date() - timedelta(days=1)
        for days in (30, 92):
            figures[f"analytics {days} days (s)"] = (await timed(
                lambda d=days: services.analytics.period(last - timedelta(days=d - 1), last)))[0]
        first = last - timedelta(days=91)
        figures["itemHeat 92 days, first 10 (s)"] = (await timed(
            lambda: services.analytics.item_heat(first, last, 10)))[0]
        figures["taskParticipation 92 days (s)"] = (await timed(
            lambda: services.analytics.task_participation(first, last)))[0]
        figures.update(await from_the_rows(services, first, last))
        figures["liability, taken (s)"] = (await timed(lambda: services.analytics.liability(refresh=True)))[0]
        figures["liability, kept (s)"] = (await timed(services.analytics.liability))[0]
        figures["tierDistribution, taken (s)"] = (await timed(
            lambda: services.analytics.tier_distribution(refresh=True)))[0]
        figures["tierDistribution, kept (s)"] = (await timed(services.analytics.tier_distribution))[0]
        figures["jifen segments (s)"] = (await timed(services.segments.refresh))[0]
        seconds, reminded = await timed(services.notifications.remind_expiring)
        figures["expiry reminders (s)"] = seconds
        figures["expiry reminders due"] = reminded
        figures.update(await ranks(services, count))
        figures.update(await member_paths(services, count))
        return figures
    finally:
        await services.close()


async def from_the_rows(services: Services, first: date, last: date) -> dict[str, float]:
    """The same two reports read from the rows themselves, as while the summaries are stale (and as
    before they were kept): the baseline the figures are measured against."""
    async def put_status(record):
        await services.transactions.write(lambda uow: uow.settings.put(STATUS_KEY, record, "bench", NOW))

    kept = await services.transactions.read(lambda uow: uow.settings.get(STATUS_KEY))
    await put_status(SummaryStatus(None).to_record())
    try:
        return {"itemHeat 92 days, from the rows (s)": (await timed(
                    lambda: services.analytics.item_heat(first, last, 10)))[0],
                "taskParticipation 92 days, from the rows (s)": (await timed(
                    lambda: services.analytics.task_participation(first, last)))[0]}
    finally:
        await put_status(kept)


async def ranks(services: Services, count: int) -> dict[str, float]:
    """A member's all-time rank near the top, in the middle and near the bottom (SQL: no Redis here),
    the median of 21 asks: a server's connections keep the statement prepared after the first."""
    found = {}
    for where, member_id in (("near the top", count), ("in the middle", count // 2), ("near the bottom", 2)):
        times = []
        for _ in range(21):
            seconds, standing = await timed(lambda m=member_id: services.leaderboards.standing(
                m, LeaderboardPeriod.ALL_TIME))
            times.append(seconds)
        found[f"rank {where} (ms)"] = sorted(times)[10] * 1000
        found[f"rank {where}, place"] = standing.rank
    return found


async def member_paths(services: Services, count: int, samples: int = 200) -> dict[str, float]:
    """What a member's own requests cost at this size, through the services (no HTTP): a check-in and
    the home page's reads (the member, then their first ledger page), for members spread over the ids."""
    ids = [1 + n * (count // samples) for n in range(samples)]
    started = time.perf_counter()
    for member_id in ids:
        await services.transactions.read(lambda uow, m=member_id: uow.members.get(m))
        await services.transactions.read(lambda uow, m=member_id: uow.ledger.entries_page(m, None, 11, None))
    home = (time.perf_counter() - started) / samples
    started = time.perf_counter()
    for member_id in ids:
        outcome = await services.check_in.check_in(Actor("member", f"s{member_id}"), member_id, f"bench-{member_id}")
        assert outcome.error is None, outcome.error
    check_in = (time.perf_counter() - started) / samples
    return {"home page reads, each (ms)": home * 1000, "check-in, each (ms)": check_in * 1000}


def sizes(text: str) -> list[tuple[int, int]]:
    return [tuple(int(part) for part in size.split("x")) for size in text.split(",")]  # type: ignore[misc]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--sizes", default="10000x50,100000x50", help="MEMBERSxENTRIES_PER_MEMBER, comma-separated")
    args = parser.parse_args()
    results = []
    for count, per_member in sizes(args.sizes):
        with database(args.database) as url:
            print(f"{args.database}: {count:,} members x {per_member} entries = {count * per_member:,} entries",
                  flush=True)
            results.append(((count, per_member), asyncio.run(measure(url, count, per_member))))
            for name, value in results[-1][1].items():
                print(f"  {name:45} {value:8.3f}", flush=True)
    if len(results) == 2:
        (small_size, small), (large_size, large) = results
        factor = large_size[0] * large_size[1] / (small_size[0] * small_size[1])
        print(f"growth factor, data x{factor:g}:")
        for name in small.keys() & large.keys():
            print(f"  {name:45} x{large[name] / max(small[name], 1e-9):.1f}")
    print(f"run on {date.today().isoformat()}")


if __name__ == "__main__":
    main()
