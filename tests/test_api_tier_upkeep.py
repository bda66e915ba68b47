"""Growth follows money and tiers are kept, not owned: refunds take growth back, upkeep (保级) judges
each tier at its date, on both databases through GraphQL."""
import asyncio
from datetime import datetime, timedelta

from tests.conftest import with_services
from tests.test_api_ledger import member_gid
from tests.test_api_orders import record, refund, sweep
from tests.test_api_webhooks import NOTIFICATIONS

STATUS = """{ me { growth tier { code keepThreshold keepUntil growthThisPeriod growthToKeep }
  tierChanges { fromLevel toLevel growth }
  growthChanges(first: 10) { edges { node { delta growthAfter reason memo } } } } }"""
UPKEEP = """mutation($months: Int!, $atOnce: Boolean!) {
  updateTierUpkeep(input: {periodMonths: $months, refundsLowerTierAtOnce: $atOnce}) {
    upkeep { periodMonths refundsLowerTierAtOnce } userErrors { field code } } }"""
WEEK = timedelta(days=7)


def bought(live_server, member_id, order_id, yuan):
    """An order of `yuan` released after its return window: as many growth points at V1 (x1.0)."""
    live_server.member(member_id).data("{ me { id } }")
    assert record(live_server.staff(), member_gid(member_id), order_id, yuan * 100)["userErrors"] == []


def release(live_server):
    live_server.clock.advance(WEEK)
    asyncio.run(sweep(live_server))


def status(member):
    return member.data(STATUS)["me"]


def growth_changes(me):
    return [(e["node"]["delta"], e["node"]["growthAfter"], e["node"]["reason"]) for e in me["growthChanges"]["edges"]]


def reconciled(live_server):
    return asyncio.run(with_services(live_server, lambda s: s.reconciliation.run())).ok


def test_a_refund_takes_back_the_growth_its_order_gave_and_the_tier_waits_for_its_upkeep_date(live_server):
    member = live_server.member("climber")
    bought(live_server, "climber", "BIG-1", 5000)
    release(live_server)
    reached = status(member)
    assert reached["growth"] == 5000 and reached["tier"]["code"] == "V4"
    year_on = live_server.clock.now() + timedelta(days=365)
    assert reached["tier"]["keepUntil"].startswith(year_on.date().isoformat())
    assert (reached["tier"]["growthThisPeriod"], reached["tier"]["growthToKeep"]) == (0, 2500)

    assert refund(live_server.staff(), "BIG-1", 500000, "refund-all")["userErrors"] == []
    after = status(member)
    assert after["growth"] == 0 and after["tier"]["code"] == "V4"  # the default: judged at the upkeep date
    assert (after["tier"]["growthThisPeriod"], after["tier"]["growthToKeep"]) == (-5000, 7500)
    assert growth_changes(after) == [(-5000, 0, "REFUND")]
    assert after["growthChanges"]["edges"][0]["node"]["memo"] == "退款 · 订单 BIG-1"
    assert reconciled(live_server)

    live_server.clock.set(live_server.clock.now() + timedelta(days=366))
    asyncio.run(sweep(live_server))
    judged = status(member)
    assert judged["tier"]["code"] == "V1" and judged["tier"]["keepUntil"] is None
    assert judged["tierChanges"][-1] == {"fromLevel": 4, "toLevel": 1, "growth": 0}
    kinds = [e["node"]["kind"] for e in member.data(NOTIFICATIONS)["me"]["notifications"]["edges"]]
    assert kinds.count("TIER_CHANGED") == 2  # up to V4, down to V1
    assert reconciled(live_server)


def test_a_partial_refund_takes_back_its_share_of_growth(live_server):
    member = live_server.member("partial")
    bought(live_server, "partial", "P-1", 1000)
    release(live_server)
    assert refund(live_server.staff(), "P-1", 25000, "quarter")["userErrors"] == []  # a quarter of it
    me = status(member)
    assert me["growth"] == 750 and growth_changes(me) == [(-250, 750, "REFUND")]
    assert me["tier"]["code"] == "V2"


def test_refunding_before_release_gave_no_growth_and_takes_none(live_server):
    member = live_server.member("early")
    bought(live_server, "early", "E-1", 800)
    assert refund(live_server.staff(), "E-1", 80000, "early-refund")["userErrors"] == []
    release(live_server)
    me = status(member)
    assert me["growth"] == 0 and me["tier"]["code"] == "V1" and growth_changes(me) == []


def test_a_brand_may_let_refunds_lower_the_tier_at_once(live_server):
    staff = live_server.staff()
    rule = staff.data(UPKEEP, {"months": 12, "atOnce": True})["updateTierUpkeep"]
    assert rule == {"upkeep": {"periodMonths": 12, "refundsLowerTierAtOnce": True}, "userErrors": []}
    member = live_server.member("at-once")
    bought(live_server, "at-once", "AO-1", 2500)
    release(live_server)
    assert status(member)["tier"]["code"] == "V3"
    assert refund(staff, "AO-1", 125000, "half")["userErrors"] == []  # growth 1250: V2
    me = status(member)
    assert me["growth"] == 1250 and me["tier"]["code"] == "V2"
    assert me["tierChanges"][-1] == {"fromLevel": 3, "toLevel": 2, "growth": 1250}
    assert me["tier"]["keepUntil"] is not None and me["tier"]["growthThisPeriod"] == 0
    assert reconciled(live_server)


def test_upkeep_keeps_a_tier_earned_again_and_lowers_one_that_was_not(live_server):
    keeper, lapser = live_server.member("keeper"), live_server.member("lapser")
    bought(live_server, "keeper", "K-1", 2000)
    bought(live_server, "lapser", "L-1", 2400)
    release(live_server)
    first_date = status(keeper)["tier"]["keepUntil"]
    assert status(lapser)["tier"]["keepUntil"] == first_date
    live_server.clock.advance(timedelta(days=100))
    bought(live_server, "keeper", "K-2", 1000)  # V3 keeps with 1000 growth a year
    release(live_server)
    assert status(keeper)["tier"]["growthToKeep"] == 0

    live_server.clock.set(datetime.fromisoformat(first_date) - timedelta(seconds=1))
    asyncio.run(sweep(live_server))
    assert status(lapser)["tier"]["code"] == "V3"  # a second before the date: not judged yet
    live_server.clock.advance(timedelta(seconds=1))
    report = asyncio.run(sweep(live_server))
    assert report.tiers_lowered == 1
    kept, lapsed = status(keeper), status(lapser)
    assert kept["tier"]["code"] == "V3" and kept["tier"]["growthThisPeriod"] == 0
    assert kept["tier"]["keepUntil"][:4] == str(int(first_date[:4]) + 1)  # the next period starts at the date
    # 2400 growth earned nothing in the period: V1, and growth above V1's range is let go (V2 starts at 500).
    assert lapsed["tier"]["code"] == "V1" and lapsed["growth"] == 499
    assert growth_changes(lapsed) == [(-1901, 499, "TIER_UPKEEP")]
    assert asyncio.run(sweep(live_server)).tiers_lowered == 0  # once per period
    assert status(lapser)["tierChanges"][-1]["toLevel"] == 1 and reconciled(live_server)


def test_a_period_growth_that_meets_a_lower_keep_threshold_keeps_that_tier(live_server):
    member = live_server.member("slider")
    bought(live_server, "slider", "S-1", 5000)
    release(live_server)
    bought(live_server, "slider", "S-2", 1200)  # V4 keeps with 2500, V3 with 1000
    release(live_server)
    live_server.clock.set(live_server.clock.now() + timedelta(days=366))
    asyncio.run(sweep(live_server))
    me = status(member)
    assert me["tier"]["code"] == "V3" and me["growth"] == 4999  # V4 starts at 5000
    assert me["tierChanges"][-1] == {"fromLevel": 4, "toLevel": 3, "growth": 4999}


def test_a_refund_after_the_upkeep_date_counts_against_the_next_period(live_server):
    member = live_server.member("gamer")
    bought(live_server, "gamer", "G-1", 600)  # V2
    release(live_server)
    live_server.clock.advance(timedelta(days=300))
    bought(live_server, "gamer", "G-2", 300)  # 330 growth at V2 (x1.1), bought to keep V2 (keeps with 250) ...
    release(live_server)
    live_server.clock.set(live_server.clock.now() + timedelta(days=60))
    asyncio.run(sweep(live_server))
    assert status(member)["tier"]["code"] == "V2"  # ... and kept at the date
    assert refund(live_server.staff(), "G-2", 30000, "after-upkeep")["userErrors"] == []  # ... then refunded
    me = status(member)
    assert me["tier"]["code"] == "V2" and me["tier"]["growthThisPeriod"] == -330
    assert me["tier"]["growthToKeep"] == 580
    live_server.clock.set(live_server.clock.now() + timedelta(days=366))
    asyncio.run(sweep(live_server))
    assert status(member)["tier"]["code"] == "V1" and reconciled(live_server)


def test_upkeep_and_keep_thresholds_are_staff_rules(live_server):
    staff, member = live_server.staff(), live_server.member("rules")
    assert member.execute(UPKEEP, {"months": 0, "atOnce": False})["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    bad = staff.data(UPKEEP, {"months": 61, "atOnce": False})["updateTierUpkeep"]
    assert bad == {"upkeep": None, "userErrors": [{"field": ["periodMonths"], "code": "INVALID_INPUT"}]}
    too_high = staff.data("""mutation { updateTier(input: {level: 2, name: "常客", growthThreshold: 500,
        earnMultiplier: 1.1, keepThreshold: 600}) { userErrors { field code } } }""")["updateTier"]
    assert too_high["userErrors"] == [{"field": ["keepThreshold"], "code": "INVALID_INPUT"}]
    changed = staff.data("""mutation { updateTier(input: {level: 2, name: "常客", growthThreshold: 500,
        earnMultiplier: 1.1, keepThreshold: 100}) { tiers { code keepThreshold } userErrors { code } } }""")
    assert changed["updateTier"]["tiers"][1] == {"code": "V2", "keepThreshold": 100}
    renamed = staff.data("""mutation { updateTier(input: {level: 2, name: "银卡", growthThreshold: 400,
        earnMultiplier: 1.1}) { tiers { code keepThreshold } } }""")  # a keep threshold left out stays
    assert renamed["updateTier"]["tiers"][1] == {"code": "V2", "keepThreshold": 100}

    bought(live_server, "rules", "R-1", 500)
    release(live_server)
    assert status(member)["tier"]["keepUntil"] is not None
    assert staff.data(UPKEEP, {"months": 0, "atOnce": False})["updateTierUpkeep"]["userErrors"] == []
    off = status(member)["tier"]
    assert off["code"] == "V2" and off["keepUntil"] is None and off["growthToKeep"] is None
    live_server.clock.advance(timedelta(days=800))
    asyncio.run(sweep(live_server))
    assert status(member)["tier"]["code"] == "V2"  # upkeep off: no tier lapses
    assert staff.data(UPKEEP, {"months": 6, "atOnce": False})["updateTierUpkeep"]["userErrors"] == []
    on = status(member)["tier"]
    assert on["keepUntil"].startswith((live_server.clock.now() + timedelta(days=183)).date().isoformat()[:7])
    rule = live_server.anonymous().data("{ tierUpkeep { periodMonths refundsLowerTierAtOnce } }")
    assert rule == {"tierUpkeep": {"periodMonths": 6, "refundsLowerTierAtOnce": False}}
    actions = staff.data('{ auditLog(first: 10) { edges { node { action } } } }')["auditLog"]["edges"]
    assert [e["node"]["action"] for e in actions].count("settings.tiers.update") == 4


def test_a_tier_threshold_raised_lowers_no_one_before_their_upkeep_date(live_server):
    member = live_server.member("grandfathered")
    bought(live_server, "grandfathered", "GF-1", 600)
    release(live_server)
    staff = live_server.staff()
    assert staff.data("""mutation { updateTier(input: {level: 2, name: "常客", growthThreshold: 800,
        earnMultiplier: 1.1}) { userErrors { code } } }""")["updateTier"]["userErrors"] == []
    assert status(member)["tier"]["code"] == "V2"
    assert staff.data("""mutation { updateTier(input: {level: 2, name: "常客", growthThreshold: 300,
        earnMultiplier: 1.1}) { userErrors { code } } }""")["updateTier"]["userErrors"] == []
    other = live_server.member("lowered-bar")
    bought(live_server, "lowered-bar", "LB-1", 400)
    release(live_server)
    assert status(other)["tier"]["code"] == "V2"


CAMPAIGN_PARTICIPATION = """query($from: Date!, $to: Date!) { analytics(from: $from, to: $to) {
  campaignParticipation { code times members bonusPoints } } }"""


def test_campaign_participation_leaves_out_refunded_bonus(live_server):
    from tests.test_api_orders import CAMPAIGN
    staff, now = live_server.staff(), live_server.clock.now()
    staff.data(CAMPAIGN, {"code": "double", "multiplier": 2.0, "starts": now.isoformat(),
                          "ends": (now + timedelta(days=1)).isoformat(), "reasons": ["ORDER"]})
    for member_id in ("full", "part", "kept"):
        bought(live_server, member_id, f"C-{member_id}", 100)  # 100 + 100 campaign points each
    assert refund(staff, "C-full", 10000, "c-full")["userErrors"] == []
    assert refund(staff, "C-part", 5000, "c-part")["userErrors"] == []
    release(live_server)
    day = now.date().isoformat()
    figures = staff.data(CAMPAIGN_PARTICIPATION, {"from": day, "to": day})["analytics"]["campaignParticipation"]
    assert figures == [{"code": "double", "times": 2, "members": 2, "bonusPoints": 150}]
