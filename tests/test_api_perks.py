"""Tier perks the system delivers, over real HTTP on both databases with the clock moved: a monthly
coupon granted once per brand month into the wallet (sweeps run twice or at once grant once), free
shipping a few orders a month (a refund gives the use back), and early access to flash sales and
member-day shelves; the ladder shows each perk with its kind, and staff input that makes no sense
is refused with codes."""
import asyncio
from datetime import UTC, datetime, timedelta

from api.ops.services import Services
from tests.conftest import with_services
from tests.test_api_coupons import NOTIFICATIONS, coupon_item, wallet
from tests.test_api_ledger import member_gid
from tests.test_api_mall import create, funded, redeem
from tests.test_api_flash_sales import new_sale
from tests.test_api_member_days import ITEM, MIDNIGHT_18TH, member_day, travel_to

UPDATE_TIER = """mutation($level: Int!, $name: String!, $growth: Int!, $multiplier: Float!, $benefits: [PerkInput!]) {
  updateTier(input: {level: $level, name: $name, growthThreshold: $growth, earnMultiplier: $multiplier,
                     perks: ["每月好礼"], benefits: $benefits}) {
    tiers { level benefits { kind name itemId quantity minutes maxFen } } userErrors { field code } } }"""
FREE_SHIPPING = """mutation($order: String!, $fen: Int!, $key: String!) {
  useFreeShipping(input: {orderId: $order, shippingFen: $fen, idempotencyKey: $key}) {
    coveredFen freeShippingLeft member { points { available } } userErrors { field code } } }"""
REFUND_SHIPPING = """mutation($member: ID!, $order: String!, $key: String!) {
  refundDeduction(input: {memberId: $member, orderId: $order, purpose: SHIPPING, idempotencyKey: $key}) {
    entry { reason } userErrors { code } } }"""
# 2026-04-01 starts at 16:00 UTC on March 31st in Asia/Shanghai.
APRIL_IN_SHANGHAI = datetime(2026, 3, 31, 16, 0, tzinfo=UTC)


def give_v1(live_server, benefits) -> dict:
    staff = live_server.staff()
    v1 = staff.data("{ tiers { level name growthThreshold earnMultiplier } }")["tiers"][0]
    return staff.data(UPDATE_TIER, {"level": 1, "name": v1["name"], "growth": v1["growthThreshold"],
                                    "multiplier": v1["earnMultiplier"], "benefits": benefits})["updateTier"]


def grant(live_server) -> int:
    return asyncio.run(with_services(live_server, lambda s: s.perks.grant_monthly()))


def perk_coupons(member) -> list[dict]:
    return [c for c in wallet(member) if c["source"] == "PERK"]


def test_the_monthly_coupon_is_granted_once_a_brand_month_into_the_wallet(live_server):
    item = coupon_item(live_server.staff(), "会员月券", value=1000, minimum=5000, days=31)
    shown = give_v1(live_server, [{"kind": "MONTHLY_COUPON", "name": "每月 10 元券", "itemId": item, "quantity": 2}])
    assert shown["userErrors"] == []
    assert shown["tiers"][0]["benefits"] == [{"kind": "MONTHLY_COUPON", "name": "每月 10 元券", "itemId": item,
                                              "quantity": 2, "minutes": 0, "maxFen": 0}]
    members = [funded(live_server, f"perk-{n}", 10) for n in range(3)]
    stock_before = live_server.anonymous().data('query($id: ID!) { node(id: $id) { ... on MallItem { stock } } }',
                                                {"id": item})["node"]["stock"]
    assert grant(live_server) == 3
    for member in members:
        coupons = perk_coupons(member)
        assert len(coupons) == 2 and {c["name"] for c in coupons} == {"会员月券"}
        assert coupons[0]["valueFen"] == 1000 and coupons[0]["status"] == "AVAILABLE"
        kinds = [n["node"]["kind"] for n in member.data(NOTIFICATIONS)["me"]["notifications"]["edges"]]
        assert kinds.count("PERK_GRANTED") == 1
    assert grant(live_server) == 0  # the same month: nothing more
    assert live_server.anonymous().data('query($id: ID!) { node(id: $id) { ... on MallItem { stock } } }',
                                        {"id": item})["node"]["stock"] == stock_before  # a perk is not a sale

    travel_to(live_server, APRIL_IN_SHANGHAI - timedelta(minutes=1))
    assert grant(live_server) == 0  # still March in Shanghai
    travel_to(live_server, APRIL_IN_SHANGHAI)
    assert grant(live_server) == 3
    assert all(len(perk_coupons(m)) == 4 for m in members)


def test_sweeps_at_once_grant_once(live_server):
    item = coupon_item(live_server.staff(), "并发月券")
    give_v1(live_server, [{"kind": "MONTHLY_COUPON", "name": "月券", "itemId": item}])
    members = [funded(live_server, f"race-perk-{n}", 10) for n in range(12)]

    async def two_sweeps():
        first, second = Services.build(live_server.database_url, live_server.clock), \
            Services.build(live_server.database_url, live_server.clock)
        try:
            return await asyncio.gather(first.perks.grant_monthly(), second.perks.grant_monthly())
        finally:
            await first.close()
            await second.close()

    counts = asyncio.run(two_sweeps())
    assert sum(counts) == 12
    assert all(len(perk_coupons(m)) == 1 for m in members)


def test_free_shipping_covers_its_orders_a_month_and_a_refund_gives_one_back(live_server):
    member = funded(live_server, "ship-1", 100)
    refused = member.data(FREE_SHIPPING, {"order": "o-1", "fen": 800, "key": "s0"})["useFreeShipping"]
    assert refused["userErrors"] == [{"field": None, "code": "PERK_NOT_HELD"}]
    assert member.data("{ me { freeShippingLeft } }")["me"]["freeShippingLeft"] == 0
    give_v1(live_server, [{"kind": "FREE_SHIPPING", "name": "每月包邮 2 次", "quantity": 2, "maxFen": 1000}])
    first = member.data(FREE_SHIPPING, {"order": "o-1", "fen": 800, "key": "s1"})["useFreeShipping"]
    assert first == {"coveredFen": 800, "freeShippingLeft": 1, "member": {"points": {"available": 100}},
                     "userErrors": []}
    again = member.data(FREE_SHIPPING, {"order": "o-1", "fen": 800, "key": "s2"})["useFreeShipping"]
    assert again["userErrors"] == [{"field": ["orderId"], "code": "DUPLICATE_ORDER"}]
    capped = member.data(FREE_SHIPPING, {"order": "o-2", "fen": 2500, "key": "s3"})["useFreeShipping"]
    assert capped["coveredFen"] == 1000 and capped["freeShippingLeft"] == 0
    assert member.data(FREE_SHIPPING, {"order": "o-3", "fen": 500, "key": "s4"})["useFreeShipping"][
        "userErrors"] == [{"field": None, "code": "LIMIT_REACHED"}]
    refunded = live_server.staff().data(REFUND_SHIPPING, {"member": member_gid("ship-1"), "order": "o-2",
                                                           "key": "r1"})["refundDeduction"]
    assert refunded == {"entry": None, "userErrors": []}  # no points to give back, but the use
    assert member.data("{ me { freeShippingLeft } }")["me"]["freeShippingLeft"] == 1
    assert member.data(FREE_SHIPPING, {"order": "o-3", "fen": 500, "key": "s5"})["useFreeShipping"][
        "userErrors"] == []
    travel_to(live_server, APRIL_IN_SHANGHAI)
    assert member.data("{ me { freeShippingLeft } }")["me"]["freeShippingLeft"] == 2
    assert live_server.member("ship-other").execute(
        'query($id: ID!) { member(id: $id) { freeShippingLeft } }', {"id": member_gid("ship-1")}
    )["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_early_access_opens_flash_sales_and_member_days_sooner_for_the_tier(live_server):
    sale = new_sale(live_server, 5, starts_in=timedelta(minutes=20))
    member = funded(live_server, "early-1", 300)
    assert redeem(member, sale, "e1")["userErrors"] == [{"field": ["flashSaleId"], "code": "FLASH_SALE_NOT_STARTED"}]
    give_v1(live_server, [{"kind": "EARLY_ACCESS", "name": "提前 30 分钟", "minutes": 30}])
    assert redeem(member, sale, "e2")["userErrors"] == []
    later = new_sale(live_server, 5, starts_in=timedelta(minutes=45))
    assert redeem(member, later, "e3")["userErrors"][0]["code"] == "FLASH_SALE_NOT_STARTED"

    member_day(live_server)
    shelf_item = live_server.staff().data(ITEM, {"day": "day18"})["createMallItem"]["item"]["id"]
    travel_to(live_server, MIDNIGHT_18TH - timedelta(minutes=40))
    assert redeem(member, shelf_item, "d1")["userErrors"][0]["code"] == "NOT_MEMBER_DAY"
    travel_to(live_server, MIDNIGHT_18TH - timedelta(minutes=25))
    assert redeem(member, shelf_item, "d2")["userErrors"] == []


def test_perks_that_make_no_sense_are_refused(live_server):
    goods = create(live_server.staff(), "保温杯", 500, 10)
    coupon = coupon_item(live_server.staff(), "券")
    for benefits, field in (
            ([{"kind": "MONTHLY_COUPON", "name": "x", "itemId": goods}], ["benefits", "itemId"]),
            ([{"kind": "MONTHLY_COUPON", "name": "x"}], ["benefits", "itemId"]),
            ([{"kind": "MONTHLY_COUPON", "name": "x", "itemId": "bm90LWFuLWlk"}], ["benefits", "itemId"]),
            ([{"kind": "EARLY_ACCESS", "name": "x", "minutes": 0}], ["benefits", "minutes"]),
            ([{"kind": "FREE_SHIPPING", "name": "x", "quantity": 1, "maxFen": 0}], ["benefits", "maxFen"]),
            ([{"kind": "EARLY_ACCESS", "name": "x", "minutes": 5}] * 2, ["benefits"]),
            ([{"kind": "MONTHLY_COUPON", "name": "x", "itemId": coupon}] * 2, ["benefits"]),
            ([{"kind": "EARLY_ACCESS", "name": "", "minutes": 5}], ["name"])):
        assert give_v1(live_server, benefits)["userErrors"] == [{"field": field, "code": "INVALID_INPUT"}], benefits
    kept = give_v1(live_server, [{"kind": "EARLY_ACCESS", "name": "提前", "minutes": 5}])
    assert kept["userErrors"] == []
    unchanged = live_server.staff().data("""mutation { updateTier(input: {level: 1, name: "普通会员",
        growthThreshold: 0, earnMultiplier: 1.0}) { tiers { benefits { kind } } userErrors { code } } }""")
    assert unchanged["updateTier"]["tiers"][0]["benefits"] == [{"kind": "EARLY_ACCESS"}]  # left out: kept


def test_the_scheduler_grants_once_a_brand_day(live_server):
    item = coupon_item(live_server.staff(), "日检月券")
    give_v1(live_server, [{"kind": "MONTHLY_COUPON", "name": "月券", "itemId": item}])
    member = funded(live_server, "daily-perk", 10)

    def due() -> int | None:
        return asyncio.run(with_services(live_server, lambda s: s.perks.grant_monthly_if_due()))

    assert due() == 1
    later = funded(live_server, "daily-perk-later", 10)
    assert due() is None  # not again today: the next day's sweep finds the member who joined since
    travel_to(live_server, live_server.clock.now() + timedelta(days=1))
    assert due() == 1
    assert len(perk_coupons(member)) == 1 and len(perk_coupons(later)) == 1
