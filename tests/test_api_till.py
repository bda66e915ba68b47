"""The till (门店核销) over real HTTP on both databases: a member code that rotates every minute and is
honoured for two, a store token that acts for its own store only, offline orders and deductions at
the till, coupons redeemed exactly once with their refusals (also by two tills at once), and the
per-store figures, checked by `jifen check`'s reconciliation."""
import asyncio
from datetime import timedelta

import httpx

from api.http.auth import issue_token
from persistence.migrate import downgrade, upgrade
from tests.conftest import SECRET, with_services
from tests.documents import ADJUST
from tests.test_api_coupons import coupon_item, redeemed, wallet
from tests.test_api_deductions import REFUND
from tests.test_api_ledger import member_gid
from tests.test_api_mall import CANCEL, funded

MY_CODE = "{ me { id memberCode memberCodeValidUntil memberCodeQr } }"
IDENTIFY = """query($code: String!, $store: String!) { identifyMember(memberCode: $code, storeId: $store) {
  member { id nickname availablePoints tier { level } coupons { code storeIds } } userErrors { field code } } }"""
STORE_ORDER = """mutation($code: String!, $store: String!, $order: String!, $amount: Int!, $key: String!) {
  recordStoreOrder(input: {memberCode: $code, storeId: $store, orderId: $order, amountFen: $amount,
                           idempotencyKey: $key}) {
    member { availablePoints } order { orderId channel storeId points status } userErrors { field code } } }"""
DEDUCT = """mutation($code: String!, $store: String!, $order: String!, $amount: Int!, $points: Int!, $key: String!) {
  deductAtTill(input: {memberCode: $code, storeId: $store, orderId: $order, orderAmountFen: $amount,
                       points: $points, idempotencyKey: $key}) {
    member { availablePoints } entry { reason delta } deductedFen pointsUsed userErrors { field code } } }"""
REDEEM_COUPON = """mutation($code: String!, $store: String!) { redeemCoupon(input: {code: $code, storeId: $store}) {
  coupon { code status usedStoreId usedAt } userErrors { field code } } }"""
FIGURES = """query($from: Date!, $to: Date!, $store: String) { storeFigures(from: $from, to: $to, storeId: $store) {
  storeId orders pointsEarned deductions pointsBurned couponsRedeemed couponValueFen } }"""


def code_of(member) -> str:
    return member.data(MY_CODE)["me"]["memberCode"]


def errors(payload) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


def figures(client, live_server, store=None) -> dict:
    today = live_server.clock.now().date()
    rows = client.data(FIGURES, {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1)),
                                 "store": store})["storeFigures"]
    return {row.pop("storeId"): row for row in rows}


def check_ok(live_server) -> None:
    report = asyncio.run(with_services(live_server, lambda s: s.reconciliation.run()))
    assert report.ok, report


def test_the_member_code_rotates_every_minute_and_is_honoured_for_two(live_server):
    member = funded(live_server, "shown", 300)
    till = live_server.store("S1")
    shown = member.data(MY_CODE)["me"]
    assert shown["memberCode"].isdigit() and shown["memberCodeQr"].startswith("data:image/svg+xml;base64,")
    assert shown["memberCodeValidUntil"] > live_server.clock.now().isoformat()
    first = shown["memberCode"]
    found = till.data(IDENTIFY, {"code": first, "store": "S1"})["identifyMember"]
    assert found["userErrors"] == [] and found["member"]["availablePoints"] == 300
    assert found["member"]["id"] == shown["id"] and found["member"]["tier"]["level"] == 1

    live_server.clock.advance(timedelta(seconds=60))
    second = code_of(member)
    assert second != first  # a new code each minute, and the last one still works
    assert till.data(IDENTIFY, {"code": first, "store": "S1"})["identifyMember"]["userErrors"] == []
    live_server.clock.advance(timedelta(seconds=60))
    late = till.data(IDENTIFY, {"code": first, "store": "S1"})["identifyMember"]
    assert late["member"] is None and errors(late) == ["MEMBER_CODE_EXPIRED"]
    assert till.data(IDENTIFY, {"code": second, "store": "S1"})["identifyMember"]["userErrors"] == []

    current = code_of(member)
    forged = current[:-1] + str((int(current[-1]) + 1) % 10)
    other_member = "8" + str(int(current[1:-10]) + 1) + current[-10:]  # someone else's id, this code's MAC
    for bad in (forged, other_member, "12345", "", "8" * 40, "abc-def", "８１２３４５６７８９０１２"):
        refused = till.data(IDENTIFY, {"code": bad, "store": "S1"})["identifyMember"]
        assert refused["member"] is None and errors(refused) == ["MEMBER_CODE_INVALID"], bad


def test_a_store_token_acts_for_its_own_store_and_nothing_else(live_server):
    member = funded(live_server, "private", 200)
    item = coupon_item(live_server.staff())
    coupon = wallet(member)[0] if wallet(member) else None
    assert coupon is None
    redeemed(member, item, "c1")
    coupon = wallet(member)[0]
    till = live_server.store("S1")
    code = code_of(member)

    wrong = till.execute(IDENTIFY, {"code": code, "store": "S2"})
    assert wrong["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert till.execute(REDEEM_COUPON, {"code": coupon["code"], "store": "S2"})["errors"][0]["extensions"][
        "code"] == "FORBIDDEN"
    assert till.execute(FIGURES, {"from": "2026-01-01", "to": "2026-01-02", "store": "S2"})["errors"][0][
        "extensions"]["code"] == "FORBIDDEN"
    assert till.data("{ me { id } }")["me"] is None
    refused = [till.execute(ADJUST, {"memberId": member_gid("private"), "delta": 5, "memo": "m", "key": "k"}),
               till.execute("query($id: ID!) { node(id: $id) { id } }", {"id": coupon["id"]}),
               till.execute("query($id: ID!) { member(id: $id) { id } }", {"id": member_gid("private")}),
               till.execute("{ analytics(from: \"2026-01-01\", to: \"2026-01-02\") { earned } }")]
    assert [r["errors"][0]["extensions"]["code"] for r in refused] == ["FORBIDDEN"] * 4
    # Another member (or anyone but the member) gets no code: it is the member's consent at the till.
    staff_view = live_server.staff().data("query($id: ID!) { member(id: $id) { memberCode memberCodeQr } }",
                                          {"id": member_gid("private")})
    assert staff_view["member"] == {"memberCode": None, "memberCodeQr": None}
    assert member.execute(REDEEM_COUPON, {"code": coupon["code"], "store": "S1"})["errors"][0]["extensions"][
        "code"] == "FORBIDDEN"
    bad_token = httpx.post(f"{live_server.base_url}/graphql", json={"query": "{ me { id } }"}, headers={
        "authorization": "Bearer " + issue_token(SECRET, "a@b", role="store")})
    assert bad_token.status_code == 401


def test_a_till_records_orders_and_takes_points_off_bills_for_the_member_who_shows_the_code(live_server):
    member = funded(live_server, "shopper", 2000)
    till, staff = live_server.store("S1"), live_server.staff()
    ordered = till.data(STORE_ORDER, {"code": code_of(member), "store": "S1", "order": "POS-1", "amount": 12_300,
                                      "key": "o1"})["recordStoreOrder"]
    assert ordered["userErrors"] == [] and ordered["order"] == {
        "orderId": "POS-1", "channel": "OFFLINE_STORE", "storeId": "S1", "points": 123, "status": "PENDING"}
    again = till.data(STORE_ORDER, {"code": code_of(member), "store": "S1", "order": "POS-1", "amount": 12_300,
                                    "key": "o1"})["recordStoreOrder"]
    assert again["userErrors"] == [] and again["order"]["orderId"] == "POS-1"  # the key's replay
    duplicate = till.data(STORE_ORDER, {"code": code_of(member), "store": "S1", "order": "POS-1", "amount": 100,
                                        "key": "o2"})["recordStoreOrder"]
    assert errors(duplicate) == ["DUPLICATE_ORDER"] and duplicate["order"] is None

    taken = till.data(DEDUCT, {"code": code_of(member), "store": "S1", "order": "POS-2", "amount": 10_000,
                               "points": 500, "key": "d1"})["deductAtTill"]
    assert taken["userErrors"] == [] and (taken["deductedFen"], taken["pointsUsed"]) == (500, 500)
    assert taken["entry"] == {"reason": "DEDUCTION", "delta": -500} and taken["member"]["availablePoints"] == 1500
    too_much = till.data(DEDUCT, {"code": code_of(member), "store": "S1", "order": "POS-3", "amount": 1_000,
                                  "points": 600, "key": "d2"})["deductAtTill"]
    assert errors(too_much) == ["DEDUCTION_TOO_LARGE"]
    # Staff at a till act for any store, as that store.
    by_staff = staff.data(DEDUCT, {"code": code_of(member), "store": "S2", "order": "POS-4", "amount": 5_000,
                                   "points": 200, "key": "d3"})["deductAtTill"]
    assert by_staff["userErrors"] == [] and by_staff["member"]["availablePoints"] == 1300
    stale = code_of(member)
    live_server.clock.advance(timedelta(minutes=3))
    expired = till.data(DEDUCT, {"code": stale, "store": "S1", "order": "POS-5", "amount": 5_000, "points": 100,
                                 "key": "d4"})["deductAtTill"]
    assert errors(expired) == ["MEMBER_CODE_EXPIRED"]

    assert figures(staff, live_server) == {
        "S1": {"orders": 1, "pointsEarned": 123, "deductions": 1, "pointsBurned": 500, "couponsRedeemed": 0,
               "couponValueFen": 0},
        "S2": {"orders": 0, "pointsEarned": 0, "deductions": 1, "pointsBurned": 200, "couponsRedeemed": 0,
               "couponValueFen": 0}}
    refunded = staff.data(REFUND, {"member": member_gid("shopper"), "order": "POS-2", "key": "r"})["refundDeduction"]
    assert refunded["userErrors"] == []
    assert figures(till, live_server)["S1"]["deductions"] == 0  # a store reads its own figures
    assert list(figures(till, live_server)) == ["S1"]
    check_ok(live_server)


def test_a_coupon_is_redeemed_once_in_a_store_that_takes_it(live_server):
    staff = live_server.staff()
    item = staff.data("""mutation { createMallItem(input: {name: "到店券", kind: COUPON, pointsPrice: 100, stock: 9,
      couponValueFen: 800, couponValidDays: 3, couponStoreIds: ["S1", "S3"]}) { item { id couponStoreIds } } }""")[
        "createMallItem"]["item"]
    assert item["couponStoreIds"] == ["S1", "S3"]
    member = funded(live_server, "couponer", 1000)
    two = redeemed(member, item["id"], "two", quantity=2)
    one = redeemed(member, item["id"], "one")
    held = {c["redemptionId"]: c for c in wallet(member)}
    first, second = [c["code"] for c in wallet(member) if c["redemptionId"] == two["id"]]
    lone = held[one["id"]]["code"]
    till = live_server.store("S1")

    shown = till.data(IDENTIFY, {"code": code_of(member), "store": "S1"})["identifyMember"]["member"]
    assert sorted(c["code"] for c in shown["coupons"]) == sorted([first, second, lone])
    assert live_server.store("S2").data(IDENTIFY, {"code": code_of(member), "store": "S2"})["identifyMember"][
        "member"]["coupons"] == []
    wrong = live_server.store("S2").data(REDEEM_COUPON, {"code": first, "store": "S2"})["redeemCoupon"]
    assert errors(wrong) == ["WRONG_STORE"] and wrong["coupon"] is None
    used = till.data(REDEEM_COUPON, {"code": first, "store": "S1"})["redeemCoupon"]
    assert used["userErrors"] == [] and used["coupon"]["status"] == "USED" and used["coupon"]["usedStoreId"] == "S1"
    assert errors(till.data(REDEEM_COUPON, {"code": first, "store": "S1"})["redeemCoupon"]) == ["ALREADY_USED"]
    assert errors(till.data(REDEEM_COUPON, {"code": "NO-SUCH-CODE", "store": "S1"})["redeemCoupon"]) == ["NOT_FOUND"]
    assert errors(till.data(REDEEM_COUPON, {"code": "x" * 500, "store": "S1"})["redeemCoupon"]) == ["NOT_FOUND"]
    # A redemption with a coupon used cannot be cancelled (its points would come back for a used coupon).
    assert staff.data(CANCEL, {"id": two["id"], "key": "c"})["cancelRedemption"]["userErrors"] == [
        {"code": "INVALID_TRANSITION"}]
    assert staff.data(REDEEM_COUPON, {"code": second, "store": "S3"})["redeemCoupon"]["userErrors"] == []
    statuses = {r["id"]: r["status"] for r in (e["node"] for e in member.data(
        "{ me { redemptions(first: 5) { edges { node { id status } } } } }")["me"]["redemptions"]["edges"])}
    assert statuses == {two["id"]: "USED", one["id"]: "CREATED"}  # its last coupon used, the redemption is used

    assert figures(staff, live_server, "S1") == {"S1": {
        "orders": 0, "pointsEarned": 0, "deductions": 0, "pointsBurned": 0, "couponsRedeemed": 1,
        "couponValueFen": 800}}
    live_server.clock.advance(timedelta(days=3))
    assert errors(till.data(REDEEM_COUPON, {"code": lone, "store": "S1"})["redeemCoupon"]) == ["EXPIRED"]
    held = member.data("{ me { coupons(first: 5) { edges { node { code status usedStoreId } } } } }")
    assert {c["code"]: (c["status"], c["usedStoreId"]) for c in (e["node"] for e in held["me"]["coupons"]["edges"])} == {
        first: ("USED", "S1"), second: ("USED", "S3"), lone: ("EXPIRED", None)}
    check_ok(live_server)


def test_two_tills_redeeming_one_coupon_at_once_redeem_it_once(live_server):
    member = funded(live_server, "raced", 1000)
    redeemed(member, coupon_item(live_server.staff()), "race")
    code = wallet(member)[0]["code"]
    tills = [live_server.store("S1") for _ in range(4)] + [live_server.store("S2") for _ in range(4)]

    async def rush():
        async with httpx.AsyncClient() as http:
            return await asyncio.gather(*(till.execute_async(http, REDEEM_COUPON, {"code": code, "store": store})
                                          for till, store in zip(tills, ["S1"] * 4 + ["S2"] * 4)))

    answers = [a["data"]["redeemCoupon"] for a in asyncio.run(rush())]
    assert sum(a["userErrors"] == [] for a in answers) == 1
    assert sorted(code for a in answers for code in errors(a)) == ["ALREADY_USED"] * 7
    winner = next(a["coupon"]["usedStoreId"] for a in answers if a["coupon"])
    assert sum(f["couponsRedeemed"] for f in figures(live_server.staff(), live_server).values()) == 1
    assert figures(live_server.staff(), live_server)[winner]["couponsRedeemed"] == 1
    check_ok(live_server)


RECORD_ORDER = """mutation($member: ID!, $order: String!, $amount: Int!, $store: String) {
  recordOrder(input: {memberId: $member, orderId: $order, amountFen: $amount, channel: OFFLINE_STORE,
                      storeId: $store, idempotencyKey: $order}) { userErrors { code } } }"""


def test_the_upgrade_counts_the_store_orders_recorded_before_it(live_server):
    staff = live_server.staff()
    funded(live_server, "earlier", 0)
    for order, amount, store in (("E-1", 5_000, "S9"), ("E-2", 7_000, "S9"), ("E-3", 1_000, "S8")):
        assert staff.data(RECORD_ORDER, {"member": member_gid("earlier"), "order": order, "amount": amount,
                                         "store": store})["recordOrder"]["userErrors"] == []
    before = figures(staff, live_server)
    downgrade(live_server.database_url, "0032")
    upgrade(live_server.database_url)
    assert figures(staff, live_server) == before == {
        "S8": {"orders": 1, "pointsEarned": 10, "deductions": 0, "pointsBurned": 0, "couponsRedeemed": 0,
               "couponValueFen": 0},
        "S9": {"orders": 2, "pointsEarned": 120, "deductions": 0, "pointsBurned": 0, "couponsRedeemed": 0,
               "couponValueFen": 0}}
    check_ok(live_server)
