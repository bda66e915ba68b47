"""The coupon wallet over real HTTP on both databases: coupons issued with their redemption on the
item's terms, read as the clock says (expired before the sweep stores it), reminded once, swept in
batches, settled with their redemption, and each member's alone."""
import asyncio
from datetime import timedelta

from persistence.migrate import downgrade, upgrade
from tests.conftest import with_services
from tests.test_api_lottery import new_lottery
from tests.test_api_mall import CANCEL, FULFIL, funded
from tests.test_api_flash_sales import SALE

COUPON_ITEM = """mutation($name: String!, $value: Int!, $min: Int!, $days: Int!) {
  createMallItem(input: {name: $name, kind: COUPON, pointsPrice: 100, stock: 50, couponValueFen: $value,
                         couponMinSpendFen: $min, couponValidDays: $days}) {
    item { id couponValueFen couponMinSpendFen couponValidDays } userErrors { field code } } }"""
REDEEM = """mutation($item: ID!, $quantity: Int = 1, $key: String!) {
  redeem(input: {itemId: $item, quantity: $quantity, idempotencyKey: $key}) {
    redemption { id code } userErrors { field code } } }"""
WALLET = """query($status: CouponStatus) { me { coupons(first: 10, status: $status) { edges { node {
  id code name valueFen minSpendFen validFrom validUntil status source usedAt redemptionId } } } } }"""
NOTIFICATIONS = "{ me { notifications(first: 10) { edges { node { kind title body } } } } }"


def coupon_item(staff, name="满 30 减 5 券", value=500, minimum=3000, days=7) -> str:
    made = staff.data(COUPON_ITEM, {"name": name, "value": value, "min": minimum, "days": days})["createMallItem"]
    assert made["userErrors"] == [], made
    return made["item"]["id"]


def wallet(member, status=None) -> list[dict]:
    return [e["node"] for e in member.data(WALLET, {"status": status})["me"]["coupons"]["edges"]]


def redeemed(member, item, key, quantity=1) -> dict:
    payload = member.data(REDEEM, {"item": item, "quantity": quantity, "key": key})["redeem"]
    assert payload["userErrors"] == [], payload
    return payload["redemption"]


def test_a_coupon_redemption_fills_the_wallet_and_its_coupons_expire_after_one_reminder(live_server):
    staff, now = live_server.staff(), live_server.clock.now()
    item = coupon_item(staff)
    member = funded(live_server, "holder", 1000)
    redemption = redeemed(member, item, "two", quantity=2)
    coupons = wallet(member)
    assert len(coupons) == 2 and {c["code"] for c in coupons} >= {redemption["code"]}
    assert len({c["code"] for c in coupons}) == 2  # a code a unit
    until = (now + timedelta(days=7)).isoformat()
    for coupon in coupons:
        assert (coupon["name"], coupon["valueFen"], coupon["minSpendFen"], coupon["status"], coupon["source"],
                coupon["validUntil"], coupon["usedAt"], coupon["redemptionId"]) == (
            "满 30 减 5 券", 500, 3000, "AVAILABLE", "MALL", until, None, redemption["id"])
    assert wallet(member, "EXPIRED") == [] and len(wallet(member, "AVAILABLE")) == 2

    live_server.clock.advance(timedelta(days=1))  # inside the 30-day reminder window
    assert run(live_server, lambda s: s.coupons.remind_expiring()) == 2
    assert run(live_server, lambda s: s.coupons.remind_expiring()) == 0  # once per coupon
    kinds = [n["kind"] for n in (e["node"] for e in member.data(NOTIFICATIONS)["me"]["notifications"]["edges"])]
    assert kinds.count("COUPON_EXPIRING") == 2

    live_server.clock.advance(timedelta(days=6))  # validUntil reached: expired before any sweep
    assert [c["status"] for c in wallet(member)] == ["EXPIRED", "EXPIRED"]
    assert wallet(member, "AVAILABLE") == [] and len(wallet(member, "EXPIRED")) == 2
    assert run(live_server, lambda s: s.coupons.expire_due()) == 2
    assert run(live_server, lambda s: s.coupons.expire_due()) == 0
    assert len(wallet(member, "EXPIRED")) == 2


def test_coupons_follow_their_redemption_and_a_zero_day_coupon_never_expires(live_server):
    staff = live_server.staff()
    item = coupon_item(staff, "茶饮兑换券", value=0, minimum=0, days=0)
    member = funded(live_server, "settler", 1000)
    cancelled, used = redeemed(member, item, "a"), redeemed(member, item, "b")
    assert staff.data(CANCEL, {"id": cancelled["id"], "key": "c"})["cancelRedemption"]["userErrors"] == []
    assert staff.data(FULFIL, {"id": used["id"], "status": "USED"})["fulfilRedemption"]["userErrors"] == []
    by_redemption = {c["redemptionId"]: c for c in wallet(member)}
    assert by_redemption[cancelled["id"]]["status"] == "CANCELLED"
    assert by_redemption[used["id"]]["status"] == "USED" and by_redemption[used["id"]]["usedAt"]
    kept = redeemed(member, item, "k")
    live_server.clock.advance(timedelta(days=4000))
    assert [c["status"] for c in wallet(member) if c["redemptionId"] == kept["id"]] == ["AVAILABLE"]
    assert next(c for c in wallet(member) if c["redemptionId"] == kept["id"])["validUntil"] is None


def test_lottery_prizes_and_flash_sales_put_coupons_in_the_wallet_too(live_server):
    staff, now = live_server.staff(), live_server.clock.now()
    item = coupon_item(staff, "奖品券")
    lottery = new_lottery(live_server, [{"name": "奖品券", "kind": "ITEM", "weight": 1000, "itemId": item,
                                         "stock": 5}, {"name": "谢谢参与", "kind": "NOTHING", "weight": 1,
                                                       "fallback": True}])
    member = funded(live_server, "lucky", 1000)
    drawn = member.data('mutation($l: ID!) { drawLottery(input: {lotteryId: $l, idempotencyKey: "d"}) '
                        '{ draw { redemption { id code } } userErrors { code } } }', {"l": lottery["id"]})
    prize = drawn["drawLottery"]["draw"]["redemption"]
    sale = staff.data(SALE, {"item": item, "stock": 3, "starts": now.isoformat(),
                             "ends": (now + timedelta(hours=1)).isoformat()})["createFlashSale"]["flashSale"]["id"]
    sold = redeemed(member, sale, "flash")
    assert sold["code"]  # a coupon bought in a flash sale carries its code like any other
    found = {c["redemptionId"]: c for c in wallet(member)}
    assert (found[prize["id"]]["source"], found[prize["id"]]["code"]) == ("LOTTERY", prize["code"])
    assert (found[sold["id"]]["source"], found[sold["id"]]["code"]) == ("MALL", sold["code"])


def test_a_coupon_is_its_member_s_and_staff_s_alone(live_server):
    item = coupon_item(live_server.staff())
    owner = funded(live_server, "owner-c", 500)
    redeemed(owner, item, "o")
    [coupon] = wallet(owner)
    refetch = "query($id: ID!) { node(id: $id) { ... on Coupon { code status } } }"
    assert owner.data(refetch, {"id": coupon["id"]})["node"] == {"code": coupon["code"], "status": "AVAILABLE"}
    assert live_server.staff().data(refetch, {"id": coupon["id"]})["node"]["code"] == coupon["code"]
    other = live_server.member("someone-else")
    assert other.execute(refetch, {"id": coupon["id"]})["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert live_server.anonymous().execute(refetch, {"id": coupon["id"]})["errors"][0]["extensions"]["code"] \
        == "UNAUTHENTICATED"
    assert wallet(other) == []


def test_bad_coupon_terms_are_user_errors(live_server):
    staff = live_server.staff()
    for value, minimum, days, field in ((-1, 0, 7, "couponValueFen"), (0, -5, 7, "couponMinSpendFen"),
                                        (0, 0, 4000, "couponValidDays")):
        made = staff.data(COUPON_ITEM, {"name": "坏券", "value": value, "min": minimum, "days": days})
        assert made["createMallItem"]["userErrors"] == [{"field": [field], "code": "INVALID_INPUT"}]


def test_upgrading_gives_earlier_coupon_redemptions_their_coupons(live_server):
    item = coupon_item(live_server.staff(), days=30)
    member = funded(live_server, "early", 500)
    redemption = redeemed(member, item, "before")
    downgrade(live_server.database_url, "0029")
    upgrade(live_server.database_url)
    [coupon] = wallet(member)
    assert (coupon["code"], coupon["redemptionId"], coupon["status"]) == (redemption["code"], redemption["id"],
                                                                           "AVAILABLE")


def run(live_server, action):
    return asyncio.run(with_services(live_server, action))
