"""Input a careless or hostile client sends: never a 500, never a partial write, on both databases."""
import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from api.services import Services
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


def test_nul_and_control_characters_are_user_errors(live_server):
    member = signed_up(live_server, "nul")
    result = member.data(CHECK_IN, {"key": "a\x00b"})["checkIn"]
    assert result["userErrors"][0]["field"] == ["idempotencyKey"]
    staff = live_server.staff()
    adjusted = staff.data(ADJUST, {"memberId": member_gid("nul"), "delta": 5, "memo": "bad\x00memo", "key": "k"})
    assert adjusted["adjustPoints"]["userErrors"][0]["field"] == ["memo"]
    body = staff.execute("query($id: ID!) { member(id: $id) { id } }", {"id": member_gid("a\x00b")})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    task = member.data('mutation { completeTask(input: {taskCode: "x\\u0000", idempotencyKey: "t"}) '
                       '{ userErrors { code } } }')
    assert task["completeTask"]["userErrors"] == [{"code": "NOT_FOUND"}]
    assert member.data(ME, {"first": 5})["me"]["points"]["available"] == 0


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
