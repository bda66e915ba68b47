"""Lotteries over real HTTP on both databases: odds, stock and fallback, pity, limits, and verifiable draws."""
import asyncio
import base64
import hashlib
import hmac
from collections import Counter
from datetime import timedelta

import httpx

from api.ops.services import Services
from tests.test_api_mall import create, funded

CREATE_LOTTERY = """
mutation($name: String!, $cost: Int!, $prizes: [PrizeInput!]!, $daily: Int = 0, $pity: Int = 0) {
  createLottery(input: {name: $name, entryCost: $cost, prizes: $prizes, dailyLimit: $daily, pityAfter: $pity}) {
    lottery { id version seedCommitment prizes { id name probability stock } } userErrors { field code message }
  }
}
"""
DRAW = """
mutation($lottery: ID!, $key: String!, $seed: String) {
  drawLottery(input: {lotteryId: $lottery, idempotencyKey: $key, clientSeed: $seed}) {
    entry { reason delta }
    draw { id sequence roll message seedEpoch pityApplied fellBack prize { id name } drawnPrize { id name }
           candidates redemption { itemName points code } }
    member { points { available } } userErrors { field code }
  }
}
"""
VERIFY = """
query($draw: ID!) {
  verifyLotteryDraw(drawId: $draw) {
    valid serverSeed seedCommitment recomputedRoll recomputedPrizeId draw { roll message prize { id } }
  }
}
"""
REVEAL = """
mutation($lottery: ID!) {
  revealLotterySeed(input: {lotteryId: $lottery}) { epoch serverSeed nextSeedCommitment userErrors { code } }
}
"""


def points_prize(name, weight, points, **extra):
    return {"name": name, "kind": "POINTS", "weight": weight, "points": points, **extra}


def nothing(weight, fallback=True):
    return {"name": "谢谢参与", "kind": "NOTHING", "weight": weight, "fallback": fallback}


def new_lottery(live_server, prizes, cost=0, **extra):
    created = live_server.staff().data(CREATE_LOTTERY, {"name": "幸运大转盘", "cost": cost, "prizes": prizes,
                                                        **extra})["createLottery"]
    assert created["userErrors"] == [], created
    return created["lottery"]


def draw(member, lottery_id, key, seed=None):
    return member.data(DRAW, {"lottery": lottery_id, "key": key, "seed": seed})["drawLottery"]


def test_odds_over_many_seeded_draws_match_the_table(live_server):
    lottery = new_lottery(live_server, [points_prize("一等奖", 10, 30), points_prize("二等奖", 30, 10), nothing(60)])
    assert [p["probability"] for p in lottery["prizes"]] == [0.1, 0.3, 0.6]
    member = funded(live_server, "gambler", 1)
    counts = Counter(draw(member, lottery["id"], f"d{i}")["draw"]["prize"]["name"] for i in range(300))
    # Binomial bounds at about 4 standard deviations: a fair table lands inside them virtually always.
    assert 12 <= counts["一等奖"] <= 48 and 58 <= counts["二等奖"] <= 122 and 148 <= counts["谢谢参与"] <= 212
    balance = member.data("{ me { points { available } } }")["me"]["points"]["available"]
    assert balance == 1 + 30 * counts["一等奖"] + 10 * counts["二等奖"]


def test_a_prize_out_of_stock_falls_back_and_its_stock_never_goes_negative(live_server):
    cup = create(live_server.staff(), "保温杯", 500, 10)
    lottery = new_lottery(live_server, [{"name": "保温杯", "kind": "ITEM", "weight": 90, "itemId": cup, "stock": 2},
                                        points_prize("5 积分", 10, 5, fallback=True)], cost=1)
    member = funded(live_server, "lucky", 100)
    draws = [draw(member, lottery["id"], f"s{i}")["draw"] for i in range(12)]
    won = [d for d in draws if d["prize"]["name"] == "保温杯"]
    assert len(won) == 2 and all(d["redemption"] == {"itemName": "保温杯", "points": 0, "code": None} for d in won)
    fell_back = [d for d in draws if d["fellBack"]]
    assert fell_back and all(d["drawnPrize"]["name"] == "保温杯" and d["prize"]["name"] == "5 积分"
                             for d in fell_back)
    listed = live_server.anonymous().data("{ lotteries { prizes { name stock } } }")["lotteries"][0]["prizes"]
    assert listed == [{"name": "保温杯", "stock": 0}, {"name": "5 积分", "stock": None}]


def test_the_pity_counter_guarantees_a_win_on_the_nth_draw(live_server):
    lottery = new_lottery(live_server, [points_prize("大奖", 1, 888), nothing(9999)], pity=5)
    member = funded(live_server, "unlucky", 1)
    progress = "query { lotteries { myDrawsUntilGuaranteed myDrawsToday } }"
    assert member.data(progress)["lotteries"] == [{"myDrawsUntilGuaranteed": 5, "myDrawsToday": 0}]
    draws = [draw(member, lottery["id"], f"p{i}")["draw"] for i in range(10)]
    assert [d["pityApplied"] for d in draws] == [False] * 4 + [True] + [False] * 4 + [True]
    assert [d["prize"]["name"] for d in draws].count("大奖") == 2
    assert draws[4]["prize"]["name"] == draws[9]["prize"]["name"] == "大奖"
    assert member.data(progress)["lotteries"] == [{"myDrawsUntilGuaranteed": 5, "myDrawsToday": 10}]


def test_entry_cost_daily_limit_and_refusals_leave_points_alone(live_server):
    lottery = new_lottery(live_server, [nothing(1, fallback=False), nothing(1)], cost=10, daily=2)
    member = funded(live_server, "daily", 25)
    first = draw(member, lottery["id"], "a")
    assert first["entry"] == {"reason": "LOTTERY_ENTRY", "delta": -10}
    assert draw(member, lottery["id"], "a") == first  # the same key: the same draw, charged once
    assert draw(member, lottery["id"], "b")["member"]["points"]["available"] == 5
    refused = draw(member, lottery["id"], "c")
    assert refused["userErrors"] == [{"field": ["lotteryId"], "code": "DAILY_LIMIT_REACHED"}]
    live_server.clock.advance(timedelta(days=1))
    poor = draw(member, lottery["id"], "d")
    assert poor["userErrors"] == [{"field": ["lotteryId"], "code": "INSUFFICIENT_POINTS"}]
    assert member.data("{ me { points { available } } }")["me"]["points"]["available"] == 5
    staff = live_server.staff()
    disable = "mutation($id: ID!) { updateLottery(input: {lotteryId: $id, enabled: false}) { userErrors { code } } }"
    assert staff.data(disable, {"id": lottery["id"]})["updateLottery"]["userErrors"] == []
    assert draw(funded(live_server, "late", 50), lottery["id"], "e")["userErrors"][0]["code"] == "LOTTERY_CLOSED"
    assert live_server.anonymous().data("{ lotteries { id } }")["lotteries"] == []


def test_a_past_draw_is_recomputed_from_its_record_once_the_seed_is_revealed(live_server):
    lottery = new_lottery(live_server, [points_prize("一等奖", 1, 100), points_prize("二等奖", 3, 20), nothing(6)])
    commitment = lottery["seedCommitment"]
    member = funded(live_server, "auditor-friend", 1)
    made = draw(member, lottery["id"], "k1", seed="my lucky seed")["draw"]
    auditor = live_server.anonymous()
    before = auditor.data(VERIFY, {"draw": made["id"]})["verifyLotteryDraw"]
    assert before["valid"] is None and before["serverSeed"] is None and before["seedCommitment"] == commitment
    revealed = live_server.staff().data(REVEAL, {"lottery": lottery["id"]})["revealLotterySeed"]
    assert revealed["epoch"] == 1 and revealed["nextSeedCommitment"] != commitment
    after = auditor.data(VERIFY, {"draw": made["id"]})["verifyLotteryDraw"]
    assert after["valid"] is True and after["serverSeed"] == revealed["serverSeed"]
    # The auditor's own arithmetic, from published facts only.
    seed = bytes.fromhex(after["serverSeed"])
    assert hashlib.sha256(seed).hexdigest() == commitment
    assert made["message"].endswith(":1:my lucky seed")
    roll = int.from_bytes(hmac.new(seed, made["message"].encode(), hashlib.sha256).digest()[:7], "big")
    assert str(roll) == made["roll"] == after["recomputedRoll"]
    weights = {p["id"]: w for p, w in zip(lottery["prizes"], (1, 3, 6))}
    point, chosen = roll % 10, None
    for prize_id in made["candidates"]:
        if point < weights[prize_id]:
            chosen = prize_id
            break
        point -= weights[prize_id]
    assert chosen == made["prize"]["id"] == after["recomputedPrizeId"]
    # Draws after the reveal use the new seed, so the revealed one predicts nothing.
    assert draw(member, lottery["id"], "k2")["draw"]["seedEpoch"] == 2


def test_a_new_prize_table_is_a_new_version_and_old_draws_keep_theirs(live_server):
    lottery = new_lottery(live_server, [points_prize("旧奖", 1, 1), nothing(1)])
    member = funded(live_server, "versioned", 1)
    old = draw(member, lottery["id"], "v1")["draw"]
    update = """mutation($id: ID!, $prizes: [PrizeInput!]!) {
      updateLottery(input: {lotteryId: $id, prizes: $prizes}) { lottery { version prizes { name } } userErrors { code } } }"""
    updated = live_server.staff().data(update, {"id": lottery["id"], "prizes": [points_prize("新奖", 1, 2), nothing(1)]})
    assert updated["updateLottery"]["lottery"] == {"version": 2, "prizes": [{"name": "新奖"}, {"name": "谢谢参与"}]}
    assert draw(member, lottery["id"], "v2")["draw"]["message"].startswith(f"{lottery_number(lottery)}:2:")
    live_server.staff().data(REVEAL, {"lottery": lottery["id"]})
    assert live_server.anonymous().data(VERIFY, {"draw": old["id"]})["verifyLotteryDraw"]["valid"] is True
    history = member.data("{ me { lotteryDraws(first: 5) { edges { node { version prize { name } } } } } }")
    assert [e["node"]["version"] for e in history["me"]["lotteryDraws"]["edges"]] == [2, 1]


def lottery_number(lottery):
    return base64.b64decode(lottery["id"]).decode().split(":")[1]


def test_bad_prize_tables_are_refused_with_field_paths(live_server):
    staff = live_server.staff()
    two_fallbacks = staff.data(CREATE_LOTTERY, {"name": "x", "cost": 0, "prizes": [nothing(1), nothing(1)]})
    assert two_fallbacks["createLottery"]["userErrors"][0]["code"] == "INVALID_INPUT"
    limited_fallback = staff.data(CREATE_LOTTERY, {"name": "x", "cost": 0, "prizes": [
        points_prize("a", 1, 1), points_prize("b", 1, 1, fallback=True, stock=3)]})
    assert limited_fallback["createLottery"]["userErrors"][0]["field"] == ["prizes", "1", "stock"]
    member = live_server.member("nosy")
    refused = member.execute(CREATE_LOTTERY, {"name": "x", "cost": 0, "prizes": [nothing(1)]})
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_sixty_concurrent_draws_take_a_prize_of_stock_20_exactly_20_times(live_server):
    lottery = new_lottery(live_server, [points_prize("限量奖", 99, 7, stock=20), points_prize("安慰奖", 1, 1,
                                                                                              fallback=True)], cost=2)
    members = [funded(live_server, f"crowd-{i}", 10) for i in range(30)]
    gate = asyncio.Semaphore(32)
    async with httpx.AsyncClient(timeout=120) as http:
        replies = await asyncio.gather(*(members[i % 30].execute_async(
            http, DRAW, {"lottery": lottery["id"], "key": f"c{i}"}, gate) for i in range(60)))
    prizes = Counter(r["data"]["drawLottery"]["draw"]["prize"]["name"] for r in replies)
    assert prizes == {"限量奖": 20, "安慰奖": 40}
    sequences = sorted(r["data"]["drawLottery"]["draw"]["sequence"] for r in replies)
    assert sequences == list(range(1, 61))
    services = Services.build(live_server.database_url, live_server.clock)
    try:
        assert (await services.reconciliation.run()).ok
    finally:
        await services.close()


def test_a_draw_is_refetched_by_its_member_and_staff_only(live_server):
    lottery = new_lottery(live_server, [points_prize("奖", 1, 1), nothing(1)])
    owner = funded(live_server, "draw-owner", 1)
    made = draw(owner, lottery["id"], "mine")["draw"]
    refetch = "query($id: ID!) { node(id: $id) { ... on LotteryDraw { sequence } } }"
    assert owner.data(refetch, {"id": made["id"]})["node"] == {"sequence": made["sequence"]}
    assert live_server.staff().data(refetch, {"id": made["id"]})["node"] == {"sequence": made["sequence"]}
    nosy = live_server.member("draw-nosy").execute(refetch, {"id": made["id"]})
    assert nosy["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert live_server.anonymous().execute(refetch, {"id": made["id"]})["errors"][0]["extensions"]["code"] == \
        "UNAUTHENTICATED"
