"""The ledger change feed over real HTTP on both databases: an integration token with the
ledger:read scope reads every entry once, page by page, while writers write at the same time; on
PostgreSQL an entry whose transaction commits after later ones is never skipped; and the token
reaches the feed, not the staff console."""
import asyncio

import asyncpg
import httpx

from api.http.auth import issue_token
from tests.conftest import SECRET, GraphQLClient
from tests.documents import ADJUST
from tests.test_api_ledger import member_gid
from tests.test_api_mall import funded

FEED = """query($after: String, $first: Int!) { ledgerChanges(after: $after, first: $first) {
  edges { cursor node { memberId brandMemberId entry { id delta balanceAfter reason memo createdBy } } }
  pageInfo { endCursor hasNextPage } } }"""


def integration(live_server, scopes="ledger:read") -> GraphQLClient:
    return GraphQLClient(live_server.base_url, issue_token(SECRET, "crm", role="integration", scopes=scopes))


def read_all(client, after=None, first=3) -> tuple[list[dict], str]:
    seen = []
    while True:
        page = client.data(FEED, {"after": after, "first": first})["ledgerChanges"]
        seen += [edge["node"] for edge in page["edges"]]
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            return seen, after


def test_an_integration_reads_every_entry_once_page_by_page(live_server):
    funded(live_server, "fed-a", 100)
    funded(live_server, "fed-b", 200)
    crm = integration(live_server)
    seen, cursor = read_all(crm)
    assert [(n["brandMemberId"], n["entry"]["delta"], n["entry"]["reason"]) for n in seen] == [
        ("fed-a", 100, "ADJUSTMENT"), ("fed-b", 200, "ADJUSTMENT")]
    assert seen[0]["memberId"] == member_gid("fed-a") and seen[0]["entry"]["createdBy"] is None
    nothing = crm.data(FEED, {"after": cursor, "first": 10})["ledgerChanges"]
    assert nothing["edges"] == [] and nothing["pageInfo"]["endCursor"] == cursor  # poll again from here
    live_server.staff().data(ADJUST, {"memberId": member_gid("fed-a"), "delta": -30, "memo": "m", "key": "k2"})
    later, _ = read_all(crm, cursor)
    assert [(n["brandMemberId"], n["entry"]["delta"]) for n in later] == [("fed-a", -30)]
    assert [n["entry"]["id"] for n in read_all(live_server.staff(), first=100)[0]] == [
        n["entry"]["id"] for n in seen + later]  # staff may read it too


def test_the_feed_is_for_integrations_with_the_scope_and_they_reach_nothing_else(live_server):
    funded(live_server, "guarded", 10)
    for caller in (live_server.member("guarded"), live_server.store("S1"), integration(live_server, None)):
        assert caller.execute(FEED, {"first": 5})["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert live_server.anonymous().execute(FEED, {"first": 5})["errors"][0]["extensions"]["code"] == \
        "UNAUTHENTICATED"
    unknown_scope = integration(live_server, "ledger:read ledger:write").post(FEED, {"first": 5})
    assert unknown_scope.status_code == 401
    crm = integration(live_server)
    refused = [crm.execute(ADJUST, {"memberId": member_gid("guarded"), "delta": 5, "memo": "m", "key": "k"}),
               crm.execute("query($id: ID!) { member(id: $id) { id } }", {"id": member_gid("guarded")}),
               crm.execute('{ analytics(from: "2026-01-01", to: "2026-01-02") { earned } }')]
    assert [r["errors"][0]["extensions"]["code"] for r in refused] == ["FORBIDDEN"] * 3
    assert crm.data("{ me { id } }")["me"] is None
    for bad in ("nonsense", "ZmVlZDE6LTE6Mw==", ""):
        assert crm.execute(FEED, {"after": bad, "first": 5})["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    for first in (0, 101):
        assert crm.execute(FEED, {"first": first})["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_readers_polling_while_writers_write_see_every_entry_exactly_once(live_server):
    members = [f"busy-{n}" for n in range(6)]
    for member_id in members:
        live_server.member(member_id).data("{ me { id } }")
    staff, crm = live_server.staff(), integration(live_server)

    async def scenario():
        seen, cursor, writing = [], None, True
        async with httpx.AsyncClient() as http:
            async def write(member_id):
                for n in range(15):
                    await staff.execute_async(http, ADJUST, {"memberId": member_gid(member_id), "delta": n + 1,
                                                             "memo": "m", "key": f"{member_id}-{n}"})

            async def read():
                nonlocal cursor
                while True:
                    done = not writing
                    page = (await crm.execute_async(http, FEED, {"after": cursor, "first": 7}))["data"]["ledgerChanges"]
                    seen.extend(edge["node"]["entry"]["id"] for edge in page["edges"])
                    cursor = page["pageInfo"]["endCursor"]
                    if done and not page["pageInfo"]["hasNextPage"]:
                        return

            reader = asyncio.create_task(read())
            await asyncio.gather(*(write(m) for m in members))
            writing = False
            await reader
        return seen

    seen = asyncio.run(scenario())
    assert len(seen) == len(set(seen)) == len(members) * 15


def test_an_entry_committed_after_later_ones_is_not_skipped(live_server):
    """PostgreSQL hands out entry ids as rows are written: a transaction holding entry n open while
    entry n+1 commits must hold the feed back, not be jumped over."""
    if not live_server.database_url.startswith("postgresql"):
        return  # SQLite writes one transaction at a time: its ids are in commit order
    funded(live_server, "early-writer", 50)
    funded(live_server, "late-writer", 50)
    crm = integration(live_server)
    _, cursor = read_all(crm)
    internal_id = asyncio.run(_internal_id(live_server, "early-writer"))

    async def scenario():
        held = await asyncpg.connect(live_server.database_url)
        try:
            transaction = held.transaction()
            await transaction.start()
            early = await held.fetchval(
                "INSERT INTO ledger_entries (member_id, delta, balance_after, reason, occurred_at, actor) "
                "VALUES ($1, 1, 51, 'ADJUSTMENT', now(), 'test:held') RETURNING id", internal_id)
            later = live_server.staff().data(ADJUST, {"memberId": member_gid("late-writer"), "delta": 7, "memo": "m",
                                                      "key": "after-held"})["adjustPoints"]["entry"]["id"]
            held_back = crm.data(FEED, {"after": cursor, "first": 10})["ledgerChanges"]
            await transaction.commit()
            return early, later, held_back
        finally:
            await held.close()

    early, later, held_back = asyncio.run(scenario())
    assert held_back["edges"] == [] and held_back["pageInfo"]["endCursor"] == cursor
    seen, _ = read_all(crm, cursor)
    assert [n["entry"]["id"] for n in seen] == [_gid(early), later]


def _gid(entry_id: int) -> str:
    from api.graphql.relay import to_global_id
    return to_global_id("LedgerEntry", entry_id)


async def _internal_id(live_server, external_id: str) -> int:
    from tests.conftest import with_services
    return await with_services(live_server, lambda s: _find(s, external_id))


async def _find(services, external_id):
    return (await services.members.find(external_id)).id
