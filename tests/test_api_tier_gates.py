"""Every door to an item checks the item's own rules as the mall does: a V3 item is V3's by redeem, by
flash sale, by 拼团 and as a lottery prize, and its per-member limit counts what every door gave.
A partner brand limited to a tier refuses the tiers below it."""
from datetime import timedelta

from tests.documents import CHECK_IN, UPDATE_TIER
from tests.test_api_flash_sales import SALE
from tests.test_api_group_redemptions import group_item, start
from tests.test_api_lottery import draw, new_lottery, points_prize
from tests.test_api_mall import create, funded, redeem
from tests.test_api_partners import add_partner, exchange

def low_thresholds(live_server):
    """V2 at 5 growth and V3 at 10: a check-in (10 points) makes a member V3."""
    staff = live_server.staff()
    for level, threshold in ((2, 5), (3, 10)):
        changed = staff.data(UPDATE_TIER, {"level": level, "name": f"V{level}", "threshold": threshold,
                                           "multiplier": 1.0})["updateTier"]
        assert changed["userErrors"] == [], changed


def v3_member(live_server, member_id, points):
    member = funded(live_server, member_id, points)
    assert member.data(CHECK_IN, {"key": f"{member_id}-in"})["checkIn"]["member"]["tier"]["level"] == 3
    return member


def flash_sale(live_server, item, stock=10, limit=0):
    now = live_server.clock.now()
    made = live_server.staff().data(SALE, {"item": item, "stock": stock, "limit": limit, "starts": now.isoformat(),
                                           "ends": (now + timedelta(hours=1)).isoformat()})["createFlashSale"]
    assert made["userErrors"] == [], made
    return made["flashSale"]["id"]


def buy_flash(member, sale, key):
    """A flash sale is redeemed by its id, through `redeem` like any item."""
    return redeem(member, sale, key)


def points_of(member):
    return member.data("{ me { points { available } } }")["me"]["points"]["available"]


def test_a_flash_sale_is_no_side_door_to_a_tier_gated_item(live_server):
    low_thresholds(live_server)
    item = create(live_server.staff(), "黑金礼盒", 900, 10, tier=3)
    sale = flash_sale(live_server, item)
    v1 = funded(live_server, "side-door", 100)
    assert redeem(v1, item, "mall")["userErrors"] == [{"field": ["itemId"], "code": "TIER_TOO_LOW"}]
    refused = buy_flash(v1, sale, "flash")
    assert refused["userErrors"] == [{"field": ["itemId"], "code": "TIER_TOO_LOW"}] and points_of(v1) == 100
    v3 = v3_member(live_server, "front-door", 100)
    assert buy_flash(v3, sale, "flash")["userErrors"] == []
    stock = live_server.anonymous().data("{ flashSales { stock } }")["flashSales"][0]["stock"]
    assert stock == 9  # the refused attempt took nothing


def test_an_items_per_member_limit_counts_every_door(live_server):
    item = create(live_server.staff(), "限量徽章", 50, 10, limit=1)
    sale = flash_sale(live_server, item)
    member = funded(live_server, "collector", 500)
    assert buy_flash(member, sale, "flash")["userErrors"] == []
    assert redeem(member, item, "mall")["userErrors"] == [{"field": ["quantity"], "code": "LIMIT_REACHED"}]
    other = funded(live_server, "other-collector", 500)
    assert redeem(other, item, "mall")["userErrors"] == []
    assert buy_flash(other, sale, "flash")["userErrors"] == [{"field": ["quantity"], "code": "LIMIT_REACHED"}]
    assert points_of(other) == 450


def test_a_group_redemption_checks_the_items_tier(live_server):
    low_thresholds(live_server)
    item = group_item(live_server)
    gated = live_server.staff().data("""mutation($id: ID!) { updateMallItem(input: {itemId: $id, minTierLevel: 3}) {
        userErrors { code } } }""", {"id": item})["updateMallItem"]
    assert gated["userErrors"] == []
    v1 = funded(live_server, "group-v1", 500)
    assert start(v1, item)["userErrors"] == [{"field": ["itemId"], "code": "TIER_TOO_LOW"}]
    v3 = v3_member(live_server, "group-v3", 500)
    assert start(v3, item)["userErrors"] == []


def test_a_lottery_item_prize_goes_only_to_members_the_item_admits(live_server):
    low_thresholds(live_server)
    staff = live_server.staff()
    box = create(staff, "黑金礼盒", 900, 10, tier=3)
    badge = create(staff, "限量徽章", 50, 10, limit=1)
    lottery = new_lottery(live_server, [{"name": "黑金礼盒", "kind": "ITEM", "weight": 100, "itemId": box},
                                        points_prize("5 积分", 0, 5, fallback=True)])
    v1, v3 = funded(live_server, "lucky-v1", 10), v3_member(live_server, "lucky-v3", 10)
    refused = draw(v1, lottery["id"], "v1")["draw"]
    assert (refused["drawnPrize"]["name"], refused["prize"]["name"], refused["fellBack"]) == ("黑金礼盒", "5 积分", True)
    assert refused["redemption"] is None
    won = draw(v3, lottery["id"], "v3")["draw"]
    assert won["prize"]["name"] == "黑金礼盒" and won["redemption"]["itemName"] == "黑金礼盒"

    badges = new_lottery(live_server, [{"name": "限量徽章", "kind": "ITEM", "weight": 100, "itemId": badge},
                                       points_prize("5 积分", 0, 5, fallback=True)])
    collector = funded(live_server, "badge-holder", 100)
    assert redeem(collector, badge, "mall")["userErrors"] == []
    assert draw(collector, badges["id"], "again")["draw"]["prize"]["name"] == "5 积分"  # the limit counts


async def test_a_partner_limited_to_a_tier_refuses_the_tiers_below(live_server):
    low_thresholds(live_server)
    await add_partner(live_server, min_tier_level=3)
    v1 = funded(live_server, "flyer-v1", 500)
    refused = exchange(v1, 100, "v1-out")
    assert refused["userErrors"] == [{"code": "TIER_TOO_LOW", "field": ["partnerCode"]}] and refused["exchange"] is None
    assert v1.data("{ me { points { available held } } }")["me"]["points"] == {"available": 500, "held": 0}
    rates = v1.data("{ exchangeRates { partnerCode minTierLevel } }")["exchangeRates"]
    assert rates == [{"partnerCode": "skyway", "minTierLevel": 3}]
    v3 = v3_member(live_server, "flyer-v3", 500)
    assert exchange(v3, 100, "v3-out")["userErrors"] == []
    staff = live_server.staff()
    opened = staff.data('mutation { updatePartner(input: {code: "skyway", minTierLevel: 1}) '
                        '{ partner { rate { minTierLevel } } userErrors { code } } }')["updatePartner"]
    assert opened == {"partner": {"rate": {"minTierLevel": 1}}, "userErrors": []}
    assert exchange(v1, 100, "v1-again")["userErrors"] == []
    bad = staff.data('mutation { updatePartner(input: {code: "skyway", minTierLevel: 7}) '
                     '{ userErrors { field code } } }')["updatePartner"]
    assert bad["userErrors"] == [{"field": ["minTierLevel"], "code": "INVALID_INPUT"}]
