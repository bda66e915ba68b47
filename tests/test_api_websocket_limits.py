"""WebSocket limits: the prod origin allow-list and the cap on operations per connection."""
import asyncio

import pytest
import websockets

from api.http.app import MAX_SUBSCRIPTIONS_PER_CONNECTION, create_app
from api.http.auth import issue_token
from api.ops.config import Settings
from persistence import migrate
from tests.conftest import SECRET, start_server, stop_server
from tests.graphql_ws import PROTOCOL, connected, ws_url
from tests.test_api_subscriptions import POINTS_CHANGED


@pytest.fixture
def prod_server(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path}/prod.db", secret=SECRET, env="prod", sweep_seconds=0,
                        allowed_origins=frozenset({"https://h5.brand.cn"}))
    migrate.upgrade(settings.database_url)
    server, thread, base_url = start_server(create_app(settings))
    yield base_url
    stop_server(server, thread)


async def test_prod_refuses_a_browser_websocket_from_a_page_not_allowed(prod_server):
    token = issue_token(SECRET, "origin-member")
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(ws_url(prod_server), subprotocols=[PROTOCOL], origin="https://evil.example"):
            pass
    assert refused.value.response.status_code == 403
    async with connected(prod_server, token, origin="https://h5.brand.cn") as allowed:
        await allowed.subscribe(POINTS_CHANGED)
    async with connected(prod_server, token) as no_origin:  # a mini-program sends none: the token decides
        await no_origin.subscribe(POINTS_CHANGED)


async def test_one_connection_runs_a_bounded_number_of_subscriptions(live_server):
    async with connected(live_server.base_url, live_server.member("greedy").token) as greedy:
        for _ in range(MAX_SUBSCRIPTIONS_PER_CONNECTION):
            await greedy.subscribe(POINTS_CHANGED)
        await asyncio.sleep(0.1)
        await greedy.subscribe(POINTS_CHANGED)
        refused = await greedy.next()
        assert refused["type"] == "error" and "limit" in refused["payload"][0]["message"].lower()
