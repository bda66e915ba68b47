"""Input a careless or hostile client sends: never a 500, never a partial write, on both databases."""
import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from api.ops.services import Services
from domain.configuration import Actor
from tests.conftest import SECRET
from tests.documents import ADJUST, CHECK_IN, ME, UPDATE_TIER
from tests.test_api_ledger import member_gid, signed_up


def token(claims):
    return jwt.encode({"exp": 4102444800, **claims}, SECRET, algorithm="HS256")


@pytest.mark.parametrize("claims", [{"sub": "bad id!"}, {"sub": "x" * 65}, {"sub": ""}, {"sub": 42},
                                    {"sub": "ops", "role": "admin"}, {"sub": "s" * 200, "role": "staff"}])
def test_tokens_with_bad_subjects_or_roles_are_unauthenticated(live_server, claims):
    response = httpx.post(f"{live_server.base_url}/graphql", json={"query": "{ me { id } }"},
                          headers={"Authorization": f"Bearer {token(claims)}"})
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_an_expired_token_is_refused_even_after_it_worked(live_server):
    import time
    soon = jwt.encode({"sub": "short-lived", "exp": int(time.time()) + 2}, SECRET, algorithm="HS256")
    post = lambda tok: httpx.post(f"{live_server.base_url}/graphql", json={"query": "{ me { id } }"},  # noqa: E731
                                  headers={"Authorization": f"Bearer {tok}"})
    assert post(soon).status_code == 200
    time.sleep(2.1)
    expired = post(soon)
    assert expired.status_code == 401 and "expired" in expired.json()["errors"][0]["message"]
    stale = jwt.encode({"sub": "late", "exp": int(time.time()) - 1}, SECRET, algorithm="HS256")
    assert post(stale).status_code == 401


def test_control_characters_in_a_nickname_are_dropped(live_server):
    client = live_server.member()
    client.token = token({"sub": "nul-nick", "nickname": "小\x00鹿\x07"})
    assert client.data("{ me { nickname } }")["me"]["nickname"] == "小鹿"


def unstorable(body: dict) -> bool:
    return body["data"] is None and [e["extensions"] for e in body["errors"]] == [
        {"code": "BAD_USER_INPUT", "reason": "UNSTORABLE_TEXT"}]


def test_text_no_database_can_store_is_refused_before_anything_runs(live_server):
    member = signed_up(live_server, "nul")
    staff = live_server.staff()
    assert unstorable(member.execute(CHECK_IN, {"key": "a\x00b"}))
    assert unstorable(staff.execute(ADJUST, {"memberId": member_gid("nul"), "delta": 5, "memo": "bad\x00memo",
                                             "key": "k"}))
    hidden = staff.execute("query($id: ID!) { member(id: $id) { id } }", {"id": member_gid("a\x00b")})  # in base64
    assert hidden["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert unstorable(member.execute('mutation { completeTask(input: {taskCode: "x\\u0000", idempotencyKey: "t"}) '
                                     '{ userErrors { code } } }'))
    catalogue = "query($c: String) { mallItems(first: 5, category: $c) { edges { node { id } } } }"
    assert unstorable(member.execute(catalogue, {"c": "a\x00b"}))
    for category in ("a\ud800b", "\udfff"):  # JSON can spell a lone surrogate; the body is refused whole
        body = json.dumps({"query": catalogue, "variables": {"c": category}})  # ASCII, the surrogate escaped
        response = httpx.post(f"{live_server.base_url}/graphql", content=body, headers={
            **member.headers(), "Content-Type": "application/json"})
        assert response.status_code == 400 and response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    partner = 'mutation($p: String!) { exchangePoints(input: {partnerCode: $p, direction: OUT, points: 10, ' \
              'idempotencyKey: "x"}) { userErrors { code } } }'
    assert unstorable(member.execute(partner, {"p": "sky\x00way"}))
    assert unstorable(staff.execute('query($p: String) { settlementStatements(partnerCode: $p, from: "2026-03-01", '
                                    'to: "2026-03-02") { day } }', {"p": "sky\x00way"}))
    nested = staff.execute('mutation($prizes: [PrizeInput!]!) { createLottery(input: {name: "x", entryCost: 1, '
                           'prizes: $prizes}) { userErrors { code } } }',
                           {"prizes": [{"name": "n\x00", "kind": "NOTHING", "weight": 1, "fallback": True}]})
    assert unstorable(nested)
    assert member.data(ME, {"first": 5})["me"]["points"]["available"] == 0
    # Control characters a database can store stay the rules' to judge: a memo refuses them itself.
    adjusted = staff.data(ADJUST, {"memberId": member_gid("nul"), "delta": 5, "memo": "bad\x07memo", "key": "k2"})
    assert adjusted["adjustPoints"]["userErrors"][0]["field"] == ["memo"]


def test_absurd_staff_settings_are_user_errors(live_server):
    staff = live_server.staff()
    tier = staff.execute(UPDATE_TIER.replace("$multiplier: Float!", "$multiplier: Float!"),
                         {"level": 2, "name": "x", "threshold": 10, "multiplier": 1e308})
    assert tier["data"]["updateTier"]["userErrors"][0]["field"] == ["earnMultiplier"]
    brand = staff.data('mutation($tz: String!) { updateBrandSettings(input: {name: "b", timezone: $tz, '
                       'pointsExpiryMonths: 12}) { userErrors { field } } }', {"tz": "a" * 5000})
    assert brand["updateBrandSettings"]["userErrors"] == [{"field": ["timezone"]}]


def test_moving_the_brand_to_a_zone_behind_does_not_allow_a_second_check_in(live_server):
    live_server.clock.set(datetime(2026, 3, 12, 17, 30, tzinfo=UTC))  # 01:30 on the 13th in Shanghai
    member = live_server.member()
    assert member.data(CHECK_IN, {"key": "sh"})["checkIn"]["userErrors"] == []
    live_server.staff().data('mutation { updateBrandSettings(input: {name: "b", timezone: "America/Los_Angeles", '
                             'pointsExpiryMonths: 12}) { userErrors { code } } }')
    again = member.data(CHECK_IN, {"key": "la"})["checkIn"]  # still the 12th in Los Angeles
    assert [e["code"] for e in again["userErrors"]] == ["ALREADY_CHECKED_IN"]


def test_changing_a_threshold_moves_members_at_once(live_server):
    member = live_server.member()
    member.data(CHECK_IN, {"key": "c"})  # growth 10, V1
    live_server.staff().data(UPDATE_TIER, {"level": 2, "name": "常客", "threshold": 5, "multiplier": 1.1})
    me = member.data("{ me { tier { level } tierChanges { fromLevel toLevel growth } } }")["me"]
    assert me == {"tier": {"level": 2}, "tierChanges": [{"fromLevel": 1, "toLevel": 2, "growth": 10}]}


async def test_reconciliation_is_consistent_while_points_move(services):
    member = await services.members.ensure("busy")
    staff = Actor("staff", "ops")

    async def writes():
        for i in range(40):
            await services.points.adjust(staff, member.id, 1, "m", f"w{i}")

    async def audits():
        reports = []
        for _ in range(40):
            reports.append(await services.reconciliation.run())
            await asyncio.sleep(0)
        return reports

    _, reports = await asyncio.gather(writes(), audits())
    assert all(report.ok for report in reports), [r.problems for r in reports if not r.ok]


async def test_concurrent_first_requests_store_one_member_row(live_server):
    member = live_server.member("newcomer-rows")
    async with httpx.AsyncClient() as http:
        await asyncio.gather(*(member.execute_async(http, "{ me { id } }") for _ in range(30)))
    services = Services.build(live_server.database_url, live_server.clock)
    try:
        async with services.database.read_engine.connect() as connection:
            rows = await connection.exec_driver_sql(
                "SELECT count(*) FROM members WHERE external_id = 'newcomer-rows'")
            assert rows.scalar_one() == 1
    finally:
        await services.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite has no server to drop them
def test_connections_the_database_dropped_are_replaced_without_an_error(live_server):
    """The pool does not ping before each transaction: a dead connection is found on use and retried."""
    from tests.conftest import _admin, run_blocking

    member = signed_up(live_server, "reconnect")
    member.data(CHECK_IN, {"key": "before"})
    name = live_server.database_url.rsplit("/", 1)[1]
    run_blocking(lambda: _admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
    assert member.data("{ me { points { available } } }")["me"]["points"]["available"] == 10
    live_server.clock.advance(timedelta(days=1))
    assert member.data(CHECK_IN, {"key": "after"})["checkIn"]["userErrors"] == []


def nested(depth: int, kind: str):
    value = "x"
    for _ in range(depth):
        value = [value] if kind == "list" else {"a": value}
    return value


@pytest.mark.parametrize("kind", ["list", "object"])
def test_variables_nested_hundreds_deep_are_one_coded_refusal_and_no_traceback(live_server, caplog, kind):
    member = live_server.member()
    document = ("mutation($ids: [ID!]!) { markNotificationsRead(input: {ids: $ids}) { marked } }" if kind == "list"
                else "mutation($x: [PrizeInput!]!) { createLottery(input: {name: \"n\", entryCost: 1, prizes: $x}) "
                     "{ userErrors { code } } }")
    with caplog.at_level("INFO"):
        for depth in (300, 900):
            response = member.post(document, {("ids" if kind == "list" else "x"): nested(depth, kind)})
            assert response.status_code == 200, response.text
            assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["INPUT_TOO_DEEP"]
    assert [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info] == []


@pytest.mark.parametrize("persisted", ["abc", 5, [1, 2], True])
def test_a_persisted_query_that_is_not_an_object_is_a_coded_refusal(live_server, persisted):
    url = f"{live_server.base_url}/graphql"
    for body in ({"query": "{ tiers { code } }", "extensions": {"persistedQuery": persisted}},
                 {"extensions": {"persistedQuery": persisted}}):
        response = httpx.post(url, json=body)
        assert response.status_code == 200 and response.headers["content-type"] == "application/json"
        assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_INVALID"
    over_get = httpx.get(url, params={"query": "{ tiers { code } }", "extensions": json.dumps({"persistedQuery":
                                                                                                persisted})})
    assert over_get.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_INVALID"


def test_a_persisted_query_miss_answers_in_the_media_type_the_client_prefers(live_server):
    body = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "a" * 64}}}
    url = f"{live_server.base_url}/graphql"
    legacy = httpx.post(url, json=body, headers={"Accept": "application/json"})
    assert (legacy.status_code, legacy.headers["content-type"]) == (200, "application/json")
    modern = httpx.post(url, json=body, headers={"Accept": "application/graphql-response+json, application/json;q=0.9"})
    assert modern.status_code == 400 and modern.headers["content-type"].startswith("application/graphql-response+json")
    for answer in (legacy, modern):
        assert answer.json() == {"errors": [{"message": "PersistedQueryNotFound",
                                             "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]}


def test_tokens_with_odd_but_signed_claims(live_server):
    as_text = httpx.post(f"{live_server.base_url}/graphql", json={"query": "{ me { id } }"},
                         headers={"Authorization": f"Bearer {token({'sub': 'texty', 'exp': '4102444800'})}"})
    assert as_text.status_code == 401 and as_text.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    client = live_server.member()
    client.token = token({"sub": "surrogate-nick", "nickname": "小\ud800鹿\udfff"})
    assert client.data("{ me { nickname } }")["me"]["nickname"] == "小鹿"


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1899-12-31", "3000-01-01"])
def test_days_outside_the_calendar_are_coded_refusals(live_server, day):
    staff = live_server.staff()
    literal = staff.execute(f'{{ analytics(from: "{day}", to: "{day}") {{ earned }} }}')
    assert {e["extensions"]["code"] for e in literal["errors"]} == {"GRAPHQL_VALIDATION_FAILED"}
    for document in ("query($d: Date!) { analytics(from: $d, to: $d) { earned } }",
                     'query($d: Date!) { settlementStatements(partnerCode: "skyway", from: $d, to: $d) { day } }'):
        body = staff.execute(document, {"d": day})
        assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
    naive = staff.execute('mutation { createLottery(input: {name: "n", entryCost: 1, startsAt: "2026-03-12T10:00:00", '
                          'prizes: [{name: "n", kind: NOTHING, weight: 1, fallback: true}]}) { userErrors { code } } }')
    assert "UTC offset" in naive["errors"][0]["message"]


def test_the_calendar_s_own_edges_answer(live_server):
    staff = live_server.staff()
    for first, last in (("1900-01-01", "1900-01-03"), ("2999-12-29", "2999-12-31")):
        assert staff.data("query($a: Date!, $b: Date!) { analytics(from: $a, to: $b) { earned days { day } } }",
                          {"a": first, "b": last})["analytics"]["days"][-1]["day"] == last


def test_every_error_carries_a_stable_code(live_server):
    url = f"{live_server.base_url}/graphql"
    member = live_server.member()
    cases = {
        "GRAPHQL_PARSE_FAILED": {"query": "{ me { "},
        "GRAPHQL_VALIDATION_FAILED": {"query": "{ nope }"},
        "BAD_USER_INPUT": {"query": "query($n: Int!) { mallItems(first: $n) { edges { cursor } } }",
                           "variables": {"n": "ten"}},
        "BAD_REQUEST": {"query": "query A { me { id } }", "operationName": "B"},
        "LIMIT_EXCEEDED": {"query": "{ me { " + " ".join(f"a{i}: id" for i in range(40)) + " } }"},
    }
    for code, body in cases.items():
        for accept in ("application/json", "application/graphql-response+json"):
            response = httpx.post(url, json=body, headers={**member.headers(), "Accept": accept})
            assert [e["extensions"]["code"] for e in response.json()["errors"]] == [code], (code, response.text)
    tokens = "{ " + " ".join(f"a{i}: __typename" for i in range(2100)) + " }"
    assert [e["extensions"]["code"] for e in httpx.post(url, json={"query": tokens}).json()["errors"]] == [
        "LIMIT_EXCEEDED"]
    for accept, media in (("application/json", "application/json"),
                          ("application/graphql-response+json", "application/graphql-response+json; charset=utf-8")):
        refused = httpx.post(url, json={"query": "{ me { id } }"}, headers={"Authorization": "Bearer nope",
                                                                            "Accept": accept})
        assert (refused.status_code, refused.headers["content-type"]) == (401, media)
        assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    for response in (httpx.post(url, json={"variables": {}}), httpx.post(url, json=[{"query": "{ me { id } }"}]),
                     httpx.post(url, content=b"{not json", headers={"Content-Type": "application/json"}),
                     httpx.get(url, params={"query": 'mutation { checkIn(input: {idempotencyKey: "g"}) '
                                                     '{ userErrors { code } } }'})):
        assert response.status_code in (400, 405), response.text
        assert response.json()["errors"][0]["extensions"]["code"] in ("BAD_REQUEST", "METHOD_NOT_ALLOWED")
