"""Points gifting over real HTTP on both databases: both ledgers, the brand's limits by the brand's day
(with the clock moved), points about to expire staying put and given points keeping their expiry,
exactly once under concurrency, refusals for members under review, and who may see a gift."""
import asyncio
from datetime import datetime, timedelta

import httpx

from tests.conftest import with_services
from tests.test_api_invitations import ACCEPT
from tests.test_api_ledger import member_gid
from tests.test_api_mall import funded

GIVE = """mutation($code: String, $id: ID, $points: Int!, $message: String, $key: String!) {
  giftPoints(input: {invitationCode: $code, memberId: $id, points: $points, message: $message,
                     idempotencyKey: $key}) {
    member { points { available } } gift { id points message direction counterpartNickname }
    entry { reason delta } userErrors { field code message } } }"""
RULE = """mutation($enabled: Boolean!, $perGift: Int!, $daily: Int!, $gifts: Int!, $received: Int!, $protect: Int!) {
  updateGiftRule(input: {enabled: $enabled, minPoints: 10, maxPointsPerGift: $perGift, dailyPoints: $daily,
                         dailyGifts: $gifts, dailyReceivedPoints: $received, protectDays: $protect}) {
    rule { enabled maxPointsPerGift dailyPoints } userErrors { field code } } }"""
MINE = """{ me { invitationCode points { available }
  ledger(first: 10) { edges { node { reason delta memo expiresAt } } }
  pointsGifts(first: 10) { edges { node { id points direction counterpartNickname message } } } } }"""


def open_gifting(live_server, per_gift=1000, daily=2000, gifts=5, received=5000, protect=30):
    answer = live_server.staff().data(RULE, {"enabled": True, "perGift": per_gift, "daily": daily, "gifts": gifts,
                                            "received": received, "protect": protect})["updateGiftRule"]
    assert answer["userErrors"] == [], answer


def give(giver, code, points, key, message=None):
    return giver.data(GIVE, {"code": code, "points": points, "message": message, "key": key})["giftPoints"]


def codes(payload) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


def code_of(member) -> str:
    return member.data(MINE)["me"]["invitationCode"]


def test_a_gift_shows_on_both_ledgers_and_keeps_its_expiry(live_server):
    open_gifting(live_server)
    giver = funded(live_server, "gift-giver", 500)
    receiver = live_server.member("gift-receiver", nickname="小红")
    done = give(giver, code_of(receiver), 120, "g-1", "生日快乐")
    assert done["userErrors"] == []
    assert done["member"]["points"]["available"] == 380
    assert done["entry"]["reason"] == "GIFT_OUT" and done["entry"]["delta"] == -120
    assert done["gift"]["direction"] == "SENT" and done["gift"]["counterpartNickname"] == "小红"

    mine = receiver.data(MINE)["me"]
    assert mine["points"]["available"] == 120
    entry = mine["ledger"]["edges"][0]["node"]
    assert entry["reason"] == "GIFT_IN" and entry["delta"] == 120 and "生日快乐" in entry["memo"]
    giver_lot = giver.data(MINE)["me"]["ledger"]["edges"][-1]["node"]["expiresAt"]
    assert entry["expiresAt"] == giver_lot  # the points live no longer for changing hands
    received = mine["pointsGifts"]["edges"][0]["node"]
    assert received["direction"] == "RECEIVED" and received["points"] == 120 and received["message"] == "生日快乐"

    again = give(giver, code_of(receiver), 120, "g-1", "生日快乐")  # the same key: the first answer, no more
    assert again["userErrors"] == [] and again["member"]["points"]["available"] == 380
    assert receiver.data(MINE)["me"]["points"]["available"] == 120
    by_id = giver.data(GIVE, {"id": member_gid("gift-receiver"), "points": 30, "key": "g-2"})["giftPoints"]
    assert by_id["userErrors"] == [] and receiver.data(MINE)["me"]["points"]["available"] == 150
    report = asyncio.run(with_services(live_server, lambda s: s.reconciliation.run()))
    assert report.ok, report
    today = str(live_server.clock.now().date())
    figures = live_server.staff().data("""query($d: Date!) { analytics(from: $d, to: $d) {
        earned burned gifted days { gifted } } }""", {"d": today})["analytics"]
    assert figures == {"earned": 500, "burned": 0, "gifted": 150, "days": [{"gifted": 150}]}  # changed hands only


def test_gifting_is_off_until_the_brand_opens_it_and_bad_gifts_are_coded(live_server):
    giver = funded(live_server, "closed-giver", 500)
    receiver_code = code_of(live_server.member("closed-receiver"))
    assert codes(give(giver, receiver_code, 50, "c-1")) == ["GIFTING_CLOSED"]
    assert live_server.anonymous().data("{ giftRule { enabled dailyPoints protectDays } }")["giftRule"] == {
        "enabled": False, "dailyPoints": 2000, "protectDays": 30}
    open_gifting(live_server)
    assert codes(give(giver, code_of(giver), 50, "c-2")) == ["SELF_GIFT"]
    assert codes(give(giver, "ZZZZZZZZ", 50, "c-3")) == ["NOT_FOUND"]
    assert codes(give(giver, "bad", 50, "c-4")) == ["NOT_FOUND"]
    assert codes(give(giver, receiver_code, 5, "c-5")) == ["LIMIT_REACHED"]
    assert codes(give(giver, receiver_code, 1001, "c-6")) == ["LIMIT_REACHED"]
    assert codes(give(giver, receiver_code, -1, "c-7")) == ["INVALID_INPUT"]
    assert codes(give(giver, receiver_code, 50, "c-8", "x" * 61)) == ["INVALID_INPUT"]
    both = giver.data(GIVE, {"code": receiver_code, "id": member_gid("closed-receiver"), "points": 50,
                             "key": "c-9"})["giftPoints"]
    assert codes(both) == ["INVALID_INPUT"]
    poor = funded(live_server, "poor-giver", 40)
    assert codes(give(poor, receiver_code, 50, "c-10")) == ["INSUFFICIENT_POINTS"]
    assert live_server.staff().data(RULE, {"enabled": True, "perGift": 0, "daily": 1, "gifts": 1, "received": 1,
                                           "protect": 0})["updateGiftRule"]["userErrors"][0]["code"] == "INVALID_INPUT"
    assert giver.execute(RULE, {"enabled": True, "perGift": 9, "daily": 9, "gifts": 1, "received": 9, "protect": 0}
                         )["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert giver.data(MINE)["me"]["points"]["available"] == 500


def test_daily_limits_count_in_the_brand_s_day_and_reset_the_next(live_server):
    open_gifting(live_server, per_gift=500, daily=600, gifts=3, received=700)
    giver = funded(live_server, "daily-giver", 3000)
    other = funded(live_server, "daily-other", 3000)
    receiver_code = code_of(live_server.member("daily-receiver"))
    assert give(giver, receiver_code, 500, "d-1")["userErrors"] == []
    over = give(giver, receiver_code, 101, "d-2")
    assert codes(over) == ["DAILY_LIMIT_REACHED"] and "100 left" in over["userErrors"][0]["message"]
    assert give(giver, receiver_code, 50, "d-3")["userErrors"] == []
    assert give(giver, receiver_code, 50, "d-4")["userErrors"] == []
    assert codes(give(giver, receiver_code, 10, "d-5")) == ["DAILY_LIMIT_REACHED"]  # three gifts a day
    assert codes(give(other, receiver_code, 200, "d-6")) == ["DAILY_LIMIT_REACHED"]  # 600 received, 700 at most
    assert give(other, receiver_code, 100, "d-7")["userErrors"] == []

    live_server.clock.advance(timedelta(days=1))
    assert give(giver, receiver_code, 500, "d-8")["userErrors"] == []
    assert giver.data(MINE)["me"]["points"]["available"] == 3000 - 600 - 500


def test_points_expiring_soon_stay_with_their_holder(live_server):
    open_gifting(live_server, protect=30)
    giver = funded(live_server, "soon-giver", 300)
    first_lot = giver.data(MINE)["me"]["ledger"]["edges"][0]["node"]["expiresAt"]
    receiver = live_server.member("soon-receiver")
    clock = live_server.clock
    clock.advance(datetime.fromisoformat(first_lot) - clock.now() - timedelta(days=10))
    refused = give(giver, code_of(receiver), 100, "s-1")
    assert codes(refused) == ["INSUFFICIENT_POINTS"] and "30 days" in refused["userErrors"][0]["message"]
    live_server.staff().data("""mutation($id: ID!) { adjustPoints(input: {memberId: $id, delta: 200, memo: "m",
        idempotencyKey: "later-lot"}) { userErrors { code } } }""", {"id": member_gid("soon-giver")})
    assert codes(give(giver, code_of(receiver), 201, "s-2")) == ["INSUFFICIENT_POINTS"]
    assert give(giver, code_of(receiver), 200, "s-3")["userErrors"] == []
    mine = giver.data(MINE)["me"]
    assert mine["points"]["available"] == 300  # the lot about to expire is all that is left
    received = receiver.data(MINE)["me"]["ledger"]["edges"][0]["node"]
    assert received["expiresAt"] > first_lot


def test_a_key_sent_at_once_gives_once_and_racing_gifts_never_pass_the_daily_limit(live_server):
    open_gifting(live_server, per_gift=100, daily=300, gifts=5, received=5000)
    giver = funded(live_server, "race-giver", 2000)
    receiver_code = code_of(live_server.member("race-receiver"))
    variables = [{"code": receiver_code, "points": 100, "key": "same"}] * 10 + \
        [{"code": receiver_code, "points": 100, "key": f"k-{n}"} for n in range(8)]

    async def send_all():
        async with httpx.AsyncClient() as http:
            return await asyncio.gather(*(giver.execute_async(http, GIVE, v) for v in variables))

    answers = [a["data"]["giftPoints"] for a in asyncio.run(send_all())]
    assert all(not a["userErrors"] for a in answers[:10])
    assert len({a["gift"]["id"] for a in answers[:10]}) == 1
    passed = [a for a in answers[10:] if not a["userErrors"]]
    assert len(passed) == 2 and all(codes(a) == ["DAILY_LIMIT_REACHED"] for a in answers[10:] if a["userErrors"])
    assert giver.data(MINE)["me"]["points"]["available"] == 1700
    gifts = live_server.member("race-receiver").data(MINE)["me"]["pointsGifts"]["edges"]
    assert len(gifts) == 3 and sum(g["node"]["points"] for g in gifts) == 300


def test_members_under_review_neither_give_nor_receive(live_server):
    open_gifting(live_server)
    live_server.member("review-inviter", device="shared-tablet").data("{ me { id } }")  # devices are kept at sign-up
    inviter = funded(live_server, "review-inviter", 500)
    friend = live_server.member("review-friend", device="shared-tablet")
    held = friend.data(ACCEPT, {"code": code_of(inviter), "key": "acc"})["acceptInvitation"]
    assert codes(held) == ["HELD_FOR_REVIEW"]
    bystander = funded(live_server, "review-bystander", 500)
    assert codes(give(inviter, code_of(bystander), 50, "r-1")) == ["MEMBER_UNDER_REVIEW"]
    refused = give(bystander, code_of(friend), 50, "r-2")
    assert codes(refused) == ["MEMBER_UNDER_REVIEW"] and refused["userErrors"][0]["field"] == ["recipient"]
    staff = live_server.staff()
    review = staff.data("{ riskReviews(first: 5) { edges { node { id } } } }")["riskReviews"]["edges"][0]["node"]
    staff.data("""mutation($id: ID!) { rejectRiskReview(input: {reviewId: $id, idempotencyKey: "rej"}) {
        userErrors { code } } }""", {"id": review["id"]})
    assert give(inviter, code_of(bystander), 50, "r-3")["userErrors"] == []


def test_a_gift_is_seen_by_its_two_members_and_staff_only(live_server):
    open_gifting(live_server)
    giver = funded(live_server, "seen-giver", 500)
    receiver = live_server.member("seen-receiver")
    gift_id = give(giver, code_of(receiver), 60, "v-1")["gift"]["id"]
    node = "query($id: ID!) { node(id: $id) { ... on PointsGift { points direction counterpartNickname } } }"
    assert receiver.data(node, {"id": gift_id})["node"]["direction"] == "RECEIVED"
    assert giver.data(node, {"id": gift_id})["node"]["direction"] == "SENT"
    assert live_server.staff().data(node, {"id": gift_id})["node"]["points"] == 60
    for outsider, code in ((live_server.member("seen-outsider"), "FORBIDDEN"), (live_server.store("S1"), "FORBIDDEN"),
                           (live_server.anonymous(), "UNAUTHENTICATED")):
        assert outsider.execute(node, {"id": gift_id})["errors"][0]["extensions"]["code"] == code
    other_list = """query($id: ID!) { member(id: $id) { pointsGifts(first: 5) { edges { node { points } } } } }"""
    assert live_server.member("seen-outsider").execute(other_list, {"id": member_gid("seen-giver")})[
        "errors"][0]["extensions"]["code"] == "FORBIDDEN"
    staff_view = live_server.staff().data(other_list, {"id": member_gid("seen-giver")})
    assert staff_view["member"]["pointsGifts"]["edges"][0]["node"]["points"] == 60
