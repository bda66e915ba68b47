"""Points as a discount: 100 points = 1 yuan, at most 50% of the order, from 10 yuan; refunds return them."""
from tests.test_api_ledger import member_gid
from tests.test_api_mall import funded

APPLY = """mutation($order: String!, $amount: Int!, $points: Int!, $key: String!, $purpose: DeductionPurpose = ORDER) {
  applyDeduction(input: {orderId: $order, orderAmountFen: $amount, points: $points, idempotencyKey: $key,
                         purpose: $purpose}) {
    deductedFen pointsUsed entry { reason delta } member { points { available } } userErrors { field code } } }"""
REFUND = """mutation($member: ID!, $order: String!, $key: String!) {
  refundDeduction(input: {memberId: $member, orderId: $order, idempotencyKey: $key}) {
    entry { reason delta } member { points { available } } userErrors { code } } }"""


def apply(member, order, amount, points, key, **extra):
    return member.data(APPLY, {"order": order, "amount": amount, "points": points, "key": key, **extra})[
        "applyDeduction"]


def test_deduction_bounds_and_the_best_quote(live_server):
    member = funded(live_server, "saver", 5000)
    quote = member.data("{ bestDeduction(orderAmountFen: 6000) { points fen } }")["bestDeduction"]
    assert quote == {"points": 3000, "fen": 3000}  # half of 60 yuan
    assert member.data("{ bestDeduction(orderAmountFen: 999) { points fen } }")["bestDeduction"] == {
        "points": 0, "fen": 0}
    assert apply(member, "SO-1", 6000, 3001, "too-much")["userErrors"] == [
        {"field": ["points"], "code": "DEDUCTION_TOO_LARGE"}]
    assert apply(member, "SO-1", 999, 100, "small")["userErrors"] == [
        {"field": ["orderAmountFen"], "code": "ORDER_TOO_SMALL"}]
    ok = apply(member, "SO-1", 6000, 1500, "ok")
    assert (ok["deductedFen"], ok["pointsUsed"], ok["entry"]) == (1500, 1500, {"reason": "DEDUCTION", "delta": -1500})
    assert apply(member, "SO-1", 6000, 100, "dup")["userErrors"][0]["code"] == "DUPLICATE_ORDER"
    shipping = apply(member, "SO-1", 1200, 600, "ship", purpose="SHIPPING")
    assert shipping["userErrors"] == [] and shipping["member"]["points"]["available"] == 2900
    poor = funded(live_server, "poor-saver", 50)
    assert poor.data("{ bestDeduction(orderAmountFen: 6000) { points fen } }")["bestDeduction"] == {
        "points": 50, "fen": 50}
    assert apply(poor, "SO-9", 6000, 60, "p")["userErrors"][0]["code"] == "INSUFFICIENT_POINTS"


def test_a_refund_returns_the_deducted_points_once(live_server):
    member = funded(live_server, "refunder-d", 1000)
    apply(member, "SO-2", 4000, 800, "d")
    staff = live_server.staff()
    refunded = staff.data(REFUND, {"member": member_gid("refunder-d"), "order": "SO-2", "key": "r"})["refundDeduction"]
    assert refunded["entry"] == {"reason": "REVERSAL", "delta": 800}
    assert refunded["member"]["points"]["available"] == 1000
    again = staff.data(REFUND, {"member": member_gid("refunder-d"), "order": "SO-2", "key": "r2"})["refundDeduction"]
    assert again["userErrors"] == [{"code": "ORDER_FULLY_REFUNDED"}]
    missing = staff.data(REFUND, {"member": member_gid("refunder-d"), "order": "SO-x", "key": "r3"})
    assert missing["refundDeduction"]["userErrors"] == [{"code": "NOT_FOUND"}]


def test_staff_change_the_rate_cap_and_minimum(live_server):
    staff = live_server.staff()
    update = """mutation($rate: Int!, $cap: Int!, $min: Int!) {
      updateDeductionRule(input: {pointsPerYuan: $rate, maxPercent: $cap, minOrderFen: $min}) {
        rule { pointsPerYuan maxPercent minOrderFen } userErrors { field code } } }"""
    assert staff.data(update, {"rate": 200, "cap": 101, "min": 0})["updateDeductionRule"]["userErrors"] == [
        {"field": ["maxPercent"], "code": "INVALID_INPUT"}]
    changed = staff.data(update, {"rate": 200, "cap": 30, "min": 0})["updateDeductionRule"]
    assert changed["rule"] == {"pointsPerYuan": 200, "maxPercent": 30, "minOrderFen": 0}
    assert live_server.member("nosy").execute(update, {"rate": 1, "cap": 100, "min": 0})["errors"][0][
        "extensions"]["code"] == "FORBIDDEN"
    member = funded(live_server, "rate-watcher", 5000)
    # 30% of 10 yuan is 300 fen, bought at 200 points a yuan: 600 points.
    assert member.data("{ bestDeduction(orderAmountFen: 1000) { points fen } }")["bestDeduction"] == {
        "points": 600, "fen": 300}
    assert member.data("{ deductionRule { maxPercent } }") == {"deductionRule": {"maxPercent": 30}}
