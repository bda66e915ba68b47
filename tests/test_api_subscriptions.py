"""Point toasts over graphql-transport-ws on a real WebSocket: timing, auth, isolation, and only after commit."""
import asyncio
import json
import time

import pytest
import websockets

from api.adapters.realtime import points_channel
from domain.ledger import LedgerReason
from tests.documents import CHECK_IN
from tests.graphql_ws import PROTOCOL, connected, ws_url
from tests.test_api_mall import create, funded, redeem

POINTS_CHANGED = "subscription { pointsChanged { toast entry { reason delta } points { available held } } }"


async def subscribed(subscriber) -> None:
    await subscriber.subscribe(POINTS_CHANGED)
    await asyncio.sleep(0.1)  # the protocol has no "subscribed" message; give the server a moment to register


async def test_a_check_in_toasts_within_500_ms_on_every_connection_of_the_member(live_server):
    member = live_server.member("toasty")
    async with connected(live_server.base_url, member.token) as phone, \
            connected(live_server.base_url, member.token) as tablet:
        await subscribed(phone)
        await subscribed(tablet)
        started = time.perf_counter()
        task = asyncio.create_task(asyncio.to_thread(member.data, CHECK_IN, {"key": "toast-1"}))
        first = await phone.next(timeout=0.5)
        latency = time.perf_counter() - started
        await task
        change = first["payload"]["data"]["pointsChanged"]
        assert first["type"] == "next" and latency < 0.5
        assert change["toast"].startswith("+") and change["toast"].endswith("积分 · 每日签到")
        assert change["entry"]["reason"] == "CHECK_IN" and change["points"]["available"] == change["entry"]["delta"]
        assert (await tablet.next(timeout=0.5))["payload"]["data"] == first["payload"]["data"]
        badge = (await phone.next())["payload"]["data"]["pointsChanged"]  # the first check-in earns a badge
        assert badge["toast"] == "获得徽章 · 初来乍到" and badge["entry"] is None


async def test_a_query_over_the_websocket_reads_the_member_as_they_are_now(live_server):
    """The socket signed the member in when it connected; their points have moved since."""
    member = funded(live_server, "ws-reader", 100)
    query = "{ me { points { available } ledger(first: 1) { edges { node { balanceAfter } } } } }"
    async with connected(live_server.base_url, member.token) as socket:
        async def ask() -> dict:
            operation = await socket.subscribe(query)
            answer = await socket.next()
            assert answer["id"] == operation and (await socket.next())["type"] == "complete"
            return answer["payload"]["data"]["me"]

        assert (await ask())["points"]["available"] == 100
        await asyncio.to_thread(member.data, CHECK_IN, {"key": "ws-reader-1"})
        now = await ask()
        assert now["points"]["available"] == now["ledger"]["edges"][0]["node"]["balanceAfter"] > 100


async def test_the_graphql_ws_library_hears_a_check_in(node_tools, live_server):
    """The client H5 front ends use (npm graphql-ws, on node's ws), not our own test client."""
    member = live_server.member("node-client")
    client = await asyncio.create_subprocess_exec(
        "node", str(node_tools / "subscribe.mjs"), ws_url(live_server.base_url), member.token, POINTS_CHANGED, "2",
        stdout=asyncio.subprocess.PIPE)
    try:
        assert json.loads(await asyncio.wait_for(client.stdout.readline(), 10)) == {"connected": True}
        await asyncio.sleep(0.3)  # the subscribe message follows the ack
        await asyncio.to_thread(member.data, CHECK_IN, {"key": "node-1"})
        check_in, badge = [json.loads(await asyncio.wait_for(client.stdout.readline(), 5)) for _ in range(2)]
        assert check_in["data"]["pointsChanged"]["entry"]["reason"] == "CHECK_IN"
        assert badge["data"]["pointsChanged"]["toast"] == "获得徽章 · 初来乍到"
        assert await asyncio.wait_for(client.wait(), 5) == 0
    finally:
        if client.returncode is None:
            client.kill()


async def test_a_member_hears_only_their_own_changes_and_holds_toast_too(live_server):
    item = create(live_server.staff(), "帆布袋", 300, 5, cash=1990)
    buyer, other = funded(live_server, "buyer-ws", 1000), funded(live_server, "other-ws", 1000)
    async with connected(live_server.base_url, buyer.token) as mine, \
            connected(live_server.base_url, other.token) as theirs:
        await subscribed(mine)
        await subscribed(theirs)
        checkout = """mutation { checkout(input: {itemId: "%s", idempotencyKey: "c"}) { userErrors { code } } }"""
        await asyncio.to_thread(buyer.data, checkout % item)
        held = (await mine.next())["payload"]["data"]["pointsChanged"]
        assert held == {"toast": "冻结 300 积分", "entry": None, "points": {"available": 700, "held": 300}}
        cup = create(live_server.staff(), "保温杯", 500, 5)
        await asyncio.to_thread(redeem, buyer, cup, "r1")
        spent = (await mine.next())["payload"]["data"]["pointsChanged"]
        assert spent["toast"] == "-500 积分 · 兑换 保温杯" and spent["points"]["available"] == 200
        assert await theirs.nothing_for(0.3)


async def test_a_bad_token_cannot_subscribe_and_anonymous_cannot_hear_points(live_server):
    async with websockets.connect(ws_url(live_server.base_url), subprotocols=[PROTOCOL]) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {"authorization": "Bearer forged"}}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), 5)
        assert closed.value.rcvd.code == 4403
    async with connected(live_server.base_url) as anonymous:
        await anonymous.subscribe(POINTS_CHANGED)
        refused = await anonymous.next()
        assert refused["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_subscribing_before_connection_init_closes_the_socket(live_server):
    async with websockets.connect(ws_url(live_server.base_url), subprotocols=[PROTOCOL]) as socket:
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": POINTS_CHANGED}}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), 5)
        assert closed.value.rcvd.code == 4401


async def test_a_rolled_back_write_announces_nothing_and_a_committed_one_announces_once(services):
    member = await services.members.ensure("rollback-ws", "r")
    heard = []
    async with services.broker.subscribe(points_channel(member.id)) as messages:
        async def listen():
            async for message in messages:
                heard.append(json.loads(message))

        listener = asyncio.create_task(listen())

        async def credit_then(fail: bool):
            async def work(uow):
                locked = await uow.members.lock(member.id)
                locked.account.credit(7, LedgerReason.ADJUSTMENT, services.clock.now(), None, "test", "ws")
                await uow.members.save(locked)
                if fail:
                    raise RuntimeError("the rest of the write failed")
            await services.transactions.write(work)

        with pytest.raises(RuntimeError):
            await credit_then(fail=True)
        await asyncio.sleep(0.1)
        assert heard == []
        await credit_then(fail=False)
        await asyncio.sleep(0.1)
        listener.cancel()
    assert [h["toast"] for h in heard] == ["+7 积分 · 客服调整"] and heard[0]["points"]["available"] == 7


ACTIVITY = "subscription { activityFeed { kind memberName text } }"


async def test_the_public_feed_masks_names_and_is_rate_limited(live_server):
    cup = create(live_server.staff(), "保温杯", 500, 50)
    live_server.member("feed-buyer", nickname="刘德华").data("{ me { id } }")
    buyer = funded(live_server, "feed-buyer", 1000)
    async with connected(live_server.base_url) as anyone:
        await anyone.subscribe(ACTIVITY)
        await asyncio.sleep(0.1)
        await asyncio.to_thread(redeem, buyer, cup, "feed-1")
        event = (await anyone.next())["payload"]["data"]["activityFeed"]
        assert event == {"kind": "REDEMPTION", "memberName": "刘**", "text": "兑换了 保温杯"}
        await asyncio.sleep(2.5)  # let the bucket refill to its burst
        started = time.perf_counter()
        for i in range(12):
            await asyncio.to_thread(live_server.member(f"crowd-{i}").data, CHECK_IN, {"key": "k"})
        elapsed = time.perf_counter() - started
        heard = 0
        while True:
            try:
                await anyone.next(timeout=0.3)
            except TimeoutError:
                break
            heard += 1
        assert 5 <= heard <= 5 + 2 * (elapsed + 0.3) + 1 < 12
