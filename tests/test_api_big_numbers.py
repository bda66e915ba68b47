"""Balances and brand-wide sums past GraphQL's 32-bit Int, on both databases.

A brand of a million members passes 2,147,483,647 points in its liability; one generous member can
pass it alone. Those fields are `Long` (a JSON number, exact up to 2^53 - 1): the values come back
whole, and the domain's own limits (10,000,000 points an adjustment) still hold.
"""
from __future__ import annotations

from domain.configuration import Actor
from domain.points import MAX_ADJUSTMENT
from tests.conftest import with_services
from tests.documents import ADJUST
from tests.test_api_ledger import member_gid

INT32 = 2**31 - 1
STAFF = Actor("staff", "ops")


async def fund(live_server, member_id: str, points: int) -> None:
    """Adjustments of the largest size the rules allow, through the domain (faster than HTTP)."""
    async def work(services):
        member = await services.members.ensure(member_id)
        given, n = 0, 0
        while given < points:
            step = min(MAX_ADJUSTMENT, points - given)
            await services.points.adjust(STAFF, member.id, step, "大额测试", f"big-{member_id}-{n}")
            given, n = given + step, n + 1
    await with_services(live_server, work)


async def test_a_balance_and_the_brand_s_sums_past_2_31_come_back_whole(live_server):
    rich, richer = 2_200_000_000, 2_300_000_007
    await fund(live_server, "whale-1", rich)
    await fund(live_server, "whale-2", richer)
    whale = live_server.member("whale-2")
    me = whale.data("{ me { points { available lifetimeEarned expiringLots { points } } "
                    "ledger(first: 1) { edges { node { delta balanceAfter } } } } }")["me"]
    assert me["points"] == {"available": richer, "lifetimeEarned": richer, "expiringLots": [{"points": richer}]}
    assert me["ledger"]["edges"][0]["node"] == {"delta": 7, "balanceAfter": richer}
    staff = live_server.staff()
    liability = staff.data("{ liability { outstandingPoints membersWithPoints valueFen } }")["liability"]
    assert liability["outstandingPoints"] == rich + richer and liability["membersWithPoints"] == 2
    assert liability["valueFen"] > 2**31
    today = live_server.clock.now().date().isoformat()
    flow = staff.data("query($d: Date!) { analytics(from: $d, to: $d) { earned days { earned byReason { reason "
                      "credited } } } }", {"d": today})["analytics"]
    assert flow["earned"] == rich + richer > INT32
    assert flow["days"][0]["byReason"] == [{"reason": "ADJUSTMENT", "credited": rich + richer}]
    assert staff.data("query($m: ID!) { member(id: $m) { points { available } } }",
                      {"m": member_gid("whale-1")})["member"]["points"]["available"] == rich
    # The domain's limits stand: one adjustment is still at most MAX_ADJUSTMENT.
    too_much = staff.execute(ADJUST, {"memberId": member_gid("whale-1"), "delta": MAX_ADJUSTMENT + 1, "memo": "m",
                                      "key": "over"})
    assert too_much["data"]["adjustPoints"]["userErrors"][0]["field"] == ["delta"]
    assert (await with_services(live_server, lambda s: s.reconciliation.run())).ok

