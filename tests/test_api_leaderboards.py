"""Leaderboards, period prizes and badges: over HTTP on both databases, and Redis against SQL under random data."""
import asyncio
import random
import uuid
from collections import Counter
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from api.ops.services import Services
from domain.clock import ManualClock
from domain.configuration import SYSTEM
from domain.leaderboards import ALL_TIME_START, LeaderboardPeriod, LeaderboardService, ScoreChange, score_band
from domain.ledger import LedgerReason
from domain.points import PointsOperations
from persistence.leaderboards import TIE_BLOCK
from tests.conftest import START
from tests.documents import ADJUST, CHECK_IN
from tests.test_api_ledger import member_gid
from tests.conftest import REDIS_URL

BOARD = """query($period: LeaderboardPeriod!, $first: Int!) {
  leaderboard(period: $period, first: $first) { rank points member { displayName isMe } } }"""
RANK = "query($period: LeaderboardPeriod!) { me { rank(period: $period) { rank points member { displayName isMe } } } }"
RULE = """mutation($points: Int!) { updateCheckInRule(input: {basePoints: $points, streakBonuses: []}) {
  userErrors { code } } }"""


def board(client, period, first=10):
    return [(row["member"]["displayName"], row["points"]) for row in
            client.data(BOARD, {"period": period, "first": first})["leaderboard"]]


def test_day_week_month_and_all_time_in_the_brand_time_zone(live_server):
    staff = live_server.staff()
    staff.data(RULE, {"points": 10})
    alice, bob = live_server.member("lb-alice", "Alice"), live_server.member("lb-bob", "Bob")
    alice.data(CHECK_IN, {"key": "thu"})  # Thursday 2026-03-12, 10:00 in Shanghai
    bob.data(CHECK_IN, {"key": "thu"})
    live_server.clock.advance(timedelta(hours=13, minutes=30))  # 23:30 Thursday in Shanghai: still the same day
    assert board(alice, "DAY") == [("B**", 10), ("Alice", 10)]  # equal points: the later member first
    live_server.clock.advance(timedelta(hours=1))  # 00:30 Friday in Shanghai, 16:30 Thursday UTC
    alice.data(CHECK_IN, {"key": "fri"})
    staff.data(ADJUST, {"memberId": member_gid("lb-bob"), "delta": 1000, "memo": "gift", "key": "not-earned"})
    assert board(alice, "DAY") == [("Alice", 10)]
    for period in ("WEEK", "MONTH", "ALL_TIME"):
        assert board(alice, period) == [("Alice", 20), ("B**", 10)]
    live_server.clock.advance(timedelta(days=3))  # Monday: a new week in the same month
    assert board(alice, "WEEK") == [] and board(alice, "MONTH") == [("Alice", 20), ("B**", 10)]
    assert bob.data(RANK, {"period": "WEEK"})["me"]["rank"] is None
    assert bob.data(RANK, {"period": "MONTH"})["me"]["rank"] == {"rank": 2, "points": 10,
                                                                 "member": {"displayName": "Bob", "isMe": True}}
    too_many = alice.execute(BOARD, {"period": "DAY", "first": 101})
    assert too_many["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_a_member_sees_their_rank_far_outside_the_top(live_server):
    staff = live_server.staff()
    for i in range(1, 13):
        staff.data(RULE, {"points": i * 5})
        live_server.member(f"climber-{i:02d}", f"会员{i:02d}").data(CHECK_IN, {"key": "k"})
    top = board(live_server.anonymous(), "DAY", first=3)
    assert top == [("会**", 60), ("会**", 55), ("会**", 50)]
    last = live_server.member("climber-01").data(RANK, {"period": "DAY"})["me"]["rank"]
    assert last == {"rank": 12, "points": 5, "member": {"displayName": "会员01", "isMe": True}}


def test_period_prizes_are_paid_once_even_when_the_job_runs_twice(live_server):
    staff = live_server.staff()
    prizes = """mutation { updateLeaderboardPrizes(input: {period: DAY, tiers: [{upToRank: 1, points: 500},
      {upToRank: 2, points: 200}]}) { prizes { tiers { upToRank points } } userErrors { code } } }"""
    assert staff.data(prizes)["updateLeaderboardPrizes"]["prizes"]["tiers"] == [
        {"upToRank": 1, "points": 500}, {"upToRank": 2, "points": 200}]
    winners = [live_server.member(f"prize-{i}") for i in range(3)]
    for i, member in enumerate(winners):
        staff.data(RULE, {"points": 10 * (i + 1)})
        member.data(CHECK_IN, {"key": "day"})
    live_server.clock.advance(timedelta(days=1))

    async def award_twice():
        services = Services.build(live_server.database_url, live_server.clock)
        try:
            return [await services.leaderboards.award_closed_periods() for _ in range(2)]
        finally:
            await services.close()

    assert asyncio.run(award_twice()) == [2, 0]
    paid = [m.data("{ me { ledger(first: 5, reasons: [LEADERBOARD_PRIZE]) { edges { node { delta memo } } } } }")
            ["me"]["ledger"]["edges"] for m in winners]
    assert [[e["node"] for e in p] for p in paid] == [[], [{"delta": 200, "memo": "排行榜 日榜 第 2 名"}],
                                                      [{"delta": 500, "memo": "排行榜 日榜 第 1 名"}]]
    assert board(live_server.anonymous(), "ALL_TIME")[0][1] == 30  # a prize is not an earning


def test_badges_are_awarded_once_with_a_toast_and_a_date(live_server):
    member = live_server.member("badge-hunter")
    for day in range(8):
        member.data(CHECK_IN, {"key": f"day-{day}"})
        live_server.clock.advance(timedelta(days=1))
    badges = member.data("{ me { badges { code name awardedAt } } }")["me"]["badges"]
    assert [b["code"] for b in badges] == ["FIRST_CHECK_IN", "STREAK_7"]
    assert badges[1]["name"] == "七日之约" and badges[1]["awardedAt"].startswith("2026-03-18")


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(earnings=st.lists(st.tuples(st.integers(0, 7), st.integers(1, 4), st.integers(0, 9)), min_size=1,
                         max_size=25))
def test_redis_and_sql_leaderboards_agree(database_url, redis_prefix, earnings):
    asyncio.run(compare_paths(database_url, redis_prefix, earnings))


async def compare_paths(database_url, prefix, earnings):
    clock = ManualClock(START)
    services = Services.build(database_url, clock, redis_url=REDIS_URL, redis_prefix=prefix)
    sql = LeaderboardService(services.leaderboards.operations, services.transactions, clock, cache=None)
    operations = PointsOperations(services.transactions, clock)
    try:
        members = [await services.members.ensure(f"random-{i}", f"r{i}") for i in range(8)]
        for who, points, hours in earnings:
            clock.advance(timedelta(hours=hours))

            async def earn(ctx, points=points):
                ctx.member.account.credit(points, LedgerReason.TASK, ctx.now, None, SYSTEM.label, "random")

            await operations.run(actor=SYSTEM, key=uuid.uuid4().hex, operation="randomEarning", payload={},
                                 member_id=members[who].id, rule=earn)
        for period in LeaderboardPeriod:
            assert await services.leaderboards.top(period, 50) == await sql.top(period, 50)
            for member in members:
                assert await services.leaderboards.standing(member.id, period) == await sql.standing(member.id,
                                                                                                    period)
    finally:
        await services.close()


async def test_ranks_without_redis_count_bands_and_agree_with_the_whole_order(services):
    """Scores spread from 1 to a million, many tied and many sharing a band, raised again and again:
    each rank from the bands equals the member's place in the full order, and the bands the triggers
    keep equal the scores grouped again."""
    picks = random.Random(24)
    ids = await members_far_apart(services, 120)  # ties span several blocks of member ids
    starts_on = ALL_TIME_START
    for round_ in range(4):
        changes = [ScoreChange(m, LeaderboardPeriod.ALL_TIME, starts_on, picks.choice(
            [1, 7, 10, 95, 100, 1000, picks.randint(1, 300_000)])) for m in picks.sample(ids, 80)]
        await services.transactions.write(lambda uow, c=changes: uow.leaderboards.add(c))
        order = await services.transactions.read(
            lambda uow: uow.leaderboards.all_scores(LeaderboardPeriod.ALL_TIME, starts_on))
        for place, (member_id, points) in enumerate(order, start=1):
            standing = await services.transactions.read(
                lambda uow, m=member_id: uow.leaderboards.standing(LeaderboardPeriod.ALL_TIME, starts_on, m))
            assert (standing.points, standing.rank) == (points, place), (round_, member_id)
    bands, ties, scores = await kept_counts(services)
    assert bands == Counter(score_band(points)[0] for points, _ in scores)
    assert ties == Counter((points, member_id // TIE_BLOCK) for points, member_id in scores)


async def members_far_apart(services, count: int) -> list[int]:
    ids = [1 + n * 1500 for n in range(count)]
    async with services.database.write_engine.begin() as connection:
        await connection.execute(text(
            "INSERT INTO members (id, external_id, nickname, created_at, tier_level, growth, balance, held, pending, "
            "lifetime_earned, debt) VALUES (:id, :external_id, 'b', :at, 1, 0, 0, 0, 0, 0, 0)"),
            [{"id": i, "external_id": f"band-{i}", "at": START.replace(tzinfo=None)} for i in ids])
    return ids


async def kept_counts(services):
    async with services.database.read_engine.connect() as connection:
        bands = Counter(dict((await connection.execute(text(
            "SELECT band, sum(members) FROM leaderboard_bands GROUP BY band HAVING sum(members) <> 0"))).all()))
        ties = Counter({(points, block): n for points, block, n in (await connection.execute(text(
            "SELECT points, block, members FROM leaderboard_ties WHERE members <> 0")))})
        scores = (await connection.execute(text("SELECT points, member_id FROM leaderboard_scores"))).all()
    return bands, ties, scores
