"""Member segments over real HTTP: crafted members land where the rule says; campaigns target them."""
from datetime import datetime, timedelta

from domain.segments import MemberActivity, Segment, SegmentRule, segments_of
from tests.conftest import services_of
from tests.documents import CHECK_IN
from tests.test_api_ledger import member_gid
from tests.test_api_mall import create, funded, redeem
from tests.test_api_orders import record

SUMMARY = "{ segments { refreshedAt counts { segment members } } }"
MEMBERS_IN = """query($segment: Segment!) { segmentMembers(segment: $segment, first: 20) {
  edges { node { memberId segments } } } }"""
REFRESH = "mutation { refreshSegments { summary { counts { segment members } } userErrors { code } } }"
RULE = """mutation($input: SegmentRuleInput!) { updateSegmentRule(input: $input) { rule { expiringWithinDays
  loyalMinTier } userErrors { field code } } }"""
CAMPAIGN = """mutation($starts: DateTime!, $ends: DateTime!) {
  createCampaign(input: {code: "wake-up", name: "唤醒双倍签到", multiplier: 2.0, startsAt: $starts, endsAt: $ends,
                         reasons: [CHECK_IN], segments: [DORMANT]}) { campaign { segments } userErrors { code } } }"""


def members_in(staff, segment):
    edges = staff.data(MEMBERS_IN, {"segment": segment})["segmentMembers"]["edges"]
    return sorted(e["node"]["memberId"] for e in edges)


def crafted_members(live_server):
    """Five members with known histories: the first four joined 40 days before the refresh."""
    staff = live_server.staff()
    cheap, dear = create(staff, "小样", 100, 50), create(staff, "保温杯", 500, 50)
    sleepy = funded(live_server, "sleepy", 300)  # a staff adjustment is not their own activity
    busy = funded(live_server, "busy", 300)
    bargain = funded(live_server, "bargain", 1000)
    regular = funded(live_server, "regular", 1000)
    for n in range(3):
        record(staff, "regular", f"regular-{n}", 5000)
    record(staff, "bargain", "bargain-1", 5000)
    redeem(bargain, cheap, "c1", quantity=2)
    redeem(regular, dear, "d1")
    live_server.clock.advance(timedelta(days=39))
    busy.data(CHECK_IN, {"key": "day-39"})
    live_server.clock.advance(timedelta(days=1))
    live_server.member("newbie").data("{ me { id } }")
    return staff, sleepy, busy


def test_crafted_members_land_in_their_segments(live_server):
    staff, *_ = crafted_members(live_server)
    assert staff.data(RULE, {"input": {"expiringWithinDays": 400, "loyalMinTier": 1}})["updateSegmentRule"] == {
        "rule": {"expiringWithinDays": 400, "loyalMinTier": 1}, "userErrors": []}
    assert staff.data(SUMMARY)["segments"]["refreshedAt"] is None
    counts = staff.data(REFRESH)["refreshSegments"]["summary"]["counts"]
    assert counts == [{"segment": "NEW", "members": 1}, {"segment": "DORMANT", "members": 3},
                      {"segment": "PRICE_SENSITIVE", "members": 1}, {"segment": "LOYAL", "members": 1}]
    assert members_in(staff, "NEW") == ["newbie"]
    # bargain and regular last did something 40 days ago too, and hold points that expire within 400 days
    assert members_in(staff, "DORMANT") == ["bargain", "regular", "sleepy"]
    assert members_in(staff, "PRICE_SENSITIVE") == ["bargain"]
    assert members_in(staff, "LOYAL") == ["regular"]
    regular = staff.data("query($id: ID!) { member(id: $id) { segments } }", {"id": member_gid("regular")})
    assert regular == {"member": {"segments": ["DORMANT", "LOYAL"]}}
    assert staff.data(SUMMARY)["segments"]["refreshedAt"] is not None


def test_a_refresh_follows_what_members_do_and_keeps_the_rule(live_server):
    staff, sleepy, _ = crafted_members(live_server)
    staff.data(RULE, {"input": {"expiringWithinDays": 400}})
    staff.data(REFRESH)
    assert members_in(staff, "LOYAL") == []  # regular is V1; loyalty needs V3 by default
    assert "sleepy" in members_in(staff, "DORMANT")
    sleepy.data(CHECK_IN, {"key": "awake"})
    live_server.clock.advance(timedelta(days=10))
    staff.data(REFRESH)
    assert "sleepy" not in members_in(staff, "DORMANT")
    assert members_in(staff, "NEW") == ["newbie"]
    live_server.clock.advance(timedelta(days=21))  # 31 days since sleepy's check-in, newbie's joining
    staff.data(REFRESH)
    assert "sleepy" in members_in(staff, "DORMANT")
    assert members_in(staff, "NEW") == []
    bad = staff.data(RULE, {"input": {"dormantDays": 0}})["updateSegmentRule"]
    assert bad == {"rule": None, "userErrors": [{"field": ["dormantDays"], "code": "INVALID_INPUT"}]}
    kept = staff.data(RULE, {"input": {"loyalMinTier": 2}})["updateSegmentRule"]["rule"]
    assert kept == {"expiringWithinDays": 400, "loyalMinTier": 2}  # a field left out keeps its value


def test_a_campaign_targets_a_segment(live_server):
    staff, sleepy, busy = crafted_members(live_server)
    staff.data(RULE, {"input": {"expiringWithinDays": 400}})
    staff.data(REFRESH)
    now = live_server.clock.now()
    made = staff.data(CAMPAIGN, {"starts": now.isoformat(), "ends": (now + timedelta(days=3)).isoformat()})
    assert made["createCampaign"] == {"campaign": {"segments": ["DORMANT"]}, "userErrors": []}
    woken = sleepy.data(CHECK_IN, {"key": "wake"})["checkIn"]["entries"]
    assert [(e["reason"], e["delta"]) for e in woken] == [("CHECK_IN", 10), ("CAMPAIGN_BONUS", 10)]
    again = busy.data(CHECK_IN, {"key": "busy-again"})["checkIn"]["entries"]
    assert [e["reason"] for e in again] == ["CHECK_IN"]  # busy is not dormant: no bonus


def test_segments_are_for_staff_only(live_server):
    member = live_server.member("curious")
    assert member.execute("{ me { segments } }")["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert member.execute(SUMMARY)["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert member.execute(REFRESH)["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_the_scheduler_refreshes_once_a_day(live_server):
    async with services_of(live_server) as services:
        assert await services.segments.refresh_if_due() is not None
        assert await services.segments.refresh_if_due() is None
        live_server.clock.advance(timedelta(days=1))
        assert await services.segments.refresh_if_due() is not None


def test_loyalty_needs_the_tier_and_the_orders():
    now = datetime(2026, 6, 1).astimezone()
    joined = now - timedelta(days=100)
    rule = SegmentRule()
    assert segments_of(MemberActivity(1, joined, 3, now, orders=3), rule, now) == {Segment.LOYAL}
    assert segments_of(MemberActivity(1, joined, 2, now, orders=9), rule, now) == set()
    assert segments_of(MemberActivity(1, joined, 6, now, orders=2), rule, now) == set()
    never_active = MemberActivity(1, joined, 1, None, expiring_points=5)
    assert segments_of(never_active, rule, now) == {Segment.DORMANT}
    assert segments_of(MemberActivity(1, joined, 1, None, expiring_points=0), rule, now) == set()
    mostly_cheap = MemberActivity(1, joined, 1, now, spent_points=1000, cheap_points=600)
    assert segments_of(mostly_cheap, rule, now) == {Segment.PRICE_SENSITIVE}
    assert segments_of(MemberActivity(1, joined, 1, now, spent_points=1000, cheap_points=599), rule, now) == set()
    assert segments_of(MemberActivity(1, now - timedelta(days=29), 1, now), rule, now) == {Segment.NEW}


def test_orders_refunded_in_full_make_no_one_loyal(live_server):
    staff = live_server.staff()
    live_server.member("returner").data("{ me { id } }")
    for n in range(3):
        record(staff, "returner", f"returner-{n}", 5000)
    refund = """mutation($id: String!) { refundOrder(input: {orderId: $id, amountFen: 5000, idempotencyKey: $id}) {
        userErrors { code } } }"""
    assert staff.data(refund, {"id": "returner-2"})["refundOrder"]["userErrors"] == []
    staff.data(RULE, {"input": {"loyalMinTier": 1}})
    staff.data(REFRESH)
    assert members_in(staff, "LOYAL") == []  # two orders kept, three needed
