"""Flash sales: window edges, the sale's own stock and limit, and a stampede that sells exactly the stock."""
import asyncio
from datetime import timedelta

import httpx

from api.ops.services import Services
from tests.test_api_mall import REDEEM, create, funded, redeem

SALE = """mutation($item: ID!, $stock: Int!, $starts: DateTime!, $ends: DateTime!, $limit: Int = 1) {
  createFlashSale(input: {itemId: $item, title: "一元秒杀保温杯", pointsPrice: 1, stock: $stock,
                          perMemberLimit: $limit, startsAt: $starts, endsAt: $ends}) {
    flashSale { id stock running } userErrors { field code } } }"""


def new_sale(live_server, stock, starts_in=timedelta(0), length=timedelta(hours=1), limit=1):
    staff = live_server.staff()
    item = create(staff, "保温杯", 500, 10)
    now = live_server.clock.now()
    created = staff.data(SALE, {"item": item, "stock": stock, "limit": limit,
                                "starts": (now + starts_in).isoformat(),
                                "ends": (now + starts_in + length).isoformat()})["createFlashSale"]
    assert created["userErrors"] == [], created
    return created["flashSale"]["id"]


def test_window_edges_price_and_limit(live_server):
    sale = new_sale(live_server, 5, starts_in=timedelta(minutes=10), limit=1)
    member = funded(live_server, "early-bird", 10)
    assert redeem(member, sale, "early")["userErrors"] == [{"field": ["flashSaleId"], "code": "FLASH_SALE_NOT_STARTED"}]
    listed = live_server.anonymous().data("{ flashSales { id running stock pointsPrice item { name } } }")
    assert listed["flashSales"] == [{"id": sale, "running": False, "stock": 5, "pointsPrice": 1,
                                     "item": {"name": "保温杯"}}]
    live_server.clock.advance(timedelta(minutes=10))  # the first instant of the window
    won = redeem(member, sale, "in")
    assert won["entry"]["delta"] == -1 and won["redemption"]["itemName"] == "一元秒杀保温杯"
    assert redeem(member, sale, "twice")["userErrors"][0]["code"] == "LIMIT_REACHED"
    live_server.clock.advance(timedelta(hours=1))  # the end is exclusive
    late = funded(live_server, "late-bird", 10)
    assert redeem(late, sale, "late")["userErrors"] == [{"field": ["flashSaleId"], "code": "FLASH_SALE_ENDED"}]
    assert live_server.anonymous().data("{ flashSales { id } }")["flashSales"] == []


async def redeem_all(sale: str, sends) -> list[dict]:
    """Every (member client, key) at once, 64 in flight: the redeem payloads, in order."""
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    gate = asyncio.Semaphore(64)
    async with httpx.AsyncClient(limits=limits, timeout=120) as http:
        replies = await asyncio.gather(*(member.execute_async(http, REDEEM, {"item": sale, "key": key}, gate)
                                         for member, key in sends))
    return [r["data"]["redeem"] for r in replies]


async def test_a_stampede_of_500_attempts_on_stock_100_gives_exactly_100_wins(live_server):
    sale = new_sale(live_server, 100, limit=1)
    members = [funded(live_server, f"stampede-{i}", 5) for i in range(125)]
    payloads = await redeem_all(sale, [(members[i % 125], f"k{i}") for i in range(500)])
    winners = [p for p in payloads if not p["userErrors"]]
    assert len(winners) == 100
    assert {p["userErrors"][0]["code"] for p in payloads if p["userErrors"]} <= {"SOLD_OUT", "LIMIT_REACHED"}
    assert live_server.anonymous().data("{ flashSales { stock } }")["flashSales"] == [{"stock": 0}]
    services = Services.build(live_server.database_url, live_server.clock)
    try:
        assert (await services.reconciliation.run()).ok
    finally:
        await services.close()


def test_after_the_stock_is_gone_a_winner_replaying_its_key_still_gets_its_redemption(live_server):
    sale = new_sale(live_server, 1)
    winner, loser = funded(live_server, "first-in", 10), funded(live_server, "second-in", 10)
    won = redeem(winner, sale, "mine")
    assert won["userErrors"] == [] and won["redemption"]["itemName"] == "一元秒杀保温杯"
    assert redeem(loser, sale, "mine")["userErrors"] == [{"field": ["quantity"], "code": "SOLD_OUT"}]
    assert redeem(winner, sale, "mine") == won  # answered from the key, not from the empty stock
    live_server.clock.advance(timedelta(hours=1))
    assert redeem(loser, sale, "late")["userErrors"] == [{"field": ["flashSaleId"], "code": "FLASH_SALE_ENDED"}]
    assert loser.data("{ me { points { available } } }")["me"]["points"]["available"] == 10
