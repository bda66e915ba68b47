"""Lottery chances (抽奖机会) over real HTTP on both databases, with the clock moved: sharing a poster pays
chances up to the day's cap, tasks, orders and streak days pay them by the brand's rule (a refunded
order's unused chances go), staff grant them; a draw spends the first-expiring one, exactly once under
concurrency; lotteries take points, chances or either, and may be limited to tiers."""
import asyncio
from datetime import datetime, timedelta

import httpx

from tests.documents import CHECK_IN
from tests.test_api_ledger import member_gid
from tests.test_api_lottery import CREATE_LOTTERY, nothing, points_prize
from tests.test_api_mall import funded
from tests.test_api_orders import RECORD, REFUND
from tests.test_api_tasks import COMPLETE, CREATE as CREATE_TASK

SHARE = """mutation($channel: ShareChannel!, $key: String!) { sharePoster(input: {channel: $channel, idempotencyKey: $key}) {
  poster { title invitationCode deepLink } chancesGranted userErrors { field code } } }"""
CHANCES = "{ me { invitationCode lotteryChances(first: 10) { available chances { source grantedAt expiresAt } } } }"
DRAW = """mutation($lottery: ID!, $key: String!, $chance: Boolean!) {
  drawLottery(input: {lotteryId: $lottery, idempotencyKey: $key, useChance: $chance}) {
    entry { reason delta } draw { id entryCost paidWithChance } member { points { available } }
    userErrors { field code } } }"""
GRANT = """mutation($member: ID!, $count: Int!, $key: String!) {
  grantLotteryChances(input: {memberId: $member, count: $count, memo: "客服补偿", idempotencyKey: $key}) {
    member { lotteryChances { available } } userErrors { field code } } }"""
RULE = """mutation($task: Int!, $order: Int!, $perFen: Int!, $days: [Int!]!, $counts: [Int!]!) {
  updateChanceRule(input: {taskChances: $task, orderChances: $order, orderFenPerChance: $perFen,
                           streakDays: $days, streakChances: $counts}) {
    rule { taskChances orderChances streakDays streakChances validDays } userErrors { field code } } }"""


def lottery(live_server, payment="EITHER", cost=50, **extra) -> str:
    staff = live_server.staff()
    created = staff.data(CREATE_LOTTERY, {"name": "机会转盘", "cost": cost,
                                          "prizes": [points_prize("小奖", 1, 5), nothing(9)]})["createLottery"]
    lottery_id = created["lottery"]["id"]
    changed = staff.data("""mutation($id: ID!, $payment: LotteryPayment!, $tier: Int!) {
        updateLottery(input: {lotteryId: $id, payment: $payment, minTierLevel: $tier}) {
        lottery { payment minTierLevel } userErrors { code } } }""",
                         {"id": lottery_id, "payment": payment, "tier": extra.get("tier", 1)})["updateLottery"]
    assert changed["userErrors"] == [] and changed["lottery"]["payment"] == payment
    return lottery_id


def chances_of(member) -> dict:
    return member.data(CHANCES)["me"]["lotteryChances"]


def draw(member, lottery_id, key, chance=True) -> dict:
    return member.data(DRAW, {"lottery": lottery_id, "key": key, "chance": chance})["drawLottery"]


def codes(payload) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


def test_sharing_pays_chances_up_to_the_day_s_cap_and_shows_the_poster(live_server):
    member = funded(live_server, "sharer", 0)
    code = member.data(CHANCES)["me"]["invitationCode"]
    shares = [member.data(SHARE, {"channel": "WECHAT_MOMENTS", "key": f"s{n}"})["sharePoster"] for n in range(5)]
    assert [s["chancesGranted"] for s in shares] == [1, 1, 1, 0, 0]  # the default rule: 1 a share, 3 a day
    assert shares[0]["poster"] == {"title": "邀请你一起来赚积分", "invitationCode": code,
                                   "deepLink": f"/h5/?invite={code}"}
    replay = member.data(SHARE, {"channel": "WECHAT_MOMENTS", "key": "s0"})["sharePoster"]
    assert replay["chancesGranted"] == 1 and chances_of(member)["available"] == 3
    mine = chances_of(member)["chances"]
    assert {c["source"] for c in mine} == {"SHARE"}
    granted = datetime.fromisoformat(mine[0]["grantedAt"])
    assert datetime.fromisoformat(mine[0]["expiresAt"]) - granted == timedelta(days=7)
    live_server.clock.advance(timedelta(days=1))
    assert member.data(SHARE, {"channel": "GROUP_CHAT", "key": "next-day"})["sharePoster"]["chancesGranted"] == 1
    assert "errors" in member.execute(SHARE, {"channel": "FAX", "key": "x"})  # not a channel: refused, not a 500


def test_a_draw_spends_the_first_expiring_chance_and_payment_rules_hold(live_server):
    either, chances_only, points_only = (lottery(live_server, p) for p in ("EITHER", "CHANCES", "POINTS"))
    member = funded(live_server, "chancer", 0)
    assert codes(draw(member, either, "none")) == ["NO_CHANCE_LEFT"]
    member.data(SHARE, {"channel": "WECHAT_FRIEND", "key": "s1"})
    live_server.clock.advance(timedelta(days=2))
    granted = live_server.staff().data(GRANT, {"member": member_gid("chancer"), "count": 2, "key": "g1"})
    assert granted["grantLotteryChances"]["member"]["lotteryChances"]["available"] == 3
    assert [c["source"] for c in chances_of(member)["chances"]] == ["SHARE", "STAFF", "STAFF"]

    paid = draw(member, either, "d1")
    assert paid["userErrors"] == [] and paid["draw"]["paidWithChance"] is True and paid["draw"]["entryCost"] == 0
    assert paid["entry"] is None or paid["entry"]["reason"] == "LOTTERY_PRIZE"  # no entry cost was taken
    assert [c["source"] for c in chances_of(member)["chances"]] == ["STAFF", "STAFF"]  # the share's went first
    assert codes(draw(member, either, "poor", chance=False)) == ["INSUFFICIENT_POINTS"]
    assert codes(draw(member, chances_only, "pts", chance=False)) == ["PAYMENT_NOT_ACCEPTED"]
    assert codes(draw(member, points_only, "chs")) == ["PAYMENT_NOT_ACCEPTED"]
    assert draw(member, chances_only, "d2")["userErrors"] == []

    live_server.clock.advance(timedelta(days=7))  # the staff grant's last chance is past its 7 days
    assert chances_of(member) == {"available": 0, "chances": []}
    assert codes(draw(member, chances_only, "d3")) == ["NO_CHANCE_LEFT"]


def test_chances_pay_one_draw_each_under_concurrency(live_server):
    either = lottery(live_server)
    member = funded(live_server, "racer", 0)
    live_server.staff().data(GRANT, {"member": member_gid("racer"), "count": 3, "key": "g"})
    sends = [{"lottery": either, "key": "same", "chance": True}] * 8 + \
        [{"lottery": either, "key": f"k{n}", "chance": True} for n in range(10)]

    async def all_at_once():
        async with httpx.AsyncClient() as http:
            return await asyncio.gather(*(member.execute_async(http, DRAW, v) for v in sends))

    answers = [a["data"]["drawLottery"] for a in asyncio.run(all_at_once())]
    assert len({a["draw"]["id"] for a in answers[:8]}) == 1  # one key, one draw
    won = [a for a in answers[8:] if not a["userErrors"]]
    assert len(won) == 2 and all(codes(a) == ["NO_CHANCE_LEFT"] for a in answers[8:] if a["userErrors"])
    assert chances_of(member)["available"] == 0
    draws = member.data("{ me { lotteryDraws(first: 20) { edges { node { paidWithChance } } } } }")
    assert len(draws["me"]["lotteryDraws"]["edges"]) == 3


def test_tasks_orders_and_streak_days_pay_chances_by_the_brand_s_rule(live_server):
    staff = live_server.staff()
    rule = staff.data(RULE, {"task": 1, "order": 1, "perFen": 10000, "days": [2], "counts": [2]})["updateChanceRule"]
    assert rule["userErrors"] == [] and rule["rule"]["streakDays"] == [2]
    member = funded(live_server, "earner", 0)
    staff.data(CREATE_TASK, {"code": "browse", "period": "DAILY", "cap": 1})
    assert member.data(COMPLETE, {"code": "browse", "key": "t"})["completeTask"]["userErrors"] == []
    assert chances_of(member)["available"] == 1
    recorded = staff.data(RECORD, {"memberId": member_gid("earner"), "orderId": "ord-1", "amount": 25000,
                                   "key": "o1"})["recordOrder"]
    assert recorded["userErrors"] == [] and chances_of(member)["available"] == 1 + 3  # one, and two per 100 yuan
    staff.data(REFUND, {"orderId": "ord-1", "amount": 5000, "key": "r1"})
    assert chances_of(member)["available"] == 4  # a partial refund keeps them
    staff.data(REFUND, {"orderId": "ord-1", "amount": 20000, "key": "r2"})
    assert chances_of(member)["available"] == 1  # the whole order refunded: its unused chances go
    member.data(CHECK_IN, {"key": "c1"})
    live_server.clock.advance(timedelta(days=1))
    member.data(CHECK_IN, {"key": "c2"})
    sources = [c["source"] for c in chances_of(member)["chances"]]
    assert sorted(sources) == ["STREAK", "STREAK", "TASK"]


def test_lotteries_limited_to_tiers_and_staff_input_that_makes_no_sense(live_server):
    gated = lottery(live_server, "EITHER", tier=2)
    member = funded(live_server, "low-tier", 500)
    assert codes(draw(member, gated, "t", chance=False)) == ["TIER_TOO_LOW"]
    staff = live_server.staff()
    bad = staff.data(RULE, {"task": 99, "order": 0, "perFen": 0, "days": [], "counts": []})["updateChanceRule"]
    assert bad["userErrors"] == [{"field": ["taskChances"], "code": "INVALID_INPUT"}]
    unpaired = staff.data(RULE, {"task": 0, "order": 0, "perFen": 0, "days": [3], "counts": []})["updateChanceRule"]
    assert unpaired["userErrors"][0]["code"] == "INVALID_INPUT"
    assert staff.data(GRANT, {"member": member_gid("low-tier"), "count": 0, "key": "z"})["grantLotteryChances"][
        "userErrors"] == [{"field": ["count"], "code": "INVALID_INPUT"}]
    assert member.execute(GRANT, {"member": member_gid("low-tier"), "count": 1, "key": "self"})["errors"][0][
        "extensions"]["code"] == "FORBIDDEN"
    other = """query($id: ID!) { member(id: $id) { lotteryChances { available } } }"""
    assert live_server.member("nosy").execute(other, {"id": member_gid("low-tier")})["errors"][0]["extensions"][
        "code"] == "FORBIDDEN"
