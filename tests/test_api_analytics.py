"""Analytics over real HTTP against a hand-built history whose answers are worked out by hand."""
import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.documents import ADJUST, CHECK_IN
from tests.test_api_expiry import SETTINGS
from tests.test_api_ledger import member_gid
from tests.test_api_mall import create, funded, redeem
from tests.test_api_orders import CAMPAIGN, THRESHOLD, record, sweep

ANALYTICS = """query($from: Date!, $to: Date!) { analytics(from: $from, to: $to) {
  from to earned burned expired reversed redemptionRate breakageRate activeMembers
  weeklyActiveMembers { weekStarting members }
  days { day earned burned expired reversed activeMembers byReason { reason credited debited } }
  itemHeat(first: 5) { itemName redemptions quantity points members views conversion }
  taskParticipation { code times members }
  campaignParticipation { code times members bonusPoints } } }"""
LIABILITY = """{ liability { outstandingPoints heldPoints pendingPoints debtPoints membersWithPoints valueFen
  soon: expiringWithin(days: 30) later: expiringWithin(days: 60) } }"""


def build_history(live_server):
    """Day 1 (March 12th, Shanghai): alice and bob are given 1000 and 500, alice checks in and redeems a
    300-point cup, bob loses 50 to a correction and orders 100 yuan under a double-points campaign and a
    满100送50 bonus (100 + 100 + 50 points, pending for a week).
    Day 2: bob redeems a cup, carol checks in. Points live one month: they expire when April ends.
    Views: alice opens the cup's page twice on day 1 (counted once), bob once on each day, carol opens
    a tea set's page and buys nothing."""
    staff = live_server.staff()
    staff.data(SETTINGS, {"months": 1, "tz": "Asia/Shanghai"})
    now = live_server.clock.now()
    staff.data(CAMPAIGN, {"code": "double", "multiplier": 2.0, "starts": now.isoformat(),
                          "ends": (now + timedelta(days=2)).isoformat(), "reasons": ["ORDER"]})
    staff.data(THRESHOLD, {"code": "man100", "min": 10000, "bonus": 50, "starts": now.isoformat(),
                           "ends": (now + timedelta(days=2)).isoformat()})
    cup, tea = create(staff, "保温杯", 300, 10), create(staff, "茶具", 900, 10)
    alice, bob = funded(live_server, "alice", 1000), funded(live_server, "bob", 500)
    assert view(alice, cup) is True and view(alice, cup) is False and view(bob, cup) is True
    alice.data(CHECK_IN, {"key": "a1"})
    redeem(alice, cup, "a-cup")
    staff.data(ADJUST, {"memberId": member_gid("bob"), "delta": -50, "memo": "correction", "key": "bob-fix"})
    record(staff, "bob", "BOB-1", 10000)
    live_server.clock.advance(timedelta(days=1))
    assert view(bob, cup) is True
    redeem(bob, cup, "b-cup")
    carol = live_server.member("carol")
    carol.data(CHECK_IN, {"key": "c1"})
    view(carol, tea)
    return staff


def view(member, item) -> bool:
    payload = member.data('mutation($id: ID!) { viewMallItem(input: {itemId: $id}) { counted userErrors { code } } }',
                          {"id": item})["viewMallItem"]
    assert payload["userErrors"] == []
    return payload["counted"]


def test_earned_burned_and_who_was_active(live_server):
    staff = build_history(live_server)
    period = staff.data(ANALYTICS, {"from": "2026-03-12", "to": "2026-03-13"})["analytics"]
    day1, day2 = period.pop("days")
    assert day1 == {"day": "2026-03-12", "earned": 1510, "burned": 300, "expired": 0, "reversed": 50,
                    "activeMembers": 1, "byReason": [
                        {"reason": "ADJUSTMENT", "credited": 1500, "debited": 50},
                        {"reason": "CHECK_IN", "credited": 10, "debited": 0},
                        {"reason": "REDEMPTION", "credited": 0, "debited": 300}]}
    assert day2 == {"day": "2026-03-13", "earned": 10, "burned": 300, "expired": 0, "reversed": 0,
                    "activeMembers": 2, "byReason": [
                        {"reason": "CHECK_IN", "credited": 10, "debited": 0},
                        {"reason": "REDEMPTION", "credited": 0, "debited": 300}]}
    assert period == {
        "from": "2026-03-12", "to": "2026-03-13", "earned": 1520, "burned": 600, "expired": 0, "reversed": 50,
        "redemptionRate": 600 / 1520, "breakageRate": 0.0, "activeMembers": 3,
        "weeklyActiveMembers": [{"weekStarting": "2026-03-09", "members": 3}],
        "itemHeat": [{"itemName": "保温杯", "redemptions": 2, "quantity": 2, "points": 600, "members": 2,
                      "views": 3, "conversion": 2 / 3},
                     {"itemName": "茶具", "redemptions": 0, "quantity": 0, "points": 0, "members": 0,
                      "views": 1, "conversion": 0.0}],
        "taskParticipation": [],
        "campaignParticipation": [{"code": "double", "times": 1, "members": 1, "bonusPoints": 100},
                                  {"code": "man100", "times": 1, "members": 1, "bonusPoints": 50}]}


def test_liability_breakage_and_its_forecast(live_server):
    staff = build_history(live_server)
    assert staff.data(LIABILITY)["liability"] == {
        "outstandingPoints": 710 + 150 + 10, "heldPoints": 0, "pendingPoints": 250, "debtPoints": 0,
        "membersWithPoints": 3, "valueFen": 870,  # 100 points = 1 yuan
        "soon": 0, "later": 870}  # everything expires on April 30th (Shanghai), 48 days away
    tiers = staff.data("{ tierDistribution { tier { code } members } }")["tierDistribution"]
    assert tiers[0] == {"tier": {"code": "V1"}, "members": 3} and sum(t["members"] for t in tiers) == 3
    live_server.clock.set(datetime(2026, 5, 1, 3, tzinfo=UTC))
    asyncio.run(sweep(live_server))  # bob's order is released (100 + 150 campaign points), the lots expire
    may_day = staff.data(ANALYTICS, {"from": "2026-05-01", "to": "2026-05-01"})["analytics"]
    assert (may_day["earned"], may_day["expired"], may_day["breakageRate"]) == (250, 870, 870 / 250)
    assert may_day["activeMembers"] == 1  # bob's order counts as his; expiry is nobody's doing
    after = staff.data(LIABILITY)["liability"]
    assert (after["outstandingPoints"], after["pendingPoints"], after["membersWithPoints"]) == (250, 0, 1)


def test_analytics_are_for_staff_and_ranges_are_bounded(live_server):
    body = live_server.member("m").execute(ANALYTICS, {"from": "2026-03-12", "to": "2026-03-12"})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert live_server.anonymous().execute(LIABILITY)["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    staff = live_server.staff()
    for days in ({"from": "2026-03-12", "to": "2026-03-11"}, {"from": "2026-01-01", "to": "2026-06-01"}):
        assert staff.execute(ANALYTICS, days)["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    missing = live_server.member("m").data('mutation { viewMallItem(input: {itemId: "TWFsbEl0ZW06OTk5"}) '
                                           "{ counted userErrors { code } } }")["viewMallItem"]
    assert missing == {"counted": False, "userErrors": [{"code": "NOT_FOUND"}]}  # MallItem:999
    empty = staff.data(ANALYTICS, {"from": "2026-03-12", "to": "2026-03-12"})["analytics"]
    assert (empty["earned"], empty["redemptionRate"], empty["itemHeat"]) == (0, 0.0, [])


REFUND_FIGURES = """query($from: Date!, $to: Date!) { analytics(from: $from, to: $to) {
  earned reversed refundedOrderPoints days { earned refundedOrderPoints byReason { reason credited debited } } } }"""
SHANGHAI = ZoneInfo("Asia/Shanghai")  # the brand's default time zone


def test_points_of_refunded_orders_do_not_count_as_earned(live_server):
    staff, member = live_server.staff(), live_server.member("refunder")
    member.data("{ me { id } }")
    record(staff, "refunder", "RF-1", 20000)  # 200 points, released a week later
    live_server.clock.advance(timedelta(days=7))
    asyncio.run(sweep(live_server))
    released_on = live_server.clock.now().astimezone(SHANGHAI).date().isoformat()
    live_server.clock.advance(timedelta(days=1))
    refunded = staff.data("""mutation { refundOrder(input: {orderId: "RF-1", amountFen: 15000, idempotencyKey: "rf"}) {
        userErrors { code } } }""")
    assert refunded["refundOrder"]["userErrors"] == []
    refund_day = live_server.clock.now().astimezone(SHANGHAI).date().isoformat()
    figures = staff.data(REFUND_FIGURES, {"from": released_on, "to": refund_day})["analytics"]
    assert (figures["earned"], figures["reversed"], figures["refundedOrderPoints"]) == (200 - 150, 0, 150)
    assert [(d["earned"], d["refundedOrderPoints"]) for d in figures["days"]] == [(200, 0), (-150, 150)]
    assert figures["days"][1]["byReason"] == [{"reason": "REVERSAL", "credited": 0, "debited": 150}]


def test_liability_and_tiers_are_kept_a_minute_and_taken_again_on_refresh(live_server):
    staff = live_server.staff()
    funded(live_server, "kept-1", 100)
    query = """query($refresh: Boolean!) { liability(refresh: $refresh) { outstandingPoints asOf }
        tierDistribution(refresh: $refresh) { members asOf } }"""
    first = staff.data(query, {"refresh": False})
    assert first["liability"]["outstandingPoints"] == 100 and first["tierDistribution"][0]["members"] == 1
    funded(live_server, "kept-2", 50)
    live_server.clock.advance(timedelta(seconds=59))
    kept = staff.data(query, {"refresh": False})
    assert kept == first  # the same sums, saying when they were taken
    fresh = staff.data(query, {"refresh": True})
    assert fresh["liability"]["outstandingPoints"] == 150 and fresh["tierDistribution"][0]["members"] == 2
    assert fresh["liability"]["asOf"] > first["liability"]["asOf"]
    live_server.clock.advance(timedelta(minutes=1))
    funded(live_server, "kept-3", 1)
    assert staff.data(query, {"refresh": False})["liability"]["outstandingPoints"] == 151  # a minute on: taken again
