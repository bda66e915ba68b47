"""Friend assists (助力): thresholds pay the owner once, each friend helps once, never the owner."""
import asyncio
from datetime import timedelta

import httpx

START = """mutation($title: String) { startAssistCampaign(input: {title: $title}) {
  campaign { id title helpers target running thresholds { helpers points } } userErrors { code } } }"""
ASSIST = """mutation($id: ID!, $key: String!) { assist(input: {campaignId: $id, idempotencyKey: $key}) {
  campaign { helpers pointsPaid } userErrors { field code } } }"""


def start(owner, title=None):
    return owner.data(START, {"title": title})["startAssistCampaign"]


def help_(friend, campaign_id, key="help"):
    return friend.data(ASSIST, {"id": campaign_id, "key": key})["assist"]


def test_thresholds_pay_the_owner_and_refusals_are_typed(live_server):
    owner = live_server.member("assist-owner")
    started = start(owner, "帮我领积分")
    campaign = started["campaign"]
    assert (campaign["title"], campaign["helpers"], campaign["target"], campaign["running"]) == (
        "帮我领积分", 0, 10, True)
    assert start(owner)["userErrors"] == [{"code": "ASSIST_RUNNING"}]
    assert help_(owner, campaign["id"])["userErrors"][0]["code"] == "SELF_ASSIST"
    friends = [live_server.member(f"helper-{i}") for i in range(10)]
    paid = []
    for friend in friends:
        assert help_(friend, campaign["id"])["campaign"]["pointsPaid"] is None  # the owner's earnings are theirs
        paid.append(owner.data("{ me { assistCampaigns { pointsPaid } } }")["me"]["assistCampaigns"][0]["pointsPaid"])
    assert paid == [0, 0, 0, 0, 50, 50, 50, 50, 50, 170]
    assert help_(friends[0], campaign["id"], "again")["userErrors"][0]["code"] == "ALREADY_ASSISTED"
    assert help_(friends[0], campaign["id"])["campaign"]["helpers"] == 10  # the same key replays
    entries = owner.data("{ me { points { available } ledger(first: 5) { edges { node { reason delta } } } } }")["me"]
    assert entries["points"]["available"] == 170
    assert [e["node"]["delta"] for e in entries["ledger"]["edges"]] == [120, 50]
    live_server.clock.advance(timedelta(hours=48))
    late = help_(live_server.member("too-late"), campaign["id"])
    assert late["userErrors"][0]["code"] == "ASSIST_ENDED"
    assert start(owner)["userErrors"] == []  # the old one ended: a new one may start
    unknown = help_(friends[1], "QXNzaXN0Q2FtcGFpZ246OTk5")  # AssistCampaign:999
    assert unknown["userErrors"][0]["code"] == "NOT_FOUND"


async def test_concurrent_helpers_reach_each_threshold_once(live_server):
    owner = live_server.member("busy-owner")
    campaign_id = start(owner)["campaign"]["id"]
    friends = [live_server.member(f"rush-{i}") for i in range(12)]
    async with httpx.AsyncClient() as http:
        await asyncio.gather(*(f.execute_async(http, ASSIST, {"id": campaign_id, "key": "k"}) for f in friends))
    me = owner.data("{ me { points { available } assistCampaigns { helpers pointsPaid } } }")["me"]
    assert me["points"]["available"] == 170
    assert me["assistCampaigns"][0] == {"helpers": 12, "pointsPaid": 170}


def test_one_help_per_device_and_a_daily_cap_per_helper(live_server):
    owner = live_server.member("farm-owner", device="owner-phone")
    campaign = start(owner)["campaign"]["id"]
    own_device = help_(live_server.member("owner-alt", device="owner-phone"), campaign)
    assert own_device["userErrors"] == [{"field": ["campaignId"], "code": "DEVICE_ALREADY_COUNTED"}]
    assert help_(live_server.member("pal-a", device="pad-1"), campaign)["userErrors"] == []
    same_pad = help_(live_server.member("pal-b", device="pad-1"), campaign)
    assert same_pad["userErrors"] == [{"field": ["campaignId"], "code": "DEVICE_ALREADY_COUNTED"}]
    phone = "f" * 40
    assert help_(live_server.member("pal-c", device="pad-2", phone=phone), campaign)["userErrors"] == []
    assert help_(live_server.member("pal-d", device="pad-3", phone=phone), campaign)["userErrors"][0]["code"] == \
        "DEVICE_ALREADY_COUNTED"
    assert owner.data("{ me { assistCampaigns { helpers } } }")["me"]["assistCampaigns"][0]["helpers"] == 2

    busy = live_server.member("busy-helper")
    campaigns = [start(live_server.member(f"cap-owner-{i}"))["campaign"]["id"] for i in range(6)]
    answers = [help_(busy, c, f"cap-{i}")["userErrors"] for i, c in enumerate(campaigns)]
    assert answers == [[]] * 5 + [[{"field": ["campaignId"], "code": "DAILY_LIMIT_REACHED"}]]
    live_server.clock.advance(timedelta(days=1))
    assert help_(busy, campaigns[5], "next-day")["userErrors"] == []


def test_the_assist_controls_are_staff_rules(live_server):
    staff = live_server.staff()
    rule = staff.data("""mutation { updateAssistRule(input: {thresholds: [{helpers: 2, points: 10}], durationHours: 24,
        oneHelpPerDevice: false, helperDailyCap: 0}) { rule { oneHelpPerDevice helperDailyCap } userErrors { code } } }""")
    assert rule["updateAssistRule"] == {"rule": {"oneHelpPerDevice": False, "helperDailyCap": 0}, "userErrors": []}
    owner = live_server.member("lenient-owner", device="shared")
    campaign = start(owner)["campaign"]["id"]
    assert help_(live_server.member("same-device", device="shared"), campaign)["userErrors"] == []
    bad = staff.data("""mutation { updateAssistRule(input: {thresholds: [{helpers: 2, points: 10}], durationHours: 24,
        helperDailyCap: 101}) { rule { helperDailyCap } userErrors { field code } } }""")["updateAssistRule"]
    assert bad == {"rule": None, "userErrors": [{"field": ["helperDailyCap"], "code": "INVALID_INPUT"}]}
    below = staff.data("""mutation { updateAssistRule(input: {thresholds: [{helpers: 2, points: 10}], durationHours: 24,
        maxHelpers: 1}) { rule { maxHelpers } userErrors { field code } } }""")["updateAssistRule"]
    assert below == {"rule": None, "userErrors": [{"field": ["maxHelpers"], "code": "INVALID_INPUT"}]}


def test_a_campaign_takes_at_most_max_helpers(live_server):
    capped = live_server.staff().data("""mutation { updateAssistRule(input: {thresholds: [{helpers: 2, points: 10}],
        durationHours: 24, maxHelpers: 3}) { rule { maxHelpers } userErrors { code } } }""")["updateAssistRule"]
    assert capped == {"rule": {"maxHelpers": 3}, "userErrors": []}
    campaign = start(live_server.member("full-owner"))["campaign"]["id"]
    answers = [help_(live_server.member(f"full-{i}"), campaign)["userErrors"] for i in range(4)]
    assert answers == [[], [], [], [{"field": ["campaignId"], "code": "ASSIST_FULL"}]]
