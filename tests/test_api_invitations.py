"""Invitations on both databases through GraphQL: what each side earns and when, and the brand's
controls against farming them (friends who must become real, caps, one reward per device, rewards
held for staff review)."""
import asyncio
from datetime import timedelta

import httpx

from tests.conftest import with_services
from tests.documents import CHECK_IN
from tests.test_api_ledger import member_gid
from tests.test_api_orders import record

ACCEPT = """
mutation($code: String!, $key: String!) {
  acceptInvitation(input: {invitationCode: $code, idempotencyKey: $key}) {
    entry { reason delta memo } member { points { available } }
    invitation { inviterReward inviteePaid note } userErrors { field code }
  }
}
"""
RULE = """mutation($when: RewardWhen!, $daily: Int!, $lifetime: Int!, $velocity: Int!, $device: Boolean!,
                   $hold: Boolean!, $firstOrder: Int!) {
  updateInvitationRule(input: {inviteePoints: 20, newMemberDays: 7, inviterTiers: [{fromFriend: 1, points: 10},
    {fromFriend: 4, points: 15}, {fromFriend: 6, points: 20}], inviterRewardWhen: $when, inviterDailyCap: $daily,
    inviterLifetimeCap: $lifetime, velocityPerHour: $velocity, oneRewardPerDevice: $device,
    holdSharedDevices: $hold, firstOrderPoints: $firstOrder}) { rule { inviterRewardWhen } userErrors { field code } } }"""
INVITATIONS = "{ me { points { available } invitations(first: 20) { friendNickname inviterReward inviterPoints note } } }"
REVIEWS = """query($status: ReviewStatus) { riskReviews(first: 50, status: $status) {
  edges { node { id kind reason status resolvedBy member { memberId } friend { memberId } } } } }"""
RESOLVE = """mutation($id: ID!, $key: String!) { %s(input: {reviewId: $id, idempotencyKey: $key}) {
  review { status resolvedBy } userErrors { field code } } }"""


def code_of(client):
    return client.data("{ me { invitationCode } }")["me"]["invitationCode"]


def accept(client, code, key="accept"):
    return client.data(ACCEPT, {"code": code, "key": key})["acceptInvitation"]


def set_rule(live_server, when="QUALIFIED", daily=0, lifetime=0, velocity=0, device=False, hold=False, first_order=0):
    changed = live_server.staff().data(RULE, {"when": when, "daily": daily, "lifetime": lifetime, "velocity": velocity,
                                              "device": device, "hold": hold, "firstOrder": first_order})
    assert changed["updateInvitationRule"] == {"rule": {"inviterRewardWhen": when}, "userErrors": []}


def pay_at_once(live_server):
    """The rule before farming controls: both sides paid as the friend accepts, no caps, no checks."""
    set_rule(live_server, "AT_ONCE")


def points(client):
    return client.data("{ me { points { available } } }")["me"]["points"]["available"]


def invitations_of(client):
    return client.data(INVITATIONS)["me"]["invitations"]


def settle(live_server):
    return asyncio.run(with_services(live_server, lambda s: s.invitations.settle_rewards()))


def test_both_sides_are_rewarded_once(live_server):
    pay_at_once(live_server)
    inviter, friend = live_server.member("inviter"), live_server.member("friend")
    code = code_of(inviter)
    assert len(code) == 8
    accepted = accept(friend, code.lower())  # codes are case-insensitive
    assert accepted["userErrors"] == [] and accepted["entry"]["reason"] == "INVITE"
    assert accepted["member"]["points"]["available"] == 20
    assert accepted["invitation"] == {"inviterReward": "PAID", "inviteePaid": True, "note": None}
    inviter_view = inviter.data("{ me { invitedFriends points { available } } }")["me"]
    assert inviter_view == {"invitedFriends": 1, "points": {"available": 10}}
    assert accept(friend, code, "again")["userErrors"] == [{"field": ["invitationCode"], "code": "ALREADY_INVITED"}]
    assert accept(friend, code)["entry"] == accepted["entry"]  # the same key replays


def test_self_cycles_old_members_and_unknown_codes_are_refused(live_server):
    a, b, c = live_server.member("cyc-a"), live_server.member("cyc-b"), live_server.member("cyc-c")
    assert accept(a, code_of(a))["userErrors"][0]["code"] == "SELF_INVITATION"
    assert accept(b, code_of(a))["userErrors"] == []  # a invited b
    assert accept(c, code_of(b))["userErrors"] == []  # b invited c
    assert accept(a, code_of(c))["userErrors"][0]["code"] == "INVITATION_CYCLE"
    assert accept(a, "ZZZZZZZZ")["userErrors"][0]["code"] == "NOT_FOUND"
    assert accept(a, "bad!")["userErrors"][0]["code"] == "NOT_FOUND"
    late = live_server.member("late-comer")
    late.data("{ me { id } }")
    live_server.clock.advance(timedelta(days=8))
    assert accept(late, code_of(a))["userErrors"][0]["code"] == "NOT_A_NEW_MEMBER"


async def test_concurrent_friends_get_the_inviter_tiered_rewards_in_sequence(live_server):
    pay_at_once(live_server)
    inviter = live_server.member("popular")
    code = code_of(inviter)
    friends = [live_server.member(f"pal-{i}") for i in range(8)]
    async with httpx.AsyncClient() as http:
        replies = await asyncio.gather(*(f.execute_async(http, ACCEPT, {"code": code, "key": "k"}) for f in friends))
    assert all(r["data"]["acceptInvitation"]["userErrors"] == [] for r in replies)
    deltas = [e["node"]["delta"] for e in inviter.data("{ me { ledger(first: 10) { edges { node { delta } } } } }")[
        "me"]["ledger"]["edges"]]
    assert sorted(deltas) == [10, 10, 10, 15, 15, 20, 20, 20]


def test_the_rule_is_staff_s_and_checked(live_server):
    staff = live_server.staff()
    assert live_server.anonymous().data("{ invitationRule { inviterRewardWhen qualifyCheckIns qualifyDays "
                                        "velocityPerHour oneRewardPerDevice } }")["invitationRule"] == {
        "inviterRewardWhen": "QUALIFIED", "qualifyCheckIns": 3, "qualifyDays": 14, "velocityPerHour": 5,
        "oneRewardPerDevice": True}  # a new brand starts protected
    bad = staff.data("""mutation { updateInvitationRule(input: {inviteePoints: 5, newMemberDays: 3,
        inviterTiers: [{fromFriend: 2, points: 7}]}) { rule { inviteePoints } userErrors { field } } }""")
    assert bad["updateInvitationRule"] == {"rule": None, "userErrors": [{"field": ["inviterTiers"]}]}
    zero = staff.data("""mutation { updateInvitationRule(input: {inviteePoints: 5, newMemberDays: 3, qualifyDays: 0,
        inviterTiers: [{fromFriend: 1, points: 7}]}) { rule { inviteePoints } userErrors { field } } }""")
    assert zero["updateInvitationRule"] == {"rule": None, "userErrors": [{"field": ["qualifyDays"]}]}
    forbidden = live_server.member("m").execute(RULE, {"when": "AT_ONCE", "daily": 0, "lifetime": 0, "velocity": 0,
                                                       "device": False, "hold": False, "firstOrder": 0})
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_the_inviter_is_paid_when_the_friend_becomes_real(live_server):
    inviter = live_server.member("real-inviter")
    code = code_of(inviter)
    checker, buyer, ghost = (live_server.member(f"friend-{n}", nickname=n) for n in ("checker", "buyer", "ghost"))
    for friend in (checker, buyer, ghost):
        accepted = accept(friend, code)
        assert accepted["entry"]["delta"] == 20 and accepted["invitation"]["inviterReward"] == "PENDING"
    assert points(inviter) == 0 and {i["inviterReward"] for i in invitations_of(inviter)} == {"PENDING"}
    assert "签到 3 次" in invitations_of(inviter)[0]["note"]
    assert record(live_server.staff(), member_gid("friend-buyer"), "FIRST-1", 5000)["userErrors"] == []
    for day in range(3):
        assert checker.data(CHECK_IN, {"key": f"day-{day}"})["checkIn"]["userErrors"] == []
        if day < 2:
            assert settle(live_server) == (1 if day == 0 else 0)  # the buyer qualified at once; the checker not yet
        live_server.clock.advance(timedelta(days=1))
    assert settle(live_server) == 1
    assert settle(live_server) == 0  # each reward once
    assert points(inviter) == 10 + 10
    live_server.clock.advance(timedelta(days=12))
    settle(live_server)
    by_friend = {i["friendNickname"]: i["inviterReward"] for i in invitations_of(inviter)}
    assert by_friend == {"checker": "PAID", "buyer": "PAID", "ghost": "LAPSED"}
    assert asyncio.run(with_services(live_server, lambda s: s.reconciliation.run())).ok


def test_a_first_order_pays_the_inviter_more_once_it_is_released(live_server):
    set_rule(live_server, "AT_ONCE", first_order=30)
    inviter, friend = live_server.member("fo-inviter"), live_server.member("fo-friend")
    accept(friend, code_of(inviter))
    record(live_server.staff(), member_gid("fo-friend"), "FO-1", 5000)
    assert settle(live_server) == 0  # placed, not released
    live_server.clock.advance(timedelta(days=7))
    assert asyncio.run(with_services(live_server, lambda s: s.expiry.run())).orders_released == 1
    assert settle(live_server) == 1 and settle(live_server) == 0
    assert points(inviter) == 10 + 30


def test_caps_stop_paying_the_inviter_but_not_the_friend(live_server):
    set_rule(live_server, "AT_ONCE", daily=2, lifetime=3)
    inviter = live_server.member("capped")
    code = code_of(inviter)
    answers = [accept(live_server.member(f"cap-{i}"), code) for i in range(3)]
    assert [a["invitation"]["inviterReward"] for a in answers] == ["PAID", "PAID", "NOT_PAID"]
    assert all(a["entry"]["delta"] == 20 for a in answers) and "今日" in answers[2]["invitation"]["note"]
    live_server.clock.advance(timedelta(days=1))
    later = [accept(live_server.member(f"cap-next-{i}"), code) for i in range(2)]
    assert [a["invitation"]["inviterReward"] for a in later] == ["PAID", "NOT_PAID"]
    assert "上限 3" in later[1]["invitation"]["note"] and points(inviter) == 10 + 10 + 15  # the 4th pays 15


def test_a_device_or_phone_earns_one_invitation_reward(live_server):
    set_rule(live_server, "AT_ONCE", device=True)
    first, second = live_server.member("dev-inviter-1"), live_server.member("dev-inviter-2")
    phone = "a" * 64
    paid = accept(live_server.member("dev-friend-1", device="iphone-77", phone=phone), code_of(first))
    assert paid["invitation"]["inviterReward"] == "PAID"
    again = accept(live_server.member("dev-friend-2", device="iphone-77"), code_of(second))
    assert again["entry"] is None and again["invitation"] == {"inviterReward": "NOT_PAID", "inviteePaid": False,
                                                              "note": "该设备或手机号已领过邀请奖励"}
    by_phone = accept(live_server.member("dev-friend-3", device="android-1", phone=phone), code_of(second))
    assert by_phone["invitation"]["inviterReward"] == "NOT_PAID" and points(second) == 0
    fresh = accept(live_server.member("dev-friend-4", device="android-2"), code_of(second))
    assert fresh["invitation"]["inviterReward"] == "PAID" and points(second) == 10


def test_twenty_throwaway_accounts_on_one_device_earn_nothing_until_staff_approve(live_server):
    """The farm: one phone, twenty accounts, each inviting the next."""
    farm = [live_server.member(f"farm-{i}", device="cheap-phone-1") for i in range(20)]
    codes = [code_of(member) for member in farm]
    answers = [accept(farm[i + 1], codes[i], f"farm-{i}") for i in range(19)]
    assert all(a["userErrors"] == [{"field": ["invitationCode"], "code": "HELD_FOR_REVIEW"}] for a in answers)
    assert all(a["entry"] is None and a["invitation"]["inviterReward"] == "HELD" for a in answers)
    assert sum(points(member) for member in farm) == 0
    staff = live_server.staff()
    open_reviews = staff.data(REVIEWS, {"status": "OPEN"})["riskReviews"]["edges"]
    assert len(open_reviews) == 19 and {r["node"]["kind"] for r in open_reviews} == {"INVITATION"}
    assert "共用设备" in open_reviews[0]["node"]["reason"]
    review = next(r["node"] for r in open_reviews if r["node"]["friend"]["memberId"] == "farm-1")
    approved = staff.data(RESOLVE % "approveRiskReview", {"id": review["id"], "key": "approve-1"})
    assert approved["approveRiskReview"] == {"review": {"status": "APPROVED", "resolvedBy": "staff:alice-ops"},
                                             "userErrors": []}
    assert points(farm[1]) == 20 and points(farm[0]) == 0  # the friend now; the inviter once farm-1 is real
    assert invitations_of(farm[0])[0]["inviterReward"] == "PENDING"
    twice = staff.data(RESOLVE % "rejectRiskReview", {"id": review["id"], "key": "reject-approved"})
    assert twice["rejectRiskReview"]["userErrors"] == [{"field": ["reviewId"], "code": "INVALID_TRANSITION"}]
    other = next(r["node"] for r in open_reviews if r["node"]["friend"]["memberId"] == "farm-2")
    rejected = staff.data(RESOLVE % "rejectRiskReview", {"id": other["id"], "key": "reject-2"})["rejectRiskReview"]
    assert rejected["review"]["status"] == "REJECTED" and invitations_of(farm[1])[0]["inviterReward"] == "REJECTED"
    assert sum(points(member) for member in farm) == 20
    actions = staff.data('{ auditLog(first: 10) { edges { node { action } } } }')["auditLog"]["edges"]
    assert {"risk_review.approved", "risk_review.rejected"} <= {e["node"]["action"] for e in actions}
    member_view = farm[0].execute(REVIEWS, {"status": None})
    assert member_view["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_more_than_five_friends_an_hour_are_held(live_server):
    inviter = live_server.member("fast-inviter")
    code = code_of(inviter)
    answers = [accept(live_server.member(f"fast-{i}", device=f"phone-{i}"), code) for i in range(6)]
    assert [a["invitation"]["inviterReward"] for a in answers] == ["PENDING"] * 5 + ["HELD"]
    assert "一小时内" in answers[5]["invitation"]["note"]
    live_server.clock.advance(timedelta(hours=1))
    assert accept(live_server.member("fast-later", device="phone-9"), code)["invitation"]["inviterReward"] == "PENDING"


def test_the_brand_s_server_sets_device_and_phone_by_token_or_signed_call(live_server):
    staff = live_server.staff()
    for member_id in ("sig-inviter", "sig-friend"):
        live_server.member(member_id).data("{ me { id } }")
    mutation = """mutation($id: ID!, $device: String, $phone: String) { setMemberSignals(input: {memberId: $id,
        deviceId: $device, phoneHash: $phone}) { member { memberId } userErrors { field code } } }"""
    for member_id in ("sig-inviter", "sig-friend"):
        done = staff.data(mutation, {"id": member_gid(member_id), "device": "shared-pad"})["setMemberSignals"]
        assert done == {"member": {"memberId": member_id}, "userErrors": []}
    held = accept(live_server.member("sig-friend"), code_of(live_server.member("sig-inviter")))
    assert held["userErrors"][0]["code"] == "HELD_FOR_REVIEW"
    bad = staff.data(mutation, {"id": member_gid("sig-friend"), "phone": "short"})["setMemberSignals"]
    assert bad == {"member": None, "userErrors": [{"field": ["phoneHash"], "code": "INVALID_INPUT"}]}
    assert live_server.member("sig-friend").execute(mutation, {"id": member_gid("sig-friend")})[
        "errors"][0]["extensions"]["code"] == "FORBIDDEN"
    refused = live_server.member("bad-claim", device="no spaces allowed").post("{ me { id } }")
    assert refused.status_code == 401 and "did" in refused.text


def test_a_member_s_invitations_and_growth_changes_reach_only_them_and_staff(live_server):
    owner = live_server.member("private-inviter")
    accept(live_server.member("private-friend"), code_of(owner))
    query = "query($id: ID!) { member(id: $id) { invitations(first: 5) { friendNickname } " \
            "growthChanges(first: 5) { edges { node { delta } } } tier { keepUntil growthThisPeriod } } }"
    target = {"id": member_gid("private-inviter")}
    assert len(owner.data(query, target)["member"]["invitations"]) == 1
    assert len(live_server.staff().data(query, target)["member"]["invitations"]) == 1
    other = live_server.member("nosy").execute(query, target)
    assert other["errors"][0]["extensions"]["code"] == "FORBIDDEN" and other["data"]["member"] is None
    anonymous = live_server.anonymous().execute(query, target)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
