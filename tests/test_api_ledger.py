"""Ledger reads, staff adjustments, auth and bad input through GraphQL over real HTTP."""
import base64

import httpx
import pytest

from tests.documents import ADJUST, CHECK_IN, ME


def member_gid(member_id: str) -> str:
    return base64.b64encode(f"Member:{member_id}".encode()).decode()


def grant(staff, member_id, delta, key, memo="goodwill"):
    return staff.data(ADJUST, {"memberId": member_gid(member_id), "delta": delta, "memo": memo,
                               "key": key})["adjustPoints"]


def signed_up(live_server, member_id):
    client = live_server.member(member_id)
    client.data("{ me { id } }")
    return client


def test_staff_adjustments_are_audited_and_never_overdraw(live_server):
    member = signed_up(live_server, "u-adjust")
    staff = live_server.staff("zhang-ops")
    granted = grant(staff, "u-adjust", 300, "g1", "客诉补偿")
    assert granted["userErrors"] == []
    assert granted["entry"] == {"id": granted["entry"]["id"], "delta": 300, "balanceAfter": 300,
                                "reason": "ADJUSTMENT", "memo": "客诉补偿", "createdBy": "staff:zhang-ops"}
    taken = grant(staff, "u-adjust", -120, "t1")
    assert taken["entry"]["balanceAfter"] == 180 and taken["member"]["points"]["available"] == 180
    too_much = grant(staff, "u-adjust", -181, "t2")
    assert too_much["entry"] is None
    assert too_much["userErrors"] == [{"field": ["delta"], "message": too_much["userErrors"][0]["message"],
                                       "code": "INSUFFICIENT_POINTS"}]
    # Members see their entries but not which staff member wrote them.
    entries = member.data(ME, {"first": 10})["me"]["ledger"]["edges"]
    assert [e["node"]["delta"] for e in entries] == [-120, 300]
    assert member.data("{ me { ledger(first: 1) { edges { node { createdBy } } } } }")[
        "me"]["ledger"]["edges"][0]["node"]["createdBy"] is None


def test_same_key_with_another_input_is_refused(live_server):
    signed_up(live_server, "u-reuse")
    staff = live_server.staff()
    grant(staff, "u-reuse", 10, "k")
    reused = grant(staff, "u-reuse", 11, "k")
    assert [e["code"] for e in reused["userErrors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    assert reused["member"] is None or reused["member"]["points"]["available"] == 10


def test_keys_are_scoped_to_the_caller(live_server):
    signed_up(live_server, "u-scope")
    first = grant(live_server.staff("a"), "u-scope", 10, "shared-key")
    second = grant(live_server.staff("b"), "u-scope", 10, "shared-key")
    assert first["entry"]["id"] != second["entry"]["id"]
    assert second["member"]["points"]["available"] == 20


def test_ledger_pages_with_cursors_and_filters_by_reason(live_server):
    member = signed_up(live_server, "u-pages")
    staff = live_server.staff()
    for i in range(1, 8):
        grant(staff, "u-pages", i, f"k{i}")
    member.data(CHECK_IN, {"key": "c"})
    page1 = member.data(ME, {"first": 3})["me"]["ledger"]
    assert [e["node"]["delta"] for e in page1["edges"]] == [10, 7, 6]
    assert page1["pageInfo"]["hasNextPage"] and not page1["pageInfo"]["hasPreviousPage"]
    page2 = member.data(ME, {"first": 3, "after": page1["pageInfo"]["endCursor"]})["me"]["ledger"]
    assert [e["node"]["delta"] for e in page2["edges"]] == [5, 4, 3]
    page3 = member.data(ME, {"first": 3, "after": page2["pageInfo"]["endCursor"]})["me"]["ledger"]
    assert [e["node"]["delta"] for e in page3["edges"]] == [2, 1]
    assert not page3["pageInfo"]["hasNextPage"] and page3["pageInfo"]["hasPreviousPage"]
    only = member.data(ME, {"first": 10, "reasons": ["CHECK_IN"]})["me"]["ledger"]["edges"]
    assert [e["node"]["reason"] for e in only] == ["CHECK_IN"]


def test_member_sees_only_their_own_data(live_server):
    alice = signed_up(live_server, "u-alice")
    signed_up(live_server, "u-bob")
    own = alice.data("query($id: ID!) { member(id: $id) { memberId } }", {"id": member_gid("u-alice")})
    assert own["member"]["memberId"] == "u-alice"
    for query in ("query($id: ID!) { member(id: $id) { memberId } }",
                  "query($id: ID!) { node(id: $id) { id } }"):
        body = alice.execute(query, {"id": member_gid("u-bob")})
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    staff_view = live_server.staff().data("query($id: ID!) { member(id: $id) { memberId } }",
                                          {"id": member_gid("u-bob")})
    assert staff_view["member"]["memberId"] == "u-bob"
    # An entry of Bob's cannot be fetched by Alice through node(id:) either.
    bob_entry = grant(live_server.staff(), "u-bob", 5, "bob")["entry"]["id"]
    body = alice.execute("query($id: ID!) { node(id: $id) { id } }", {"id": bob_entry})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_members_cannot_call_staff_mutations_and_anonymous_cannot_check_in(live_server):
    member = signed_up(live_server, "u-plain")
    body = member.execute(ADJUST, {"memberId": member_gid("u-plain"), "delta": 100, "memo": "me", "key": "x"})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = live_server.anonymous().execute(CHECK_IN, {"key": "x"})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert live_server.anonymous().data("{ me { id } }") == {"me": None}


@pytest.mark.parametrize("header", ["Bearer not-a-jwt", "Basic abc", "Bearer",
                                    "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"])
def test_bad_tokens_are_unauthenticated(live_server, header):
    response = httpx.post(f"{live_server.base_url}/graphql", json={"query": "{ me { id } }"},
                          headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_token_signed_with_another_secret_is_refused(live_server):
    from api.http.auth import issue_token
    forged = issue_token("another-secret-" + "y" * 40, "u-victim", role="staff")
    response = httpx.post(f"{live_server.base_url}/graphql", json={"query": "{ me { id } }"},
                          headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


@pytest.mark.parametrize("key", ["", "k" * 129, " padded "])
def test_bad_idempotency_keys_are_user_errors(live_server, key):
    member = live_server.member()
    result = member.data(CHECK_IN, {"key": key})["checkIn"]
    assert result["entry"] is None
    assert result["userErrors"][0]["code"] == "INVALID_INPUT"
    assert result["userErrors"][0]["field"] == ["idempotencyKey"]
    assert member.data(ME, {"first": 1})["me"]["points"]["available"] == 0


@pytest.mark.parametrize("variables, field", [
    ({"delta": 0, "memo": "m"}, "delta"),
    ({"delta": 10**9, "memo": "m"}, "delta"),
    ({"delta": 10, "memo": "   "}, "memo"),
    ({"delta": 10, "memo": "m" * 501}, "memo"),
])
def test_bad_adjustments_are_user_errors_and_write_nothing(live_server, variables, field):
    signed_up(live_server, "u-bad")
    staff = live_server.staff()
    result = staff.data(ADJUST, {"memberId": member_gid("u-bad"), "key": "k", **variables})["adjustPoints"]
    assert result["entry"] is None and result["userErrors"][0]["field"] == [field]
    assert grant(staff, "u-bad", 1, "k")["entry"]["balanceAfter"] == 1  # the key was not spent


@pytest.mark.parametrize("member_id", ["bm90LWJhc2U2NA==", "!!!", member_gid("nobody"),
                                       base64.b64encode(b"LedgerEntry:1").decode()])
def test_unknown_or_malformed_member_ids_are_user_errors(live_server, member_id):
    result = live_server.staff().data(ADJUST, {"memberId": member_id, "delta": 5, "memo": "m", "key": "k"})
    assert result["adjustPoints"]["userErrors"][0]["field"] == ["memberId"]


@pytest.mark.parametrize("query", [
    "{ me { ledger(first: 0) { edges { cursor } } } }",
    "{ me { ledger(first: 101) { edges { cursor } } } }",
    '{ me { ledger(first: 5, after: "garbage") { edges { cursor } } } }',
    '{ node(id: "%%%") { id } }',
    '{ member(id: "TWVtYmVy") { id } }',
])
def test_malformed_query_arguments_are_clear_errors(live_server, query):
    body = live_server.member().execute(query)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_health_graphiql_and_introspection_in_dev(live_server):
    assert httpx.get(f"{live_server.base_url}/healthz").json() == {"status": "ok"}
    page = httpx.get(f"{live_server.base_url}/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    assert live_server.anonymous().data("{ __schema { queryType { name } } }")


def test_public_catalogue_of_rules(live_server):
    data = live_server.anonymous().data("{ tiers { code growthThreshold } checkInRule { basePoints } brand { timezone } }")
    assert [t["code"] for t in data["tiers"]] == ["V1", "V2", "V3", "V4", "V5", "V6"]
    assert data["checkInRule"]["basePoints"] == 10 and data["brand"]["timezone"] == "Asia/Shanghai"


async def test_internal_errors_are_masked_and_logged_with_a_request_id(live_server, caplog):
    from persistence.database import Database
    database = Database.connect(live_server.database_url)
    try:
        async with database.write_engine.begin() as connection:
            await connection.exec_driver_sql("ALTER TABLE settings RENAME TO settings_gone")
    finally:
        await database.dispose()
    body = live_server.anonymous().execute("{ tiers { code } }")
    error = body["errors"][0]
    assert error["message"] == "Internal server error"
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "settings" not in str(body)  # no SQL, table names or tracebacks leak
    request_id = error["extensions"]["requestId"]
    assert any(request_id in record.getMessage() and record.exc_info for record in caplog.records)
