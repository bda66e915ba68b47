"""No N+1: the number of SQL statements behind the home query and the mall page does not grow with the page."""
import contextlib

from sqlalchemy import event

from persistence.direct_statements import POSTGRES_TRACES
from tests.documents import ADJUST, CHECK_IN
from tests.test_api_ledger import member_gid
from tests.test_api_flash_sales import new_sale
from tests.test_api_mall import create, funded, redeem

HOME = """query Home { me { nickname growth tier { level name earnMultiplier } checkIn { streak checkedInToday }
  points { available pending held lifetimeEarned }
  ledger(first: 10) { edges { node { id delta reason memo occurredAt } } pageInfo { hasNextPage endCursor } } } }"""
MALL = """query Mall($first: Int!) { mallItems(first: $first) { edges { node { id name kind pointsPrice cashPriceFen
  stock perMemberLimit minTierLevel onShelf category groupSize } } pageInfo { hasNextPage endCursor } } }"""
RUSH = """mutation($item: ID!, $key: String!) { redeem(input: {itemId: $item, idempotencyKey: $key}) {
  redemption { id } userErrors { code } } }"""
REDEEM_WITH_MEMBER = """mutation($item: ID!, $key: String!) { redeem(input: {itemId: $item, idempotencyKey: $key}) {
  member { points { available } } userErrors { code } } }"""


@contextlib.contextmanager
def counting(live_server):
    statements = []
    database = live_server.services.database
    engines = [e.sync_engine for e in (database.write_engine, database.read_engine)]
    # PostgreSQL's read engine is the write engine with other options: a listener on both counts twice.
    # The write engine comes first: listeners on it also hear the read engine made from it.
    engines = {id(e.pool): e for e in reversed(engines)}.values()
    # SQLite on the loop's thread runs some selects on the driver, past SQLAlchemy: SQLite itself reports.
    inlines = [inline for inline in (database.inline_reads, database.inline_writes) if inline is not None]

    def record(statement):
        # Rules (the tier table, the brand) are kept a second by design: what may grow is the rest.
        if statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")) or \
                "FROM settings" in statement:
            return
        if statements and statements[-1] == statement:
            return  # SQLite reports a statement again for each step of the triggers it fires
        statements.append(statement)

    def count(conn, cursor, statement, *args):
        record(statement)

    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    for inline in inlines:
        inline.trace(record)
    POSTGRES_TRACES.append(record)  # PostgreSQL runs some on asyncpg, past SQLAlchemy
    try:
        yield statements
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)
        for inline in inlines:
            inline.trace(None)
        POSTGRES_TRACES.remove(record)


def statements_for(live_server, client, query, variables=None):
    client.data(query, variables)  # warm: the member exists, caches are filled
    with counting(live_server) as statements:
        client.data(query, variables)
    return len(statements)


def test_the_home_query_runs_a_fixed_number_of_statements(live_server):
    member = funded(live_server, "home-owner", 100)
    member.data(CHECK_IN, {"key": "c"})
    few = statements_for(live_server, member, HOME)
    staff = live_server.staff()
    for i in range(30):  # a longer history: still one page of 10, still the same statements
        staff.data(ADJUST, {"memberId": member_gid("home-owner"), "delta": 1, "memo": "m", "key": f"more-{i}"})
    # the member (auth), one page of entries (with its next-page row), the check-in status
    assert statements_for(live_server, member, HOME) == few == 3, few


def test_the_mall_page_runs_a_fixed_number_of_statements_whatever_its_size(live_server):
    staff = live_server.staff()
    for i in range(40):
        create(staff, f"商品{i}", 100 + i, 10)
    anyone = live_server.anonymous()
    small = statements_for(live_server, anyone, MALL, {"first": 5})
    large = statements_for(live_server, anyone, MALL, {"first": 40})
    assert small == large == 1, small  # one SELECT of the page, DataLoaders or not


def test_a_sold_out_flash_sale_attempt_never_reads_the_member(live_server):
    sale = new_sale(live_server, 1)
    winner, late = funded(live_server, "quick", 10), funded(live_server, "slow", 10)
    assert redeem(winner, sale, "win")["userErrors"] == []
    late.data(HOME)  # the member is known to the server, as anyone who opened the page
    with counting(live_server) as statements:
        refused = late.data(RUSH, {"item": sale, "key": "too-late"})["redeem"]
    assert refused == {"redemption": None, "userErrors": [{"code": "SOLD_OUT"}]}
    # Without a gate in Redis, PostgreSQL reads the sale; everywhere, the key (a replay gets its answer).
    assert 1 <= len(statements) <= 2 and not any("FROM members" in s for s in statements), statements
    with counting(live_server) as statements:
        member_asked = late.data(REDEEM_WITH_MEMBER, {"item": sale, "key": "again"})["redeem"]
    assert member_asked["userErrors"][0]["code"] == "SOLD_OUT"
    assert member_asked["member"]["points"]["available"] == 10
    assert sum("FROM members" in s for s in statements) == 1, statements  # read once, for the payload


BARE_CHECK_IN = """mutation($key: String!) {
  checkIn(input: {idempotencyKey: $key}) { entry { delta } userErrors { code } } }"""


def test_a_check_in_and_a_redeem_run_a_fixed_number_of_statements(live_server):
    """What a change of points costs the database, pinned: on PostgreSQL each statement is a round trip,
    and the writes nothing waits for go out with the next write or before the commit."""
    postgres = live_server.database_url.startswith("postgresql")
    live_server.member("warm").data(BARE_CHECK_IN, {"key": "w"})  # rules and campaigns read once
    member = live_server.member("counted")
    member.data(HOME)  # signed in, as a member who opened the page
    with counting(live_server) as statements:
        assert member.data(BARE_CHECK_IN, {"key": "c"})["checkIn"]["userErrors"] == []
    # the member lock, its lots, the key, the last check-in (and on PostgreSQL the running campaigns);
    # then on PostgreSQL the check-in day with the badge, the scores with the entry, then lots, account
    # and key, then the day summaries; on SQLite each of the nine alone (no round trips), and the
    # shared transaction's check
    assert len(statements) == (8 if postgres else 14), statements
    item = create(live_server.staff(), "保温杯", 5, 10)
    member.data(RUSH, {"item": item, "key": "warm-item"})  # the item read once, as its page would
    with counting(live_server) as statements:
        assert member.data(RUSH, {"item": item, "key": "r"})["redeem"]["userErrors"] == []
    # the member (checked before the transaction), its lock, lots and key, the item's lock; then on
    # PostgreSQL its stock with the redemption, the badge, the entry, then lots, account and key
    # together with the day's flows and the item's figures (on SQLite each alone); the payload's read
    assert len(statements) == (9 if postgres else 16), statements
