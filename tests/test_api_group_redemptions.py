"""Group redemption (拼团) over real HTTP on both databases: a group that fills, one that expires, and a race
to fill the last places."""
import asyncio
from datetime import timedelta

import httpx

from api.ops.services import Services
from tests.test_api_mall import create, funded

START = """
mutation($item: ID!, $key: String!) {
  startGroupRedemption(input: {itemId: $item, idempotencyKey: $key}) {
    group { id size joined status pointsPrice deadline } entry { reason delta }
    member { points { available held } } userErrors { field code }
  }
}
"""
JOIN = """
mutation($group: ID!, $key: String!) {
  joinGroupRedemption(input: {groupId: $group, idempotencyKey: $key}) {
    group { id joined status filledAt } entry { reason delta memo }
    member { points { available held } } userErrors { field code }
  }
}
"""
POINTS = "{ me { points { available held } redemptions(first: 5) { edges { node { itemName points } } } } }"


def group_item(live_server, stock=10, size=3, price=100, hours=24):
    staff = live_server.staff()
    item = create(staff, "双人下午茶", 300, stock)
    offer = """mutation($id: ID!, $size: Int!, $price: Int!, $hours: Int!) {
      updateMallItem(input: {itemId: $id, groupSize: $size, groupPointsPrice: $price, groupHours: $hours}) {
        item { groupSize groupPointsPrice groupHours } userErrors { field code } } }"""
    made = staff.data(offer, {"id": item, "size": size, "price": price, "hours": hours})["updateMallItem"]
    assert made["userErrors"] == [], made
    return item


def start(member, item, key="start"):
    return member.data(START, {"item": item, "key": key})["startGroupRedemption"]


def join(member, group, key="join"):
    return member.data(JOIN, {"group": group, "key": key})["joinGroupRedemption"]


def stock_of(live_server, item):
    return live_server.anonymous().data("query($id: ID!) { node(id: $id) { ... on MallItem { stock } } }",
                                        {"id": item})["node"]["stock"]


def test_a_group_that_fills_settles_every_hold_and_takes_the_stock(live_server):
    item = group_item(live_server)
    owner, friend, last = (funded(live_server, name, 500) for name in ("tea-owner", "tea-friend", "tea-last"))
    started = start(owner, item)
    assert started["userErrors"] == [] and started["entry"] is None
    assert started["member"]["points"] == {"available": 400, "held": 100}
    group = started["group"]
    assert (group["size"], group["joined"], group["status"], group["pointsPrice"]) == (3, 1, "OPEN", 100)
    assert join(friend, group["id"])["member"]["points"] == {"available": 400, "held": 100}
    assert join(friend, group["id"], "again")["userErrors"] == [{"field": ["groupId"], "code": "ALREADY_JOINED"}]
    filled = join(last, group["id"])
    assert filled["group"]["status"] == "FILLED" and filled["group"]["joined"] == 3
    assert filled["entry"] == {"reason": "REDEMPTION", "delta": -100, "memo": "拼团 双人下午茶"}
    for member in (owner, friend, last):
        me = member.data(POINTS)["me"]
        assert me["points"] == {"available": 400, "held": 0}
        assert me["redemptions"]["edges"] == [{"node": {"itemName": "双人下午茶", "points": 100}}]
    assert stock_of(live_server, item) == 7
    late = funded(live_server, "tea-late", 500)
    assert join(late, group["id"])["userErrors"] == [{"field": ["groupId"], "code": "GROUP_CLOSED"}]


def test_a_group_that_does_not_fill_in_time_releases_every_hold(live_server):
    item = group_item(live_server, hours=2)
    owner, friend = funded(live_server, "lonely-owner", 150), funded(live_server, "lonely-friend", 150)
    group = start(owner, item)["group"]
    join(friend, group["id"])
    listed = live_server.anonymous().data("query($item: ID!) { groupRedemptions(itemId: $item) { id joined } }",
                                          {"item": item})
    assert listed["groupRedemptions"] == [{"id": group["id"], "joined": 2}]
    live_server.clock.advance(timedelta(hours=2))
    for member in (owner, friend):
        assert member.data(POINTS)["me"]["points"] == {"available": 150, "held": 0}
    third = funded(live_server, "lonely-third", 150)
    assert join(third, group["id"])["userErrors"] == [{"field": ["groupId"], "code": "GROUP_CLOSED"}]
    status = owner.data("query($id: ID!) { node(id: $id) { ... on GroupRedemption { status } } }",
                        {"id": group["id"]})
    assert status["node"]["status"] == "EXPIRED" and stock_of(live_server, item) == 10


def test_refusals_leave_points_and_stock_alone(live_server):
    plain = create(live_server.staff(), "普通商品", 100, 5)
    member = funded(live_server, "group-refused", 120)
    assert start(member, plain)["userErrors"] == [{"field": ["itemId"], "code": "NOT_A_GROUP_ITEM"}]
    item = group_item(live_server, price=150)
    assert start(member, item, "poor")["userErrors"] == [{"field": ["itemId"], "code": "INSUFFICIENT_POINTS"}]
    scarce = group_item(live_server, stock=2, size=3)
    assert start(member, scarce, "scarce")["userErrors"] == [{"field": ["itemId"], "code": "SOLD_OUT"}]
    assert member.data(POINTS)["me"]["points"] == {"available": 120, "held": 0}
    bad = live_server.staff().data("""mutation($id: ID!) { updateMallItem(input: {itemId: $id, groupSize: 3,
        groupPointsPrice: 999}) { userErrors { field code } } }""", {"id": plain})
    assert bad["updateMallItem"]["userErrors"] == [{"field": ["groupPointsPrice"], "code": "INVALID_INPUT"}]


async def test_thirty_friends_racing_for_four_places_fill_the_group_exactly_once(live_server):
    item = group_item(live_server, size=5, price=100)
    group = start(funded(live_server, "race-owner", 100), item)["group"]
    friends = [funded(live_server, f"racer-{i}", 100) for i in range(30)]
    async with httpx.AsyncClient(timeout=120) as http:
        replies = await asyncio.gather(*(f.execute_async(http, JOIN, {"group": group["id"], "key": "go"})
                                         for f in friends))
    payloads = [r["data"]["joinGroupRedemption"] for r in replies]
    joined = [p for p in payloads if not p["userErrors"]]
    assert len(joined) == 4
    assert {p["userErrors"][0]["code"] for p in payloads if p["userErrors"]} == {"GROUP_CLOSED"}
    assert sum(1 for p in joined if p["entry"]) == 1  # only the join that filled it paid outright
    assert stock_of(live_server, item) == 5
    services = Services.build(live_server.database_url, live_server.clock)
    try:
        assert (await services.reconciliation.run()).ok
    finally:
        await services.close()
    held = [f.data("{ me { points { available held } } }")["me"]["points"] for f in friends]
    assert sorted(h["available"] for h in held) == [0] * 4 + [100] * 26 and all(h["held"] == 0 for h in held)
