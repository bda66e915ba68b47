"""Points-plus-cash checkout: holds, payment, cancel, timeout, and one resolution under races."""
import asyncio
from datetime import timedelta

import httpx

from api.ops.services import Services
from tests.test_api_mall import CATALOGUE, create, funded

CHECKOUT = """mutation($item: ID!, $quantity: Int = 1, $key: String!) {
  checkout(input: {itemId: $item, quantity: $quantity, idempotencyKey: $key}) {
    order { id status cashDueFen pointsHeld expiresAt } member { points { available held } } userErrors { code } } }"""
CONFIRM = """mutation($order: ID!, $key: String!) {
  confirmPayment(input: {orderId: $order, paymentRef: "wxpay-42", idempotencyKey: $key}) {
    order { status paymentRef } entry { reason delta } member { points { available held } } userErrors { code } } }"""
CANCEL = """mutation($order: ID!, $key: String!) { cancelOrder(input: {orderId: $order, idempotencyKey: $key}) {
  order { status } member { points { available held } } userErrors { code } } }"""


def stock(live_server):
    return live_server.anonymous().data(CATALOGUE, {"first": 1})["mallItems"]["edges"][0]["node"]["stock"]


def test_checkout_holds_then_payment_spends(live_server):
    item = create(live_server.staff(), "帆布袋", 300, 5, cash=1990)
    member = funded(live_server, "bag-buyer", 1000)
    placed = member.data(CHECKOUT, {"item": item, "quantity": 2, "key": "c1"})["checkout"]
    order = placed["order"]
    assert (order["status"], order["cashDueFen"], order["pointsHeld"]) == ("PENDING_PAYMENT", 3980, 600)
    assert placed["member"]["points"] == {"available": 400, "held": 600}
    assert stock(live_server) == 3
    paid = live_server.staff().data(CONFIRM, {"order": order["id"], "key": "p1"})["confirmPayment"]
    assert paid["order"] == {"status": "PAID", "paymentRef": "wxpay-42"}
    assert paid["entry"] == {"reason": "CHECKOUT", "delta": -600}
    assert paid["member"]["points"] == {"available": 400, "held": 0}
    again = live_server.staff().data(CONFIRM, {"order": order["id"], "key": "p2"})["confirmPayment"]
    assert again["userErrors"] == [{"code": "ORDER_NOT_PENDING"}]


def test_cancel_and_timeout_release_points_and_stock(live_server):
    item = create(live_server.staff(), "帆布袋", 300, 5, cash=1990)
    member = funded(live_server, "undecided", 1000)
    first = member.data(CHECKOUT, {"item": item, "key": "a"})["checkout"]["order"]["id"]
    cancelled = member.data(CANCEL, {"order": first, "key": "x"})["cancelOrder"]
    assert cancelled["order"]["status"] == "CANCELLED"
    assert cancelled["member"]["points"] == {"available": 1000, "held": 0}
    assert stock(live_server) == 5
    second = member.data(CHECKOUT, {"item": item, "key": "b"})["checkout"]["order"]["id"]
    live_server.clock.advance(timedelta(minutes=15))
    assert member.data("{ me { points { available held } } }")["me"]["points"] == {"available": 1000, "held": 0}
    status = member.data("{ me { checkoutOrders(first: 5) { edges { node { status } } } } }")
    assert [e["node"]["status"] for e in status["me"]["checkoutOrders"]["edges"]] == ["EXPIRED", "CANCELLED"]
    assert stock(live_server) == 5
    late = live_server.staff().data(CONFIRM, {"order": second, "key": "late"})["confirmPayment"]
    assert late["userErrors"] == [{"code": "ORDER_NOT_PENDING"}]
    stranger = live_server.member("stranger")
    assert stranger.data(CANCEL, {"order": second, "key": "s"})["cancelOrder"]["userErrors"] == [
        {"code": "NOT_FOUND"}]


def test_checkout_refusals(live_server):
    staff = live_server.staff()
    points_only = create(staff, "纯积分", 10, 5)
    dear = create(staff, "贵的", 5000, 5, cash=100)
    member = funded(live_server, "refused-buyer", 1000)
    assert member.data(CHECKOUT, {"item": points_only, "key": "a"})["checkout"]["userErrors"] == [
        {"code": "POINTS_ONLY"}]
    assert member.data(CHECKOUT, {"item": dear, "key": "b"})["checkout"]["userErrors"] == [
        {"code": "INSUFFICIENT_POINTS"}]
    assert member.data(CHECKOUT, {"item": dear, "quantity": 6, "key": "c"})["checkout"]["userErrors"][0][
        "code"] in ("SOLD_OUT", "INSUFFICIENT_POINTS")


async def test_100_concurrent_confirms_and_cancels_resolve_an_order_once(live_server):
    item = create(live_server.staff(), "帆布袋", 300, 5, cash=1990)
    member = funded(live_server, "racer", 1000)
    order = member.data(CHECKOUT, {"item": item, "key": "c"})["checkout"]["order"]["id"]
    staff = live_server.staff()
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=100)) as http:
        replies = await asyncio.gather(*(
            (staff.execute_async(http, CONFIRM, {"order": order, "key": f"p{i}"}) if i % 2 else
             member.execute_async(http, CANCEL, {"order": order, "key": f"x{i}"})) for i in range(100)))
    payloads = [next(iter(r["data"].values())) for r in replies]
    winners = [p for p in payloads if not p["userErrors"]]
    assert len(winners) == 1
    assert {p["userErrors"][0]["code"] for p in payloads if p["userErrors"]} == {"ORDER_NOT_PENDING"}
    points = member.data("{ me { points { available held } } }")["me"]["points"]
    assert points in ({"available": 700, "held": 0}, {"available": 1000, "held": 0})
    assert stock(live_server) == (5 if points["available"] == 1000 else 4)
    services = Services.build(live_server.database_url, live_server.clock)
    try:
        assert (await services.reconciliation.run()).ok
    finally:
        await services.close()


def test_staff_set_the_payment_window_of_new_orders(live_server):
    staff = live_server.staff()
    update = "mutation($m: Int!) { updateCheckoutRule(input: {paymentMinutes: $m}) { rule { paymentMinutes } " \
             "userErrors { field code } } }"
    assert staff.data(update, {"m": 0})["updateCheckoutRule"]["userErrors"] == [
        {"field": ["paymentMinutes"], "code": "INVALID_INPUT"}]
    assert staff.data(update, {"m": 5})["updateCheckoutRule"]["rule"] == {"paymentMinutes": 5}
    assert live_server.member("nosy").execute(update, {"m": 60})["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert live_server.anonymous().data("{ checkoutRule { paymentMinutes } }") == {"checkoutRule": {"paymentMinutes": 5}}
    item = create(staff, "帆布袋", 300, 5, cash=1990)
    member = funded(live_server, "quick-payer", 1000)
    member.data(CHECKOUT, {"item": item, "key": "short"})
    live_server.clock.advance(timedelta(minutes=5))
    assert member.data("{ me { points { available held } } }")["me"]["points"] == {"available": 1000, "held": 0}
