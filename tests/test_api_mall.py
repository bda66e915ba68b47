"""The points mall over real HTTP on both databases: catalogue, redeem, refusals, and no oversell."""
import asyncio

import httpx

from api.ops.services import Services
from tests.documents import ADJUST
from tests.test_api_ledger import member_gid

CREATE = """
mutation($name: String!, $price: Int!, $stock: Int!, $limit: Int = 0, $cash: Int = 0, $tier: Int = 1,
         $category: String = "general", $position: Int = 0) {
  createMallItem(input: {name: $name, pointsPrice: $price, stock: $stock, perMemberLimit: $limit,
                         cashPriceFen: $cash, minTierLevel: $tier, category: $category, position: $position}) {
    item { id name pointsPrice stock } userErrors { field code }
  }
}
"""
REDEEM = """
mutation($item: ID!, $quantity: Int = 1, $key: String!) {
  redeem(input: {itemId: $item, quantity: $quantity, idempotencyKey: $key}) {
    entry { reason delta memo } redemption { itemName quantity points status }
    member { points { available } } userErrors { field code }
  }
}
"""
CATALOGUE = """
query($first: Int!, $after: String, $category: String, $sort: MallSort = FEATURED) {
  mallItems(first: $first, after: $after, category: $category, sort: $sort) {
    edges { node { name pointsPrice stock } } pageInfo { hasNextPage endCursor }
  }
}
"""


def create(staff, name, price, stock, **extra):
    result = staff.data(CREATE, {"name": name, "price": price, "stock": stock, **extra})["createMallItem"]
    assert result["userErrors"] == [], result
    return result["item"]["id"]


def funded(live_server, member_id, points):
    member = live_server.member(member_id)
    member.data("{ me { id } }")
    live_server.staff().data(ADJUST, {"memberId": member_gid(member_id), "delta": points, "memo": "m",
                                      "key": f"fund-{member_id}"})
    return member


def redeem(member, item, key, quantity=1):
    return member.data(REDEEM, {"item": item, "quantity": quantity, "key": key})["redeem"]


def test_redeem_takes_points_and_stock_together(live_server):
    item = create(live_server.staff(), "保温杯", 300, 5)
    member = funded(live_server, "shopper", 1000)
    result = redeem(member, item, "r1", quantity=2)
    assert result["userErrors"] == []
    assert result["entry"] == {"reason": "REDEMPTION", "delta": -600, "memo": "兑换 保温杯 x2"}
    assert result["redemption"] == {"itemName": "保温杯", "quantity": 2, "points": 600, "status": "CREATED"}
    assert result["member"]["points"]["available"] == 400
    assert redeem(member, item, "r1", quantity=2)["redemption"] == result["redemption"]  # a replay
    stock = live_server.anonymous().data(CATALOGUE, {"first": 5})["mallItems"]["edges"][0]["node"]["stock"]
    assert stock == 3
    mine = member.data("{ me { redemptions(first: 5) { edges { node { itemName item { name } } } } } }")
    assert mine["me"]["redemptions"]["edges"][0]["node"] == {"itemName": "保温杯", "item": {"name": "保温杯"}}


def test_every_refusal_is_typed_and_leaves_points_and_stock_alone(live_server):
    staff = live_server.staff()
    cup = create(staff, "杯子", 100, 1, limit=1)
    vip = create(staff, "黑金礼盒", 10, 10, tier=6)
    cash = create(staff, "加价购", 10, 10, cash=990)
    off = create(staff, "下架品", 10, 10)
    staff.data('mutation($id: ID!) { updateMallItem(input: {itemId: $id, onShelf: false}) { userErrors { code } } }',
               {"id": off})
    member = funded(live_server, "refused", 150)
    assert redeem(member, cup, "too-many", quantity=2)["userErrors"][0]["code"] == "SOLD_OUT"
    assert redeem(member, vip, "tier")["userErrors"][0]["code"] == "TIER_TOO_LOW"
    assert redeem(member, cash, "cash")["userErrors"][0]["code"] == "NOT_POINTS_ONLY"
    assert redeem(member, off, "off")["userErrors"][0]["code"] == "ITEM_OFF_SHELF"
    assert redeem(member, cup, "q0", quantity=0)["userErrors"][0]["field"] == ["quantity"]
    assert redeem(member, "TWFsbEl0ZW06OTk5", "missing")["userErrors"][0]["code"] == "NOT_FOUND"
    assert redeem(member, cup, "ok")["userErrors"] == []
    other = funded(live_server, "refused-2", 50)
    assert redeem(other, cup, "sold")["userErrors"][0]["code"] == "SOLD_OUT"
    create_limit = create(staff, "限兑一件", 10, 10, limit=1)
    assert redeem(member, create_limit, "l1")["userErrors"] == []
    assert redeem(member, create_limit, "l2")["userErrors"][0]["code"] == "LIMIT_REACHED"
    poor = funded(live_server, "poor", 5)
    assert redeem(poor, create_limit, "p")["userErrors"][0]["code"] == "INSUFFICIENT_POINTS"
    assert member.data("{ me { points { available } } }")["me"]["points"]["available"] == 40


def test_catalogue_pages_filters_and_sorts(live_server):
    staff = live_server.staff()
    for name, price, category, position in (("A", 300, "cups", 2), ("B", 100, "cups", 1), ("C", 200, "tea", 3)):
        create(staff, name, price, 1, category=category, position=position)
    anonymous = live_server.anonymous()
    names = lambda data: [e["node"]["name"] for e in data["mallItems"]["edges"]]  # noqa: E731
    first = anonymous.data(CATALOGUE, {"first": 2})
    assert names(first) == ["B", "A"] and first["mallItems"]["pageInfo"]["hasNextPage"]
    rest = anonymous.data(CATALOGUE, {"first": 2, "after": first["mallItems"]["pageInfo"]["endCursor"]})
    assert names(rest) == ["C"] and not rest["mallItems"]["pageInfo"]["hasNextPage"]
    assert names(anonymous.data(CATALOGUE, {"first": 5, "category": "cups", "sort": "POINTS_DESC"})) == ["A", "B"]
    assert names(anonymous.data(CATALOGUE, {"first": 5, "sort": "POINTS_ASC"})) == ["B", "C", "A"]
    body = anonymous.execute("{ mallItems(first: 5, includeOffShelf: true) { edges { cursor } } }")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    bad = staff.data(CREATE, {"name": "x", "price": 0, "stock": -1})["createMallItem"]
    assert bad["item"] is None and bad["userErrors"][0]["code"] == "INVALID_INPUT"


async def test_60_concurrent_redeems_on_stock_20_give_exactly_20(live_server):
    item = create(live_server.staff(), "限量徽章", 10, 20)
    members = [funded(live_server, f"rush-{i}", 100) for i in range(60)]
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=60)) as http:
        replies = await asyncio.gather(*(m.execute_async(http, REDEEM, {"item": item, "key": "go"}) for m in members))
    payloads = [r["data"]["redeem"] for r in replies]
    winners = [p for p in payloads if not p["userErrors"]]
    assert len(winners) == 20 and all(p["entry"]["delta"] == -10 for p in winners)
    assert {p["userErrors"][0]["code"] for p in payloads if p["userErrors"]} == {"SOLD_OUT"}
    stock = live_server.anonymous().data(CATALOGUE, {"first": 1})["mallItems"]["edges"][0]["node"]["stock"]
    assert stock == 0
    services = Services.build(live_server.database_url, live_server.clock)
    try:
        assert (await services.reconciliation.run()).ok
    finally:
        await services.close()


async def test_50_concurrent_redeems_of_the_whole_balance_win_once(live_server):
    item = create(live_server.staff(), "百分礼", 100, 100)
    member = funded(live_server, "all-in", 100)
    async with httpx.AsyncClient() as http:
        replies = await asyncio.gather(*(member.execute_async(http, REDEEM, {"item": item, "key": f"k{i}"})
                                         for i in range(50)))
    winners = [r for r in replies if not r["data"]["redeem"]["userErrors"]]
    assert len(winners) == 1
    assert member.data("{ me { points { available } } }")["me"]["points"]["available"] == 0


FULFIL = """mutation($id: ID!, $status: RedemptionStatus!) { fulfilRedemption(input: {redemptionId: $id, status: $status,
  note: "SF1234567"}) { redemption { status note } userErrors { field code } } }"""
CANCEL = """mutation($id: ID!, $key: String!) { cancelRedemption(input: {redemptionId: $id, reason: "缺货",
  idempotencyKey: $key}) { redemption { status note } entry { reason delta } member { points { available } }
  userErrors { code } } }"""
REDEEM_ID = """mutation($item: ID!, $key: String!) { redeem(input: {itemId: $item, idempotencyKey: $key}) {
  redemption { id code } userErrors { code } } }"""


def test_fulfilment_moves_forward_and_cancelling_refunds_points_and_stock(live_server):
    staff = live_server.staff()
    item = create(staff, "围巾", 200, 2)
    member = funded(live_server, "scarf", 500)
    first = member.data(REDEEM_ID, {"item": item, "key": "a"})["redeem"]["redemption"]["id"]
    second = member.data(REDEEM_ID, {"item": item, "key": "b"})["redeem"]["redemption"]["id"]
    shipped = staff.data(FULFIL, {"id": first, "status": "SHIPPED"})["fulfilRedemption"]
    assert shipped["redemption"] == {"status": "SHIPPED", "note": "SF1234567"}
    assert staff.data(FULFIL, {"id": first, "status": "USED"})["fulfilRedemption"]["userErrors"] == []
    backwards = staff.data(FULFIL, {"id": first, "status": "SHIPPED"})["fulfilRedemption"]
    assert backwards["userErrors"] == [{"field": ["status"], "code": "INVALID_TRANSITION"}]
    cancelled = staff.data(CANCEL, {"id": second, "key": "c"})["cancelRedemption"]
    assert cancelled["entry"] == {"reason": "REVERSAL", "delta": 200}
    assert cancelled["redemption"] == {"status": "CANCELLED", "note": "缺货"}
    assert cancelled["member"]["points"]["available"] == 300
    assert staff.data(CANCEL, {"id": second, "key": "c"})["cancelRedemption"]["entry"] == cancelled["entry"]
    assert staff.data(CANCEL, {"id": first, "key": "d"})["cancelRedemption"]["userErrors"] == [
        {"code": "INVALID_TRANSITION"}]
    stock = live_server.anonymous().data(CATALOGUE, {"first": 1})["mallItems"]["edges"][0]["node"]["stock"]
    assert stock == 1
    assert member.execute(FULFIL, {"id": first, "status": "USED"})["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_coupons_hand_out_pool_codes_then_generated_ones(live_server):
    staff = live_server.staff()
    pooled = staff.data(CREATE.replace("category: $category", "category: $category, kind: COUPON"),
                        {"name": "满减券", "price": 10, "stock": 5})["createMallItem"]["item"]["id"]
    added = staff.data('mutation($id: ID!) { addCouponCodes(input: {itemId: $id, codes: ["AAAA-1111", "BBBB-2222", '
                       '"AAAA-1111"]}) { added userErrors { code } } }', {"id": pooled})["addCouponCodes"]
    assert added == {"added": 2, "userErrors": []}
    member = funded(live_server, "couponer", 100)
    codes = [member.data(REDEEM_ID, {"item": pooled, "key": f"k{i}"})["redeem"] for i in range(3)]
    assert [c["redemption"]["code"] for c in codes[:2]] == ["AAAA-1111", "BBBB-2222"]
    assert codes[2]["userErrors"] == [{"code": "SOLD_OUT"}]
    left = staff.data("{ mallItems(first: 5) { edges { node { name stock } } } }")["mallItems"]["edges"]
    assert {"name": "满减券", "stock": 3} in [e["node"] for e in left]  # the refusal took no stock
    assert member.data("{ me { points { available } } }")["me"]["points"]["available"] == 80
    generated = staff.data(CREATE.replace("category: $category", "category: $category, kind: COUPON"),
                           {"name": "免单券", "price": 10, "stock": 5})["createMallItem"]["item"]["id"]
    code = member.data(REDEEM_ID, {"item": generated, "key": "g"})["redeem"]["redemption"]["code"]
    assert len(code) == 12 and code.isalnum()
