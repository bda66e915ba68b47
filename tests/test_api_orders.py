"""Orders earn pending points, released after the return window; refunds, reversals and debt."""
import asyncio
from datetime import timedelta

import httpx

from api.ops.services import Services
from tests.conftest import with_services
from tests.documents import ADJUST, CHECK_IN, ME, UPDATE_TIER
from tests.test_api_ledger import member_gid

RECORD = """
mutation($memberId: ID!, $orderId: String!, $amount: Int!, $key: String!, $channel: OrderChannel = ONLINE,
         $store: String) {
  recordOrder(input: {memberId: $memberId, orderId: $orderId, amountFen: $amount, idempotencyKey: $key,
                      channel: $channel, storeId: $store}) {
    order { orderId status points campaignPoints campaignCode amountFen refundedFen releaseAt channel storeId }
    member { points { available pending debt } }
    entry { delta reason }
    userErrors { field message code }
  }
}
"""

REFUND = """
mutation($orderId: String!, $amount: Int!, $key: String!) {
  refundOrder(input: {orderId: $orderId, amountFen: $amount, idempotencyKey: $key}) {
    order { status points refundedFen }
    member { points { available pending debt } }
    entries { delta reason balanceAfter }
    userErrors { field code }
  }
}
"""

CAMPAIGN = """
mutation($code: String!, $multiplier: Float!, $starts: DateTime!, $ends: DateTime!, $reasons: [LedgerReason!]!) {
  createCampaign(input: {code: $code, name: $code, multiplier: $multiplier, startsAt: $starts, endsAt: $ends,
                         reasons: $reasons}) {
    campaign { code multiplier } userErrors { field code }
  }
}
"""

POINTS = "{ me { points { available pending debt } } }"


def record(staff, member_id, order_id, amount, key=None, **extra):
    return staff.data(RECORD, {"memberId": member_id, "orderId": order_id, "amount": amount,
                               "key": key or f"rec-{order_id}", **extra})["recordOrder"]


def refund(staff, order_id, amount, key):
    return staff.data(REFUND, {"orderId": order_id, "amount": amount, "key": key})["refundOrder"]


async def sweep(live_server):
    return await with_services(live_server, lambda services: services.expiry.run())


def test_order_points_are_pending_until_the_return_window_closes(live_server):
    member, staff = live_server.member("buyer"), live_server.staff()
    recorded = record(staff, "buyer", "SO-1", 12850)  # 128.50 yuan, V1 x1.0: 128 points
    assert recorded["userErrors"] == []
    assert recorded["order"]["status"] == "PENDING" and recorded["order"]["points"] == 128
    assert recorded["member"]["points"] == {"available": 0, "pending": 128, "debt": 0}
    live_server.clock.advance(timedelta(days=7) - timedelta(seconds=1))
    assert asyncio.run(sweep(live_server)).orders_released == 0
    live_server.clock.advance(timedelta(seconds=1))
    assert asyncio.run(sweep(live_server)).orders_released == 1
    me = member.data(ME, {"first": 5})["me"]
    assert me["points"]["available"] == 128 and me["points"]["pending"] == 0 and me["growth"] == 128
    assert [(e["node"]["reason"], e["node"]["delta"]) for e in me["ledger"]["edges"]] == [("ORDER", 128)]
    orders = member.data("{ me { orders(first: 5) { edges { node { orderId status releasedAt } } } } }")
    assert orders["me"]["orders"]["edges"][0]["node"]["status"] == "RELEASED"


def test_the_members_next_write_releases_due_orders_without_waiting_for_the_sweep(live_server):
    member, staff = live_server.member("lazy"), live_server.staff()
    record(staff, "lazy", "SO-lazy", 5000)
    live_server.clock.advance(timedelta(days=8))
    result = member.data(CHECK_IN, {"key": "c"})["checkIn"]
    assert result["member"]["points"]["available"] == 60


def test_tier_and_campaign_multipliers_and_the_overlap_rule(live_server):
    staff = live_server.staff()
    staff.data(UPDATE_TIER, {"level": 2, "name": "常客", "threshold": 10, "multiplier": 1.5})
    member = live_server.member("vip")
    member.data(CHECK_IN, {"key": "c"})  # growth 10: V2, x1.5
    now = live_server.clock.now()
    window = {"starts": (now - timedelta(hours=1)).isoformat(), "ends": (now + timedelta(days=1)).isoformat()}
    for code, multiplier in (("double", 2.0), ("one-and-half", 1.5)):
        created = staff.data(CAMPAIGN, {"code": code, "multiplier": multiplier, "reasons": ["ORDER"], **window})
        assert created["createCampaign"]["userErrors"] == []
    order = record(staff, "vip", "SO-vip", 9999)["order"]  # 99.99 yuan
    # base = floor(99.99 x 1.5) = 149; total = floor(99.99 x 1.5 x 2) = 299; the 1.5x campaign does not stack
    assert (order["points"], order["campaignPoints"], order["campaignCode"]) == (299, 150, "double")
    live_server.clock.advance(timedelta(days=7))
    asyncio.run(sweep(live_server))
    entries = member.data(ME, {"first": 2})["me"]["ledger"]["edges"]
    assert [(e["node"]["reason"], e["node"]["delta"]) for e in entries] == [("CAMPAIGN_BONUS", 150), ("ORDER", 149)]


def test_refund_before_release_shrinks_or_cancels_the_pending_points(live_server):
    staff = live_server.staff()
    record(staff, "refunder", "SO-2", 10000)
    partial = refund(staff, "SO-2", 2550, "r1")  # 25.50 of 100 yuan refunded: worth floor(100 x 74.5%) = 74
    assert partial["order"]["points"] == 74 and partial["member"]["points"]["pending"] == 74
    assert partial["entries"] == []
    full = refund(staff, "SO-2", 7450, "r2")
    assert full["order"] == {"status": "REFUNDED", "points": 0, "refundedFen": 10000}
    assert full["member"]["points"] == {"available": 0, "pending": 0, "debt": 0}
    again = refund(staff, "SO-2", 1, "r3")
    assert [e["code"] for e in again["userErrors"]] == ["ORDER_FULLY_REFUNDED"]
    live_server.clock.advance(timedelta(days=30))
    assert asyncio.run(sweep(live_server)).orders_released == 0


def test_refund_after_release_reverses_and_spent_points_become_debt(live_server):
    member, staff = live_server.member("spent-it"), live_server.staff()
    record(staff, "spent-it", "SO-3", 20000)
    live_server.clock.advance(timedelta(days=7))
    asyncio.run(sweep(live_server))
    staff.data(ADJUST, {"memberId": member_gid("spent-it"), "delta": -150, "memo": "redeemed", "key": "spend"})
    half = refund(staff, "SO-3", 10000, "half")  # reverses 100 of the 200; 50 are left to take
    assert [(e["reason"], e["delta"]) for e in half["entries"]] == [("REVERSAL", -50)]
    assert half["member"]["points"] == {"available": 0, "pending": 0, "debt": 50}
    later = member.data(CHECK_IN, {"key": "later"})["checkIn"]  # +10 earned, all of it repays debt
    assert [(e["reason"], e["delta"]) for e in later["entries"]] == [("CHECK_IN", 10), ("REVERSAL", -10)]
    assert member.data(POINTS)["me"]["points"] == {"available": 0, "pending": 0, "debt": 40}


def test_same_order_id_twice_is_refused_and_bad_orders_are_user_errors(live_server):
    staff = live_server.staff()
    assert record(staff, "dup", "SO-4", 100)["userErrors"] == []
    again = record(staff, "dup", "SO-4", 100, key="another-key")
    assert [e["code"] for e in again["userErrors"]] == ["DUPLICATE_ORDER"]
    assert record(staff, "dup", "SO-4", 100)["order"]["orderId"] == "SO-4"  # same key: a replay, not an error
    store = record(staff, "dup", "SO-5", 100, channel="OFFLINE_STORE")
    assert store["userErrors"][0]["field"] == ["storeId"]
    ok = record(staff, "dup", "SO-6", 3000, channel="OFFLINE_STORE", store="sh-jingan-01")
    assert (ok["order"]["channel"], ok["order"]["storeId"]) == ("OFFLINE_STORE", "sh-jingan-01")
    for amount in (0, -5):
        assert record(staff, "dup", f"SO-{amount}", amount)["userErrors"][0]["field"] == ["amountFen"]
    body = live_server.member("dup").execute(RECORD, {"memberId": "dup", "orderId": "x", "amount": 1, "key": "k"})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_20_concurrent_refunds_of_one_order_reverse_once(live_server):
    staff = live_server.staff()
    record(staff, "race", "SO-race", 5000)
    live_server.clock.advance(timedelta(days=7))
    await sweep(live_server)
    async with httpx.AsyncClient() as http:
        replies = await asyncio.gather(*(staff.execute_async(http, REFUND, {"orderId": "SO-race", "amount": 5000,
                                                                            "key": f"r{i}"}) for i in range(20)))
    payloads = [r["data"]["refundOrder"] for r in replies]
    winners = [p for p in payloads if not p["userErrors"]]
    assert len(winners) == 1 and [e["delta"] for e in winners[0]["entries"]] == [-50]
    assert {p["userErrors"][0]["code"] for p in payloads if p["userErrors"]} == {"ORDER_FULLY_REFUNDED"}
    services = Services.build(live_server.database_url, live_server.clock)
    try:
        assert (await services.reconciliation.run()).ok
    finally:
        await services.close()


THRESHOLD = """
mutation($code: String!, $min: Int!, $bonus: Int!, $starts: DateTime!, $ends: DateTime!) {
  createCampaign(input: {code: $code, name: $code, minOrderFen: $min, bonusPoints: $bonus, startsAt: $starts,
                         endsAt: $ends}) { campaign { code bonusPoints } userErrors { field code } }
}
"""


def test_threshold_bonuses_take_the_largest_met_and_add_to_one_multiplier(live_server):
    staff = live_server.staff()
    now = live_server.clock.now()
    window = {"starts": (now - timedelta(hours=1)).isoformat(), "ends": (now + timedelta(days=1)).isoformat()}
    for code, minimum, bonus in (("man100", 10000, 100), ("man200", 20000, 250)):
        assert staff.data(THRESHOLD, {"code": code, "min": minimum, "bonus": bonus, **window})[
            "createCampaign"]["userErrors"] == []
    assert record(staff, "thr", "T-1", 9999)["order"]["campaignPoints"] == 0
    small = record(staff, "thr", "T-2", 10000)["order"]
    assert (small["points"], small["campaignPoints"], small["campaignCode"]) == (200, 100, "man100")
    assert record(staff, "thr", "T-3", 30000)["order"]["campaignPoints"] == 250
    staff.data(CAMPAIGN, {"code": "double", "multiplier": 2.0, "reasons": ["ORDER"], **window})
    both = record(staff, "thr", "T-4", 10000)["order"]  # 100 base, +100 double, +100 threshold
    assert (both["points"], both["campaignPoints"], both["campaignCode"]) == (300, 200, "double+man100")
    mixed = staff.data("""mutation { createCampaign(input: {code: "bad", name: "bad", multiplier: 2.0, bonusPoints: 5,
        minOrderFen: 100, startsAt: "2026-03-01T00:00:00+08:00", endsAt: "2026-03-02T00:00:00+08:00"}) {
        userErrors { field } } }""")
    assert mixed["createCampaign"]["userErrors"] == [{"field": ["multiplier"]}]
