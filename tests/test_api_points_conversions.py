"""Idle points turned into a better benefit (积分增值) over real HTTP on both databases, with the clock
moved: the offer appears after the idle months or before points expire, accepting it takes the
points as a CONVERSION entry and delivers a coupon or tier days, once a brand month (also when the
member and the sweep act at once); the daily sweep notifies, or converts when the brand chose so;
analytics count it; the rule refuses a benefit worth no more than the points' deduction value."""
import asyncio
from datetime import datetime, timedelta

import httpx

from tests.conftest import with_services
from tests.documents import CHECK_IN
from tests.test_api_coupons import NOTIFICATIONS, coupon_item, wallet
from tests.test_api_ledger import member_gid
from tests.test_api_mall import funded
from tests.test_api_tier_upkeep import bought, release

RULE = """mutation($enabled: Boolean!, $points: Int!, $worth: Int!, $item: ID, $days: Int! = 0, $idle: Int!,
                   $expiring: Int!, $auto: Boolean! = false) {
  updateConversionRule(input: {enabled: $enabled, name: "积分升值礼", points: $points, worthFen: $worth, itemId: $item,
                               tierDays: $days, idleMonths: $idle, expiringDays: $expiring, autoConvert: $auto}) {
    rule { enabled points worthFen itemId } userErrors { field code } } }"""
OFFERS = """{ me { conversionOffers { name points worthFen deductionValueFen reason tierDays item { name } } } }"""
ACCEPT = """mutation($key: String!) { acceptConversion(input: {idempotencyKey: $key}) {
  conversion { points reason automatic tierDays redemptionId } entry { reason delta }
  member { points { available } } userErrors { field code } } }"""
SIX_MONTHS = timedelta(days=185)


def coupon_rule(live_server, idle=6, expiring=0, auto=False) -> str:
    item = coupon_item(live_server.staff(), "升值 10 元券", value=1000, minimum=0, days=30)
    done = live_server.staff().data(RULE, {"enabled": True, "points": 500, "worth": 1000, "item": item,
                                           "idle": idle, "expiring": expiring, "auto": auto})["updateConversionRule"]
    assert done["userErrors"] == [], done
    return item


def offers(member) -> list[dict]:
    return member.data(OFFERS)["me"]["conversionOffers"]


def accept(member, key) -> dict:
    return member.data(ACCEPT, {"key": key})["acceptConversion"]


def sweep(live_server) -> int:
    return asyncio.run(with_services(live_server, lambda s: s.conversions.sweep_if_due()))


def test_idle_points_are_offered_a_coupon_worth_more_and_taken_once_a_month(live_server):
    coupon_rule(live_server)
    member = funded(live_server, "idle-1", 1000)
    member.data(CHECK_IN, {"key": "active"})
    assert offers(member) == []  # active today
    live_server.clock.advance(SIX_MONTHS)
    assert offers(member) == [{"name": "积分升值礼", "points": 500, "worthFen": 1000, "deductionValueFen": 500,
                               "reason": "IDLE", "tierDays": 0, "item": {"name": "升值 10 元券"}}]
    taken = accept(member, "c1")
    assert taken["userErrors"] == [] and taken["entry"] == {"reason": "CONVERSION", "delta": -500}
    assert taken["conversion"]["reason"] == "IDLE" and taken["conversion"]["automatic"] is False
    assert taken["member"]["points"]["available"] == 510
    coupons = [c for c in wallet(member) if c["source"] == "CONVERSION"]
    assert len(coupons) == 1 and coupons[0]["valueFen"] == 1000
    assert accept(member, "c1")["conversion"] == taken["conversion"]  # the same key: the same answer
    assert [e["code"] for e in accept(member, "c2")["userErrors"]] == ["ALREADY_CLAIMED"]
    assert offers(member) == []
    figures = live_server.staff().data("""query($d: Date!) { analytics(from: $d, to: $d) { burned converted } }""",
                                       {"d": str(live_server.clock.now().date())})["analytics"]
    assert figures == {"burned": 500, "converted": 500}
    live_server.clock.advance(timedelta(days=31))
    assert [o["reason"] for o in offers(member)] == ["IDLE"]  # a new month, still idle
    assert accept(live_server.member("idle-none"), "c3")["userErrors"] == [{"field": None, "code": "NO_OFFER"}]


def test_points_about_to_expire_are_offered_before_they_go(live_server):
    coupon_rule(live_server, idle=0, expiring=30)
    member = funded(live_server, "expiring-1", 800)
    member.data(CHECK_IN, {"key": "active"})
    lot = member.data("{ me { ledger(first: 1) { edges { node { expiresAt } } } } }")["me"]["ledger"]["edges"]
    expires = datetime.fromisoformat(lot[0]["node"]["expiresAt"])
    assert offers(member) == []
    live_server.clock.advance(expires - live_server.clock.now() - timedelta(days=20))
    assert [o["reason"] for o in offers(member)] == ["EXPIRING"]
    assert accept(member, "e1")["userErrors"] == []


def test_the_daily_sweep_notifies_once_or_converts_when_the_brand_chose_so(live_server):
    coupon_rule(live_server)
    members = [funded(live_server, f"sweep-{n}", 600) for n in range(3)]
    funded(live_server, "sweep-poor", 100)  # too few points: no offer
    live_server.clock.advance(SIX_MONTHS)
    assert sweep(live_server) == 3
    assert sweep(live_server) == 0  # once a brand day
    for member in members:
        kinds = [n["node"]["kind"] for n in member.data(NOTIFICATIONS)["me"]["notifications"]["edges"]]
        assert kinds.count("CONVERSION_OFFERED") == 1
    live_server.clock.advance(timedelta(days=1))
    assert sweep(live_server) == 0  # notified this month already
    coupon_rule(live_server, auto=True)
    live_server.clock.advance(timedelta(days=1))
    racer = members[0]

    async def member_and_sweep_at_once():
        async with httpx.AsyncClient() as http:
            return await asyncio.gather(racer.execute_async(http, ACCEPT, {"key": "race"}),
                                        with_services(live_server, lambda s: s.conversions.sweep_if_due()))

    answer, converted = asyncio.run(member_and_sweep_at_once())
    taken_by_member = not answer["data"]["acceptConversion"]["userErrors"]
    assert converted == 3 - taken_by_member
    for member in members:
        me = member.data("{ me { points { available } } }")["me"]
        assert me["points"]["available"] == 100  # 600 - 500, once each
        assert len([c for c in wallet(member) if c["source"] == "CONVERSION"]) == 1


def test_tier_days_put_off_the_upkeep_date(live_server):
    staff = live_server.staff()
    bought(live_server, "tiered", "big-order", 600)
    release(live_server)
    member = live_server.member("tiered")
    before = member.data("{ me { tier { level keepUntil } } }")["me"]["tier"]
    assert before["level"] == 2
    done = staff.data(RULE, {"enabled": True, "points": 500, "worth": 2000, "days": 30, "idle": 6,
                             "expiring": 0})["updateConversionRule"]
    assert done["userErrors"] == []
    live_server.clock.advance(SIX_MONTHS)
    assert [o["tierDays"] for o in offers(member)] == [30]
    assert accept(member, "t1")["conversion"]["tierDays"] == 30
    after = member.data("{ me { tier { keepUntil } } }")["me"]["tier"]["keepUntil"]
    assert datetime.fromisoformat(after) - datetime.fromisoformat(before["keepUntil"]) == timedelta(days=30)
    v1 = funded(live_server, "no-tier", 900)
    assert offers(v1) == []  # a V1 member has no upkeep date to put off


def test_a_benefit_worth_no_more_than_the_points_is_refused_and_the_rule_is_staff_s(live_server):
    staff = live_server.staff()
    item = coupon_item(staff, "券")
    for variables, field in (({"worth": 500, "item": item}, "worthFen"), ({"worth": 1000, "item": None}, "itemId"),
                             ({"worth": 1000, "item": item, "days": 5}, "itemId"),
                             ({"worth": 1000, "item": "bm9wZQ=="}, "itemId")):
        refused = staff.data(RULE, {"enabled": True, "points": 500, "idle": 6, "expiring": 0, **variables})
        assert refused["updateConversionRule"]["userErrors"] == [{"field": [field], "code": "INVALID_INPUT"}], variables
    member = funded(live_server, "curious", 10)
    assert member.execute("{ conversionRule { enabled } }")["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert live_server.member("nosy-2").execute("query($id: ID!) { member(id: $id) { conversionOffers { points } } }",
                                                {"id": member_gid("curious")})["errors"][0]["extensions"]["code"] \
        == "FORBIDDEN"
