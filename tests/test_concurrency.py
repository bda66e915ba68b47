"""Concurrency through real HTTP on both databases: hot account, double spend, one key many times."""
import asyncio

import httpx

from api.ops.services import Services
from tests.documents import ADJUST, CHECK_IN
from tests.test_api_ledger import member_gid, signed_up


async def fire(client, documents_and_variables):
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(limits=limits) as http:
        return await asyncio.gather(*(client.execute_async(http, doc, variables)
                                      for doc, variables in documents_and_variables))


async def reconcile(live_server):
    services = Services.build(live_server.database_url, live_server.clock)
    try:
        return await services.reconciliation.run()
    finally:
        await services.close()


async def test_100_concurrent_earns_on_one_member_form_an_exact_sequence(live_server):
    signed_up(live_server, "hot")
    staff = live_server.staff()
    replies = await fire(staff, [(ADJUST, {"memberId": member_gid("hot"), "delta": 3, "memo": "m", "key": f"e{i}"})
                                 for i in range(100)])
    assert all(r["data"]["adjustPoints"]["userErrors"] == [] for r in replies)
    balances = sorted(r["data"]["adjustPoints"]["entry"]["balanceAfter"] for r in replies)
    assert balances == [3 * i for i in range(1, 101)]
    assert (await reconcile(live_server)).ok


async def test_50_concurrent_spends_of_the_whole_balance_have_one_winner(live_server):
    signed_up(live_server, "spender")
    staff = live_server.staff()
    staff.data(ADJUST, {"memberId": member_gid("spender"), "delta": 100, "memo": "seed", "key": "seed"})
    replies = await fire(staff, [(ADJUST, {"memberId": member_gid("spender"), "delta": -100, "memo": "m",
                                           "key": f"s{i}"}) for i in range(50)])
    payloads = [r["data"]["adjustPoints"] for r in replies]
    winners = [p for p in payloads if p["entry"] is not None]
    assert len(winners) == 1 and winners[0]["entry"]["balanceAfter"] == 0
    assert {e["code"] for p in payloads if p["entry"] is None for e in p["userErrors"]} == {"INSUFFICIENT_POINTS"}
    assert all(p["member"]["points"]["available"] >= 0 for p in payloads if p["member"])
    assert (await reconcile(live_server)).ok


async def test_one_key_sent_100_times_at_once_has_one_effect(live_server):
    member = live_server.member("replayer")
    replies = await fire(member, [(CHECK_IN, {"key": "once"})] * 100)
    entries = {r["data"]["checkIn"]["entry"]["id"] for r in replies}
    assert len(entries) == 1
    assert all(r["data"]["checkIn"]["userErrors"] == [] for r in replies)
    assert member.data("{ me { points { available } } }")["me"]["points"]["available"] == 10
    assert (await reconcile(live_server)).ok
