"""What callers who do not own the data can read: anonymous visitors, other members, stores and partners.

A member's coupon codes, delivery notes, member id, nickname, balance, order ids and partner
accounts reach that member and staff (and a partner what concerns it), nobody else. Beside the
named leaks, every query path of the live schema is walked as each kind of caller over a brand
holding a member with such secrets, and no answer may contain one; the same walk as the member
finds every secret, so the walk does reach them.
"""
from __future__ import annotations

import base64
import json
import re
from datetime import timedelta

import httpx
import pytest

from api.ops import demo
from api.http.app import create_app
from api.ops.config import Settings
from api.execution.schema import build_schema
from api.ops.services import Services
from domain.randomness import SeededRandomSource
from api.http.auth import issue_token
from tests.conftest import RANDOM_SEED, SECRET, GraphQLClient, LiveServer, start_server, stop_server, with_services
from tests.documents import ADJUST, CHECK_IN
from tests.schema_probes import Probes, explore
from tests.test_api_ledger import member_gid
from tests.test_api_lottery import new_lottery
from tests.test_api_mall import CREATE
from tests.test_api_partners import PartnerClient, add_partner

VICTIM = "victim-7q"
NICKNAME = "维克托秘密账户"
BALANCE = 8_765_432
CODES = ["LEAKCODE-0001", "LEAKCODE-0002"]
NOTE = "TRACKING-SF-SECRET"
ACCOUNT = "ACCT-SECRET-77"
REVIEW = "REVIEW-SECRET-TEXT"
GIFT_NOTE = "GIFT-SECRET-NOTE"
CITY = "PROFILE-SECRET-CITY"
GIFTED = 100
ORDER = "ORD-SECRET-5521"
REDEEM = """mutation($item: ID!, $key: String!) { redeem(input: {itemId: $item, idempotencyKey: $key}) {
  redemption { id code } userErrors { code } } }"""
DRAW = """mutation($lottery: ID!, $key: String!) { drawLottery(input: {lotteryId: $lottery, idempotencyKey: $key}) {
  draw { id redemption { id code } } userErrors { code } } }"""
VERIFY = """query($draw: ID!) { verifyLotteryDraw(drawId: $draw) { draw { id prize { name }
  redemption { id code note itemName } } } }"""
BOARD = """query($period: LeaderboardPeriod!) { leaderboard(period: $period, first: 10) {
  rank member { id memberId displayName isMe } } }"""


@pytest.fixture
def roomy_server(database_url, clock):
    """A live server whose cost budget never throttles: a throttled probe would hide what it could see."""
    settings = Settings(database_url=database_url, secret=SECRET, env="dev", sweep_seconds=0,
                        cost_budget_per_minute=10**9)
    services = Services.build(database_url, clock, SeededRandomSource(RANDOM_SEED))
    server, thread, base_url = start_server(create_app(settings, clock=clock, services=services))
    yield LiveServer(base_url, clock, database_url, services)
    stop_server(server, thread)


def coupon_item(staff, name, codes):
    made = staff.data(CREATE.replace("category: $category", "category: $category, kind: COUPON"),
                      {"name": name, "price": 10, "stock": len(codes)})["createMallItem"]["item"]["id"]
    staff.data('mutation($id: ID!, $codes: [String!]!) { addCouponCodes(input: {itemId: $id, codes: $codes}) '
               '{ added } }', {"id": made, "codes": codes})
    return made


async def victim_world(server) -> dict:
    """The demo brand, and a member holding one of every kind of secret; returns the ids a prober may try."""
    await with_services(server, demo.seed)
    staff = server.staff()
    victim = server.member(VICTIM, nickname=NICKNAME)
    victim.data("{ me { id } }")
    staff.data(ADJUST, {"memberId": member_gid(VICTIM), "delta": BALANCE, "memo": "m", "key": "fund"})
    victim.data(CHECK_IN, {"key": "c1"})  # onto the leaderboards
    coupon = coupon_item(staff, "隐私券", CODES)
    redemption = victim.data(REDEEM, {"item": coupon, "key": "r1"})["redeem"]["redemption"]
    assert redemption["code"] in CODES
    staff.data('mutation($id: ID!, $note: String) { fulfilRedemption(input: {redemptionId: $id, status: SHIPPED, '
               'note: $note}) { userErrors { code } } }', {"id": redemption["id"], "note": NOTE})
    prize_item = coupon_item(staff, "奖品券", ["C-1"])
    lottery = new_lottery(server, [{"name": "奖品券", "kind": "ITEM", "weight": 1000, "itemId": prize_item,
                                    "stock": 1}, {"name": "谢谢参与", "kind": "NOTHING", "weight": 1,
                                                  "fallback": True}])
    drawn = victim.data(DRAW, {"lottery": lottery["id"], "key": "d1"})["drawLottery"]["draw"]
    assert drawn["redemption"]["code"], drawn
    campaign = victim.data('mutation { startAssistCampaign(input: {title: "帮我助力"}) { campaign { id } } }')
    campaign_id = campaign["startAssistCampaign"]["campaign"]["id"]
    server.member("helper-friend").data('mutation($id: ID!) { assist(input: {campaignId: $id, idempotencyKey: '
                                        '"h"}) { userErrors { code } } }', {"id": campaign_id})
    exchange = victim.data('mutation($account: String) { exchangePoints(input: {partnerCode: "skyway", '
                           'direction: OUT, points: 100, partnerAccount: $account, idempotencyKey: "x1"}) '
                           '{ exchange { id } userErrors { code } } }', {"account": ACCOUNT})
    submission = victim.data('mutation($text: String!) { submitReview(input: {kind: REVIEW, content: $text}) '
                             '{ submission { id } } }', {"text": REVIEW})
    staff.data('mutation($m: ID!, $o: String!) { recordOrder(input: {memberId: $m, orderId: $o, amountFen: 12300, '
               'idempotencyKey: "o1"}) { userErrors { code } } }', {"m": member_gid(VICTIM), "o": ORDER})
    group_item = next(e["node"]["id"] for e in server.anonymous().data(
        "{ mallItems(first: 20) { edges { node { id groupSize } } } }")["mallItems"]["edges"]
        if e["node"]["groupSize"])
    victim.data('mutation($item: ID!) { startGroupRedemption(input: {itemId: $item, idempotencyKey: "g1"}) '
                '{ userErrors { code } } }', {"item": group_item})
    gift = victim.data('mutation($note: String) { giftPoints(input: {memberId: "%s", points: %d, message: $note, '
                       'idempotencyKey: "gift"}) { gift { id } userErrors { code } } }'
                       % (member_gid("helper-friend"), GIFTED), {"note": GIFT_NOTE})["giftPoints"]
    assert gift["userErrors"] == [], gift
    profile = victim.data('mutation($city: String) { updateProfile(input: {city: $city}) { userErrors { code } } }',
                          {"city": CITY})["updateProfile"]
    assert profile["userErrors"] == [], profile
    ledger = victim.data("{ me { ledger(first: 10) { edges { node { id } } } } }")["me"]["ledger"]["edges"]
    wallet = victim.data("{ me { coupons(first: 10) { edges { node { id } } } } }")["me"]["coupons"]["edges"]
    assert len(wallet) == 2  # the mall's and the lottery's
    owned = [member_gid(VICTIM), redemption["id"], drawn["redemption"]["id"], drawn["id"], campaign_id,
             exchange["exchangePoints"]["exchange"]["id"], submission["submitReview"]["submission"]["id"],
             base64.b64encode(f"PurchaseOrder:{ORDER}".encode()).decode(), *(e["node"]["id"] for e in ledger),
             *(e["node"]["id"] for e in wallet), gift["gift"]["id"]]
    ids = {"drawId": [drawn["id"]], "id": [campaign_id, member_gid(VICTIM)], "itemId": [group_item, coupon],
           "node": owned + [lottery["id"], coupon, group_item]}
    return ids, drawn["redemption"]["code"]


def secrets_in(text: str, asked: str, prize_code: str) -> set[str]:
    """The victim's secrets an answer holds that its request did not already carry."""
    named = {VICTIM, NICKNAME, *CODES, prize_code, NOTE, ACCOUNT, REVIEW, ORDER, GIFT_NOTE, CITY,
             base64.b64encode(f"Member:{VICTIM}".encode()).decode()}
    found = {s for s in named if s in text and s not in asked}
    if any(re.search(rf"\b{BALANCE - spent}\b", text) for spent in (0, 200, 210, 200 + GIFTED, 210 + GIFTED)):
        found.add("balance")
    return found


def probe(client, probes: list, prize_code: str) -> tuple[set[str], list[str], int]:
    """(secrets seen, errors that are defects, probes that reached data)."""
    seen, defects, answered = set(), [], 0

    def post(document: str) -> dict:
        response = client.post(document)
        assert response.status_code == 200, (document, response.text)
        return response.json()

    for one in probes:
        exchanges, found = explore(post, one)
        defects += found
        answered += any(v is not None for v in (exchanges[-1][1].get("data") or {}).values())
        for document, body in exchanges:
            seen |= secrets_in(json.dumps(body, ensure_ascii=False), document, prize_code)
    return seen, defects, answered


async def test_no_path_of_the_schema_shows_a_member_s_secrets_to_anyone_else(roomy_server):
    ids, prize_code = await victim_world(roomy_server)
    concerned = await with_services(roomy_server, demo.partner_key)
    stranger = await add_partner(roomy_server, "otherair")
    probes = Probes(build_schema()._schema, ids, ids["node"])
    documents = list(probes)
    assert len(documents) > 300 and probes.skipped <= {"bestDeduction", "webhook"}, probes.skipped
    callers = {"anonymous": roomy_server.anonymous(), "another member": roomy_server.member("intruder"),
               "a store's till": roomy_server.store("S1"),
               "an integration without scopes": GraphQLClient(roomy_server.base_url, issue_token(
                   SECRET, "crm", role="integration")),
               "another partner": stranger,
               "the partner it concerns": PartnerClient(roomy_server, *concerned)}
    for name, client in callers.items():
        seen, failures, answered = probe(client, documents, prize_code)
        allowed = {ACCOUNT} if name == "the partner it concerns" else set()
        assert seen - allowed == set(), f"{name} can read {seen - allowed}"
        assert failures == [], failures[:3]
        assert answered > 50, f"{name}: the probes reached almost nothing ({answered} answers)"
    seen, failures, _ = probe(roomy_server.member(VICTIM), documents, prize_code)
    expected = {VICTIM, NICKNAME, prize_code, NOTE, ACCOUNT, REVIEW, ORDER, GIFT_NOTE, CITY, "balance"}
    assert expected - seen == set() and seen & set(CODES), expected - seen
    assert failures == [], failures[:3]


def test_a_public_draw_verification_shows_the_prize_not_its_coupon(live_server):
    staff = live_server.staff()
    prize_item = coupon_item(staff, "奖品券", ["C-1"])
    lottery = new_lottery(live_server, [{"name": "奖品券", "kind": "ITEM", "weight": 1000, "itemId": prize_item,
                                         "stock": 1}, {"name": "谢谢参与", "kind": "NOTHING", "weight": 1,
                                                       "fallback": True}])
    winner = live_server.member("winner")
    drawn = winner.data(DRAW, {"lottery": lottery["id"], "key": "d"})["drawLottery"]["draw"]
    prize_code = drawn["redemption"]["code"]
    assert prize_code
    for stranger in (live_server.anonymous(), live_server.member("stranger")):
        seen = stranger.data(VERIFY, {"draw": drawn["id"]})["verifyLotteryDraw"]["draw"]
        assert seen == {"id": drawn["id"], "prize": {"name": "奖品券"}, "redemption": None}
        refetched = stranger.execute("query($id: ID!) { node(id: $id) { ... on Redemption { code } } }",
                                     {"id": drawn["redemption"]["id"]})
        assert refetched["data"]["node"] is None and refetched["errors"][0]["extensions"]["code"] in (
            "FORBIDDEN", "UNAUTHENTICATED")
    own = winner.data(VERIFY, {"draw": drawn["id"]})["verifyLotteryDraw"]["draw"]["redemption"]
    assert own["code"] == prize_code
    assert staff.data(VERIFY, {"draw": drawn["id"]})["verifyLotteryDraw"]["draw"]["redemption"]["code"] == prize_code


def test_leaderboard_ids_are_per_board_pseudonyms(live_server):
    climber = live_server.member("climber-01", nickname="攀登者")
    climber.data(CHECK_IN, {"key": "c"})
    day = live_server.anonymous().data(BOARD, {"period": "DAY"})["leaderboard"][0]["member"]
    week = live_server.anonymous().data(BOARD, {"period": "WEEK"})["leaderboard"][0]["member"]
    assert day["memberId"] is None and day["displayName"] == "攀**" and not day["isMe"]
    for opaque in (day["id"], week["id"]):
        assert "climber" not in opaque and "climber" not in _decoded(opaque)
    assert day["id"] != week["id"]  # one member, two boards: the two ids cannot be joined
    assert live_server.member("rival").data(BOARD, {"period": "DAY"})["leaderboard"][0]["member"] == day
    mine = climber.data(BOARD, {"period": "DAY"})["leaderboard"][0]["member"]
    assert mine == {"id": day["id"], "memberId": member_gid("climber-01"), "displayName": "攀登者", "isMe": True}
    assert live_server.staff().data(BOARD, {"period": "DAY"})["leaderboard"][0]["member"]["memberId"] == \
        member_gid("climber-01")
    ranked = climber.data("{ me { rank(period: DAY) { rank member { id isMe } } } }")["me"]["rank"]
    assert ranked == {"rank": 1, "member": {"id": day["id"], "isMe": True}}
    live_server.clock.advance(timedelta(days=1))
    climber.data(CHECK_IN, {"key": "c2"})
    tomorrow = live_server.anonymous().data(BOARD, {"period": "DAY"})["leaderboard"][0]["member"]
    assert tomorrow["id"] != day["id"]


def _decoded(opaque: str) -> str:
    try:
        return base64.b64decode(opaque + "==").decode("utf-8", "replace")
    except ValueError:
        return ""


def test_an_assist_campaign_shows_friends_its_progress_not_its_earnings(live_server):
    owner, friend = live_server.member("owner-a"), live_server.member("friend-b")
    campaign = owner.data('mutation { startAssistCampaign(input: {}) { campaign { id } } }')
    campaign_id = campaign["startAssistCampaign"]["campaign"]["id"]
    friend.data('mutation($id: ID!) { assist(input: {campaignId: $id, idempotencyKey: "h"}) { userErrors { code } } }',
                {"id": campaign_id})
    query = "query($id: ID!) { assistCampaign(id: $id) { helpers pointsPaid } }"
    assert friend.data(query, {"id": campaign_id})["assistCampaign"] == {"helpers": 1, "pointsPaid": None}
    assert owner.data(query, {"id": campaign_id})["assistCampaign"]["pointsPaid"] is not None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_metrics_in_prod_need_the_metrics_token(database_url, clock):
    token = "m" * 40
    for metrics_token, authorization, status in ((None, None, 404), (token, None, 401), (token, "Bearer nope", 401),
                                                 (token, f"Bearer {token}", 200)):
        settings = Settings(database_url=database_url, secret=SECRET, env="prod", sweep_seconds=0,
                            metrics_token=metrics_token)
        server, thread, base_url = start_server(create_app(settings, clock=clock))
        try:
            headers = {"Authorization": authorization} if authorization else {}
            response = httpx.get(f"{base_url}/metrics", headers=headers)
            assert response.status_code == status, (metrics_token, authorization, response.text)
            if status == 200:
                assert "jifen_" in response.text
        finally:
            stop_server(server, thread)
