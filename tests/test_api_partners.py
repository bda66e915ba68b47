"""Partner brands over real HTTP: signed requests, two-phase exchanges, daily limits and settlement."""
import asyncio
import hashlib
import hmac
import json
import uuid
from datetime import timedelta

import httpx
import pytest

from domain.partners import ExchangeRate
from tests.conftest import HTTP, GraphQLClient, with_services
from tests.test_api_mall import funded

EXCHANGE = """mutation($partner: String!, $direction: ExchangeDirection!, $points: Int!, $key: String!) {
  exchangePoints(input: {partnerCode: $partner, direction: $direction, points: $points, partnerAccount: "sky-007",
                         idempotencyKey: $key}) {
    exchange { id status direction points partnerPoints partnerAccount }
    member { points { available held } } entry { reason } userErrors { code field } } }"""
CONFIRM = """mutation($id: ID!, $key: String!) {
  confirmExchange(input: {exchangeId: $id, partnerRef: "sky-tx-1", idempotencyKey: $key}) {
    exchange { status partnerRef } userErrors { code } } }"""
REJECT = """mutation($id: ID!, $key: String!) {
  rejectExchange(input: {exchangeId: $id, reason: "account closed", idempotencyKey: $key}) {
    exchange { status failureReason } userErrors { code } } }"""
PARTNER_EXCHANGES = """query($status: ExchangeStatus) { partnerExchanges(first: 20, status: $status) {
  edges { node { id memberId direction points partnerPoints status partnerAccount } } } }"""
STATEMENTS = """query($code: String, $from: Date!, $to: Date!) {
  settlementStatements(partnerCode: $code, from: $from, to: $to) {
    partnerCode day out { exchanges points partnerPoints } in { exchanges points partnerPoints }
    netFen ledgerPointsOut ledgerPointsIn reconciled } }"""
POINTS = "{ me { points { available held } } }"


class PartnerClient(GraphQLClient):
    """Signs each request as a partner does: HMAC-SHA256 of "{timestamp}.{nonce}.{raw body}"."""

    def __init__(self, live_server, key_id: str, secret: str) -> None:
        super().__init__(live_server.base_url)
        self.live_server = live_server
        self.key_id, self.secret = key_id, secret

    def signed(self, body: bytes, *, timestamp: int | None = None, nonce: str | None = None,
               secret: str | None = None) -> dict:
        timestamp = str(timestamp if timestamp is not None else int(self.live_server.clock.now().timestamp()))
        nonce = nonce or uuid.uuid4().hex
        signature = hmac.new((secret or self.secret).encode(), f"{timestamp}.{nonce}.".encode() + body,
                             hashlib.sha256).hexdigest()
        return {"X-Partner-Key": self.key_id, "X-Timestamp": timestamp, "X-Nonce": nonce, "X-Signature": signature,
                "Content-Type": "application/json"}

    def post(self, query: str, variables: dict | None = None, **signing) -> httpx.Response:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        return HTTP.post(f"{self.base_url}/graphql", content=body, headers=self.signed(body, **signing))

    async def execute_async(self, http: httpx.AsyncClient, query: str, variables: dict | None = None,
                            gate=None) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        response = await http.post(f"{self.base_url}/graphql", content=body, headers=self.signed(body))
        assert response.status_code == 200, response.text
        return response.json()


async def add_partner(live_server, code="skyway", rate=ExchangeRate(10, 1), **terms) -> PartnerClient:
    _, key = await with_services(live_server, lambda s: s.partners.create(code, f"{code} 航空", rate, **terms))
    return PartnerClient(live_server, key.key_id, key.secret)


def exchange(member, points, key, direction="OUT", partner="skyway"):
    return member.data(EXCHANGE, {"partner": partner, "direction": direction, "points": points,
                                  "key": key})["exchangePoints"]


def unauthenticated(response: httpx.Response) -> str:
    assert response.status_code == 401, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    return error["message"]


async def test_only_authentic_partner_requests_are_served(live_server):
    partner = await add_partner(live_server)
    query = "{ partnerExchanges(first: 5) { edges { node { id } } } }"
    assert partner.data(query) == {"partnerExchanges": {"edges": []}}
    assert "signature" in unauthenticated(partner.post(query, secret="sk_not-the-secret"))
    now = int(live_server.clock.now().timestamp())
    assert "300 s" in unauthenticated(partner.post(query, timestamp=now - 301))
    assert "300 s" in unauthenticated(partner.post(query, timestamp=now + 301))
    assert partner.post(query, timestamp=now - 299).status_code == 200
    superscript_two = {**partner.signed(b"{}"), "X-Timestamp": b"\xb2"}  # latin-1 "²": isdigit() but no int
    assert "unix seconds" in unauthenticated(HTTP.post(f"{live_server.base_url}/graphql", content=b"{}",
                                                       headers=superscript_two))
    assert partner.post(query, nonce="nonce-used-once").status_code == 200
    assert "nonce" in unauthenticated(partner.post(query, nonce="nonce-used-once"))
    body = json.dumps({"query": query}).encode()
    tampered = HTTP.post(f"{live_server.base_url}/graphql", headers=partner.signed(body),
                         content=json.dumps({"query": "{ exchangeRates { partnerCode } }"}).encode())
    assert "signature" in unauthenticated(tampered)
    unsigned_get = HTTP.get(f"{live_server.base_url}/graphql", params={"query": query}, headers=partner.signed(b""))
    assert "POST" in unauthenticated(unsigned_get)
    assert "unknown" in unauthenticated(PartnerClient(live_server, "pk_nobody", partner.secret).post(query))
    await with_services(live_server, lambda s: s.partners.revoke_key(partner.key_id))
    assert "revoked" in unauthenticated(partner.post(query))


async def test_partners_members_and_staff_keep_to_their_own_fields(live_server):
    partner = await add_partner(live_server)
    member = funded(live_server, "flyer", 1000)
    query = "{ partnerExchanges(first: 5) { edges { node { id } } } }"
    assert member.execute(query)["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert live_server.anonymous().execute(query)["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert partner.data("{ me { id } }") == {"me": None}
    flyer = member.data("{ me { id } }")["me"]["id"]
    member_query = "query($id: ID!) { member(id: $id) { id } }"
    assert partner.execute(member_query, {"id": flyer})["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    made = exchange(member, 100, "x")["exchange"]["id"]
    as_partner = partner.execute(EXCHANGE, {"partner": "skyway", "direction": "OUT", "points": 100, "key": "p"})
    assert as_partner["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert member.execute(CONFIRM, {"id": made, "key": "k"})["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_an_exchange_out_holds_then_the_partner_confirms(live_server):
    partner = await add_partner(live_server)
    member = funded(live_server, "flyer", 1000)
    rates = live_server.anonymous().data("{ exchangeRates { partnerCode points partnerPoints } }")
    assert rates == {"exchangeRates": [{"partnerCode": "skyway", "points": 10, "partnerPoints": 1}]}
    made = exchange(member, 500, "out-1")
    assert made["exchange"] | {"id": None} == {"id": None, "status": "PENDING", "direction": "OUT", "points": 500,
                                               "partnerPoints": 50, "partnerAccount": "sky-007"}
    assert made["member"]["points"] == {"available": 500, "held": 500}
    assert made["entry"] is None
    assert exchange(member, 500, "out-1")["exchange"]["id"] == made["exchange"]["id"]  # the key replays
    seen = partner.data(PARTNER_EXCHANGES, {"status": "PENDING"})["partnerExchanges"]["edges"]
    assert [e["node"]["id"] for e in seen] == [made["exchange"]["id"]]
    pseudonym = seen[0]["node"]["memberId"]  # the partner never learns the brand's member id
    assert pseudonym != member.data("{ me { id } }")["me"]["id"] and "flyer" not in pseudonym
    assert member.data('{ me { exchanges(first: 1) { edges { node { memberId } } } } }')["me"]["exchanges"][
        "edges"][0]["node"]["memberId"] == member.data("{ me { id } }")["me"]["id"]
    confirmed = partner.data(CONFIRM, {"id": made["exchange"]["id"], "key": "c1"})["confirmExchange"]
    assert confirmed == {"exchange": {"status": "COMPLETED", "partnerRef": "sky-tx-1"}, "userErrors": []}
    assert partner.data(CONFIRM, {"id": made["exchange"]["id"], "key": "c1"}) == {"confirmExchange": confirmed}
    again = partner.data(CONFIRM, {"id": made["exchange"]["id"], "key": "c2"})["confirmExchange"]
    assert again["userErrors"] == [{"code": "EXCHANGE_NOT_PENDING"}]
    assert member.data(POINTS)["me"]["points"] == {"available": 500, "held": 0}
    ledger = member.data("{ me { ledger(first: 1) { edges { node { reason delta memo } } } } }")
    assert ledger["me"]["ledger"]["edges"][0]["node"] == {"reason": "EXCHANGE_OUT", "delta": -500,
                                                          "memo": "兑出 · skyway 航空 (50 partner points)"}
    mine = member.data("{ me { exchanges(first: 5) { edges { node { status partnerRef } } } } }")
    assert mine["me"]["exchanges"]["edges"] == [{"node": {"status": "COMPLETED", "partnerRef": "sky-tx-1"}}]


async def test_a_rejected_or_unanswered_exchange_releases_the_points(live_server):
    partner = await add_partner(live_server)
    member = funded(live_server, "flyer", 1000)
    first = exchange(member, 300, "a")["exchange"]["id"]
    rejected = partner.data(REJECT, {"id": first, "key": "r"})["rejectExchange"]
    assert rejected["exchange"] == {"status": "FAILED", "failureReason": "account closed"}
    assert member.data(POINTS)["me"]["points"] == {"available": 1000, "held": 0}
    second = exchange(member, 300, "b")["exchange"]["id"]
    live_server.clock.advance(timedelta(minutes=30))
    assert member.data(POINTS)["me"]["points"] == {"available": 1000, "held": 0}
    late = partner.data(CONFIRM, {"id": second, "key": "late"})["confirmExchange"]
    assert late["userErrors"] == [{"code": "EXCHANGE_NOT_PENDING"}]
    statuses = member.data("{ me { exchanges(first: 5) { edges { node { status } } } } }")["me"]["exchanges"]
    assert [e["node"]["status"] for e in statuses["edges"]] == ["EXPIRED", "FAILED"]


async def test_an_exchange_in_credits_only_when_the_partner_confirms(live_server):
    partner = await add_partner(live_server)
    member = funded(live_server, "flyer", 100)
    made = exchange(member, 200, "in-1", direction="IN")
    assert made["exchange"]["status"] == "PENDING" and made["member"]["points"] == {"available": 100, "held": 0}
    partner.data(CONFIRM, {"id": made["exchange"]["id"], "key": "c"})
    ledger = member.data("{ me { points { available } ledger(first: 1) { edges { node { reason delta expiresAt } } } }"
                         " }")["me"]
    assert ledger["points"] == {"available": 300}
    assert ledger["ledger"]["edges"][0]["node"]["reason"] == "EXCHANGE_IN"
    assert ledger["ledger"]["edges"][0]["node"]["delta"] == 200
    assert ledger["ledger"]["edges"][0]["node"]["expiresAt"] is not None  # a lot like earned points
    stale = exchange(member, 200, "in-2", direction="IN")["exchange"]["id"]
    live_server.clock.advance(timedelta(minutes=31))
    assert await with_services(live_server, lambda s: s.partners.expire_stale()) == 1
    assert partner.data(PARTNER_EXCHANGES, {"status": "EXPIRED"})["partnerExchanges"]["edges"][0]["node"]["id"] == stale
    assert partner.data(CONFIRM, {"id": stale, "key": "late"})["confirmExchange"]["userErrors"] == [
        {"code": "EXCHANGE_NOT_PENDING"}]
    assert member.data(POINTS)["me"]["points"] == {"available": 300, "held": 0}


async def test_a_partner_sees_only_its_own_exchanges(live_server):
    sky = await add_partner(live_server)
    rail = await add_partner(live_server, "railway")
    member = funded(live_server, "flyer", 1000)
    made = exchange(member, 100, "x")["exchange"]["id"]
    assert rail.data(PARTNER_EXCHANGES)["partnerExchanges"]["edges"] == []
    assert rail.data(CONFIRM, {"id": made, "key": "steal"})["confirmExchange"]["userErrors"] == [{"code": "NOT_FOUND"}]
    assert rail.data(REJECT, {"id": made, "key": "spoil"})["rejectExchange"]["userErrors"] == [{"code": "NOT_FOUND"}]
    node = "query($id: ID!) { node(id: $id) { ... on PartnerExchange { status } } }"
    assert rail.execute(node, {"id": made})["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert sky.data(node, {"id": made}) == {"node": {"status": "PENDING"}}
    assert member.data(node, {"id": made}) == {"node": {"status": "PENDING"}}
    assert live_server.member("nosy").execute(node, {"id": made})["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    day = {"from": "2026-03-12", "to": "2026-03-12"}
    assert rail.execute(STATEMENTS, {"code": "skyway", **day})["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert rail.data(STATEMENTS, day)["settlementStatements"][0]["partnerCode"] == "railway"


async def test_daily_limits_per_member_and_per_partner(live_server):
    await add_partner(live_server, daily_points_per_member=1000, daily_points=1500)
    alice = funded(live_server, "alice", 5000)
    bob = funded(live_server, "bob", 5000)
    assert exchange(alice, 15, "odd")["userErrors"] == [{"code": "INVALID_INPUT", "field": ["points"]}]
    newline = alice.data(EXCHANGE.replace('"sky-007"', '"sky-007\\n"'), {
        "partner": "skyway", "direction": "OUT", "points": 10, "key": "nl"})["exchangePoints"]["userErrors"]
    assert newline == [{"code": "INVALID_INPUT", "field": ["partnerAccount"]}]
    assert exchange(alice, 600, "a1")["userErrors"] == []
    assert exchange(alice, 500, "a2", direction="IN")["userErrors"] == [
        {"code": "DAILY_LIMIT_REACHED", "field": ["points"]}]
    assert exchange(alice, 400, "a3", direction="IN")["userErrors"] == []
    assert exchange(bob, 600, "b1")["userErrors"] == [{"code": "PARTNER_LIMIT_REACHED", "field": ["points"]}]
    assert exchange(bob, 500, "b2")["userErrors"] == []
    assert exchange(bob, 100, "bob-poor", partner="nobody")["userErrors"] == [
        {"code": "NOT_FOUND", "field": ["partnerCode"]}]
    live_server.clock.advance(timedelta(hours=14))  # past midnight in Shanghai
    assert exchange(alice, 1000, "next-day")["userErrors"] == []
    assert exchange(bob, 9000, "too-much")["userErrors"][0]["code"] == "INSUFFICIENT_POINTS"


async def test_concurrent_exchanges_keep_the_partner_limit(live_server):
    await add_partner(live_server, daily_points=500)
    members = [funded(live_server, f"racer-{i}", 1000) for i in range(10)]
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=20)) as http:
        replies = await asyncio.gather(*(m.execute_async(http, EXCHANGE, {
            "partner": "skyway", "direction": "OUT", "points": 100, "key": "race"}) for m in members))
    codes = [r["data"]["exchangePoints"]["userErrors"] for r in replies]
    assert codes.count([]) == 5
    assert all(c == [{"code": "PARTNER_LIMIT_REACHED", "field": ["points"]}] for c in codes if c)


async def test_concurrent_confirms_and_rejects_resolve_an_exchange_once(live_server):
    partner = await add_partner(live_server)
    member = funded(live_server, "flyer", 1000)
    made = exchange(member, 400, "x")["exchange"]["id"]
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=20)) as http:
        replies = await asyncio.gather(*(partner.execute_async(http, CONFIRM if i % 2 else REJECT,
                                                               {"id": made, "key": f"k{i}"}) for i in range(20)))
    payloads = [next(iter(r["data"].values())) for r in replies]
    assert sum(not p["userErrors"] for p in payloads) == 1
    points = member.data(POINTS)["me"]["points"]
    assert points in ({"available": 600, "held": 0}, {"available": 1000, "held": 0})
    assert (await with_services(live_server, lambda s: s.reconciliation.run())).ok


async def test_the_daily_statement_sums_to_the_ledger(live_server):
    partner = await add_partner(live_server, fen_per_100_points=50)
    other = await add_partner(live_server, "railway")
    alice, bob = funded(live_server, "alice", 2000), funded(live_server, "bob", 2000)
    for member, points, direction, key in ((alice, 500, "OUT", "1"), (bob, 300, "OUT", "2"),
                                           (alice, 200, "IN", "3")):
        partner.data(CONFIRM, {"id": exchange(member, points, key, direction)["exchange"]["id"], "key": key})
    partner.data(REJECT, {"id": exchange(bob, 100, "4")["exchange"]["id"], "key": "4"})
    exchange(alice, 100, "5")  # still pending at the day's end: not in the statement
    live_server.clock.advance(timedelta(days=1))
    partner.data(CONFIRM, {"id": exchange(bob, 1000, "6", "IN")["exchange"]["id"], "key": "6"})
    other.data(CONFIRM, {"id": exchange(bob, 70, "7", partner="railway")["exchange"]["id"], "key": "7"})
    days = {"code": "skyway", "from": "2026-03-12", "to": "2026-03-13"}
    statements = live_server.staff().data(STATEMENTS, days)["settlementStatements"]
    assert statements == [
        {"partnerCode": "skyway", "day": "2026-03-12", "out": {"exchanges": 2, "points": 800, "partnerPoints": 80},
         "in": {"exchanges": 1, "points": 200, "partnerPoints": 20}, "netFen": 300, "ledgerPointsOut": 800,
         "ledgerPointsIn": 200, "reconciled": True},
        {"partnerCode": "skyway", "day": "2026-03-13", "out": {"exchanges": 0, "points": 0, "partnerPoints": 0},
         "in": {"exchanges": 1, "points": 1000, "partnerPoints": 100}, "netFen": -500, "ledgerPointsOut": 0,
         "ledgerPointsIn": 1000, "reconciled": True}]
    assert partner.data(STATEMENTS, {**days, "code": None})["settlementStatements"] == statements
    ledger = "{ me { ledger(first: 20) { edges { node { reason delta } } } } }"
    moved = [e["node"] for m in (alice, bob) for e in m.data(ledger)["me"]["ledger"]["edges"]
             if e["node"]["reason"].startswith("EXCHANGE")]
    assert -sum(e["delta"] for e in moved if e["reason"] == "EXCHANGE_OUT") == 800 + 70
    assert sum(e["delta"] for e in moved if e["reason"] == "EXCHANGE_IN") == 200 + 1000
    too_long = live_server.staff().execute(STATEMENTS, {"code": "skyway", "from": "2026-01-01", "to": "2026-06-01"})
    assert too_long["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert live_server.member("curious").execute(STATEMENTS, days)["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_staff_change_a_partners_terms(live_server):
    await add_partner(live_server)
    update = """mutation($input: UpdatePartnerInput!) { updatePartner(input: $input) {
      partner { code rate { points partnerPoints dailyPointsPerMember } fenPer100Points enabled keys { keyId } }
      userErrors { code field } } }"""
    staff = live_server.staff()
    changed = staff.data(update, {"input": {"code": "skyway", "rate": {"points": 5, "partnerPoints": 1},
                                            "dailyPointsPerMember": 800}})["updatePartner"]
    assert changed["partner"]["rate"] == {"points": 5, "partnerPoints": 1, "dailyPointsPerMember": 800}
    assert len(changed["partner"]["keys"]) == 1
    assert staff.data(update, {"input": {"code": "skyway", "confirmMinutes": 0}})["updatePartner"]["userErrors"] == [
        {"code": "INVALID_INPUT", "field": ["confirmMinutes"]}]
    assert staff.data(update, {"input": {"code": "ghost"}})["updatePartner"]["userErrors"][0]["code"] == "NOT_FOUND"
    staff.data(update, {"input": {"code": "skyway", "enabled": False}})
    assert live_server.anonymous().data("{ exchangeRates { partnerCode } }") == {"exchangeRates": []}
    member = funded(live_server, "flyer", 1000)
    assert exchange(member, 100, "x")["userErrors"][0]["code"] == "NOT_FOUND"
    assert live_server.member("m").execute(update, {"input": {"code": "skyway"}})["errors"][0]["extensions"][
        "code"] == "FORBIDDEN"


def test_staff_create_partners_and_rotate_keys(live_server):
    staff = live_server.staff()
    create = """mutation($code: String!) { createPartner(input: {code: $code, name: "铁路积分",
      rate: {points: 20, partnerPoints: 1}, dailyPoints: 5000}) {
      partner { code rate { points partnerPoints } dailyPoints keys { keyId } } keyId secret userErrors { code } } }"""
    made = staff.data(create, {"code": "railway"})["createPartner"]
    assert made["partner"]["rate"] == {"points": 20, "partnerPoints": 1} and made["partner"]["dailyPoints"] == 5000
    assert made["partner"]["keys"] == [{"keyId": made["keyId"]}] and made["secret"].startswith("sk_")
    assert staff.data(create, {"code": "railway"})["createPartner"]["userErrors"] == [{"code": "ALREADY_EXISTS"}]
    first = PartnerClient(live_server, made["keyId"], made["secret"])
    assert first.data("{ partnerExchanges(first: 1) { edges { node { id } } } }")
    issue = 'mutation { issuePartnerKey(input: {code: "railway"}) { keyId secret partner { keys { keyId } } } }'
    second = staff.data(issue)["issuePartnerKey"]
    assert len(second["partner"]["keys"]) == 2
    revoke = "mutation($id: String!) { revokePartnerKey(input: {keyId: $id}) { revoked userErrors { code } } }"
    assert staff.data(revoke, {"id": made["keyId"]})["revokePartnerKey"] == {"revoked": True, "userErrors": []}
    assert staff.data(revoke, {"id": made["keyId"]})["revokePartnerKey"]["userErrors"] == [{"code": "NOT_FOUND"}]
    assert first.post("{ exchangeRates { partnerCode } }").status_code == 401
    assert PartnerClient(live_server, second["keyId"], second["secret"]).post("{ exchangeRates { partnerCode } }"
                                                                              ).status_code == 200
    listed = staff.data("{ partners { code keys { keyId revokedAt } } }")["partners"]
    assert {k["keyId"]: k["revokedAt"] is None for k in listed[0]["keys"]} == {made["keyId"]: False,
                                                                                 second["keyId"]: True}
    actions = staff.data('{ auditLog(first: 5, action: "partner.") { edges { node { action } } } }')
    assert [e["node"]["action"] for e in actions["auditLog"]["edges"]] == [
        "partner.key.revoke", "partner.key.issue", "partner.create"]
    assert live_server.member("m").execute(issue)["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("text, expected", [("10:1", (10, 1)), ("0.1", (10, 1)), ("2", (1, 2)), ("3:7", (3, 7))])
def test_rates_parse_as_the_cli_takes_them(text, expected):
    rate = ExchangeRate.parse(text)
    assert (rate.points, rate.partner_points) == expected
