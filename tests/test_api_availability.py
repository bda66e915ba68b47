"""What one client can take from everyone else: feeds, sockets and budgets per address, and fan-out.

The server here trusts 127.0.0.1 as its reverse proxy, so each test client names its address in
`X-Forwarded-For`, as visitors behind a proxy are named.
"""
from __future__ import annotations

import asyncio
import contextlib
import json

import httpx
import pytest
import websockets

from api.http.app import MAX_BODY_BYTES, create_app
from api.ops.config import Settings
from api.http.client_address import forwarded_client, parse_networks
from api.adapters.realtime import ACTIVITY_CHANNEL
from api.ops.services import Services
from tests.conftest import SECRET, LiveServer, start_server, stop_server
from tests.documents import CHECK_IN
from tests.graphql_ws import PROTOCOL, connected, ws_url

FEED = "subscription { activityFeed { memberName } }"
FEEDS, SOCKETS = 3, 5


@pytest.fixture
def proxied_server(database_url, clock):
    settings = Settings(database_url=database_url, secret=SECRET, env="dev", sweep_seconds=0,
                        trusted_proxies=parse_networks("127.0.0.1"), sockets_per_address=SOCKETS,
                        anonymous_feeds_per_address=FEEDS, cost_budget_per_minute=1000)
    services = Services.build(database_url, clock)
    server, thread, base_url = start_server(create_app(settings, clock=clock, services=services))
    yield LiveServer(base_url, clock, database_url, services)
    stop_server(server, thread)


def from_address(address: str) -> dict:
    return {"additional_headers": {"X-Forwarded-For": address}}


async def first_message(subscriber) -> dict:
    return await subscriber.next(timeout=3)


async def test_anonymous_feeds_are_capped_per_address_and_members_are_not(proxied_server):
    async with contextlib.AsyncExitStack() as stack:
        feeds = []
        for _ in range(FEEDS):
            feed = await stack.enter_async_context(connected(proxied_server.base_url, **from_address("198.51.100.7")))
            await feed.subscribe(FEED)
            feeds.append(feed)
        extra = await stack.enter_async_context(connected(proxied_server.base_url, **from_address("198.51.100.7")))
        await extra.subscribe(FEED)
        refused = await first_message(extra)
        assert refused["type"] in ("error", "next"), refused
        errors = refused["payload"] if refused["type"] == "error" else refused["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "LIMIT_EXCEEDED"
        neighbour = await stack.enter_async_context(connected(proxied_server.base_url, **from_address("198.51.100.8")))
        await neighbour.subscribe(FEED)
        member = await stack.enter_async_context(connected(
            proxied_server.base_url, proxied_server.member("signed-in").token, **from_address("198.51.100.7")))
        await member.subscribe(FEED)
        await asyncio.sleep(0.2)
        await asyncio.to_thread(proxied_server.member("checker", nickname="王小明").data, CHECK_IN, {"key": "c"})
        for subscriber in (*feeds, neighbour, member):
            assert (await first_message(subscriber))["payload"]["data"]["activityFeed"] == {"memberName": "王**"}
        await feeds[0].socket.close()
        await asyncio.sleep(0.2)
        again = await stack.enter_async_context(connected(proxied_server.base_url, **from_address("198.51.100.7")))
        await again.subscribe(FEED)
        assert await again.nothing_for(0.3)  # admitted: no refusal, and nothing has happened since


async def test_a_write_publishes_once_whatever_the_number_of_feeds(proxied_server):
    async with contextlib.AsyncExitStack() as stack:
        feeds = []
        for i in range(12):
            feed = await stack.enter_async_context(connected(proxied_server.base_url, **from_address(f"192.0.2.{i}")))
            await feed.subscribe(FEED)
            feeds.append(feed)
        await asyncio.sleep(0.2)
        # Every feed listens through one queue of the process: a write hands its activity over once.
        assert len(proxied_server.services.broker.queues[ACTIVITY_CHANNEL]) == 1
        await asyncio.to_thread(proxied_server.member("once", nickname="李四").data, CHECK_IN, {"key": "c"})
        heard = await asyncio.gather(*(first_message(f) for f in feeds))
        assert {h["payload"]["data"]["activityFeed"]["memberName"] for h in heard} == {"李**"}
    await asyncio.sleep(0.2)
    assert ACTIVITY_CHANNEL not in proxied_server.services.broker.queues  # the last one left: nobody listens


async def test_sockets_are_capped_per_address(proxied_server):
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(SOCKETS):
            await stack.enter_async_context(connected(proxied_server.base_url, **from_address("203.0.113.9")))
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(ws_url(proxied_server.base_url), subprotocols=[PROTOCOL],
                                          **from_address("203.0.113.9")):
                pass
        assert refused.value.response.status_code == 403
        async with connected(proxied_server.base_url, **from_address("203.0.113.10")):
            pass  # another address is not held back


def budget_left(base_url: str, forwarded_for: str) -> int:
    response = httpx.post(f"{base_url}/graphql", json={"query": "{ tiers { code } }"},
                          headers={"X-Forwarded-For": forwarded_for})
    return response.json()["extensions"]["cost"]["budgetLeft"]


def test_forwarded_addresses_count_only_from_trusted_proxies(proxied_server, live_server):
    # Behind the trusted proxy each visitor has a budget of their own...
    first = budget_left(proxied_server.base_url, "198.51.100.20")
    assert budget_left(proxied_server.base_url, "198.51.100.21") == first
    assert budget_left(proxied_server.base_url, "198.51.100.20") < first
    # ...and a visitor cannot shed its address by naming another hop before the proxy's.
    assert budget_left(proxied_server.base_url, "10.9.9.9, 198.51.100.20") < first
    # A server that trusts no proxy ignores the header: every request is the peer's.
    direct = budget_left(live_server.base_url, "198.51.100.30")
    assert budget_left(live_server.base_url, "198.51.100.31") < direct


def test_the_client_is_the_nearest_hop_no_trusted_proxy_vouches_for():
    proxies = parse_networks("10.0.0.0/8, ::1")
    assert forwarded_client("203.0.113.5", ["1.2.3.4"], proxies) == "203.0.113.5"  # not a proxy: the header lies
    assert forwarded_client("10.0.0.2", ["1.2.3.4"], proxies) == "1.2.3.4"
    assert forwarded_client("10.0.0.2", ["6.6.6.6, 1.2.3.4, 10.0.0.9"], proxies) == "1.2.3.4"
    assert forwarded_client("10.0.0.2", ["6.6.6.6", "1.2.3.4"], proxies) == "1.2.3.4"  # the header sent twice
    assert forwarded_client("10.0.0.2", [], proxies) == "10.0.0.2"
    assert forwarded_client("10.0.0.2", ["not-an-ip"], proxies) == "10.0.0.2"
    assert forwarded_client("::1", ["2001:db8::7"], proxies) == "2001:db8::7"
    with pytest.raises(ValueError):
        parse_networks("10.0.0.0/8, proxy.internal")


async def test_a_websocket_message_over_the_body_limit_closes_the_socket(live_server):
    async with connected(live_server.base_url) as subscriber:
        await subscriber.subscribe(FEED.replace("memberName", "memberName " + " " * 90_000))  # within the limit
        huge = "subscription { activityFeed { memberName } }" + " " * (MAX_BODY_BYTES + 1)
        await subscriber.socket.send(json.dumps({"id": "big", "type": "subscribe", "payload": {"query": huge}}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await subscriber.next(timeout=5)
    assert closed.value.rcvd.code == 1009  # message too big: refused before it was taken in whole


async def test_feeds_asking_different_fields_each_get_their_own(live_server):
    async with connected(live_server.base_url) as names, connected(live_server.base_url) as kinds:
        await names.subscribe("subscription { activityFeed { memberName } }")
        await kinds.subscribe("subscription Kinds { activityFeed { kind text } }")
        await asyncio.sleep(0.2)
        await asyncio.to_thread(live_server.member("two-docs", nickname="赵六").data, CHECK_IN, {"key": "c"})
        assert (await first_message(names))["payload"]["data"]["activityFeed"] == {"memberName": "赵**"}
        assert set((await first_message(kinds))["payload"]["data"]["activityFeed"]) == {"kind", "text"}


async def test_a_subscription_is_paid_from_the_address_s_budget(proxied_server):
    query = 1000 - budget_left(proxied_server.base_url, "198.51.100.41")  # a fresh address's first query
    before = budget_left(proxied_server.base_url, "198.51.100.40")
    async with connected(proxied_server.base_url, **from_address("198.51.100.40")) as feed:
        await feed.subscribe(FEED)
        await asyncio.sleep(0.2)
        after = budget_left(proxied_server.base_url, "198.51.100.40")
    assert before - after >= query + 100  # the next query, and the feed: a hundred on top of its fields
