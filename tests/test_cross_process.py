"""Toasts across server processes: two `jifen serve` processes, and `jifen serve --workers 2`, on PostgreSQL
with Redis carrying the events between them."""
import asyncio
import os
import signal
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from api.http.auth import issue_token
from tests.conftest import SECRET
from tests.documents import CHECK_IN
from tests.graphql_ws import connected
from tests.test_api_subscriptions import POINTS_CHANGED
from tests.test_api_ledger import member_gid
from tests.test_cli import JIFEN, free_port

@pytest.fixture
def postgres_url(database_url):
    return database_url


only_postgresql = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def serve(database_url, redis_url, prefix, *extra):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "JIFEN_SECRET": SECRET,
           "JIFEN_REDIS_PREFIX": prefix, "JIFEN_SWEEP_SECONDS": "0"}
    process = subprocess.Popen([JIFEN, "serve", "--port", str(port), *extra], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/healthz").status_code == 200:
                return process, base_url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("server did not answer")


def stop(process):
    process.terminate()
    process.wait(timeout=30)


def check_in(base_url, token, key):
    response = httpx.post(f"{base_url}/graphql", json={"query": CHECK_IN, "variables": {"key": key}},
                          headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 200 and "errors" not in response.json(), response.text


@only_postgresql
async def test_a_change_made_on_one_process_toasts_a_subscriber_on_another(postgres_url, redis_url):
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    first, first_url = serve(postgres_url, redis_url, prefix)
    second, second_url = serve(postgres_url, redis_url, prefix)
    token = issue_token(SECRET, "two-servers")
    try:
        async with connected(first_url, token) as subscriber:
            await subscriber.subscribe(POINTS_CHANGED)
            await asyncio.sleep(0.3)
            started = time.perf_counter()
            await asyncio.to_thread(check_in, second_url, token, "cross-1")
            toast = await subscriber.next(timeout=2)
            assert toast["payload"]["data"]["pointsChanged"]["entry"]["reason"] == "CHECK_IN"
            assert time.perf_counter() - started < 1.0
    finally:
        stop(first)
        stop(second)


@only_postgresql
async def test_serve_with_two_workers_reaches_every_connection(postgres_url, redis_url):
    server, base_url = serve(postgres_url, redis_url, f"test-{uuid.uuid4().hex[:8]}", "--workers", "2")
    token = issue_token(SECRET, "many-tabs")
    try:
        async with connected(base_url, token) as a, connected(base_url, token) as b, \
                connected(base_url, token) as c, connected(base_url, token) as d:
            tabs = (a, b, c, d)
            for tab in tabs:
                await tab.subscribe(POINTS_CHANGED)
            await asyncio.sleep(0.3)
            await asyncio.to_thread(check_in, base_url, token, "workers-1")
            toasts = [await tab.next(timeout=2) for tab in tabs]
            assert {t["payload"]["data"]["pointsChanged"]["entry"]["reason"] for t in toasts} == {"CHECK_IN"}
    finally:
        stop(server)


def test_sqlite_refuses_several_workers(tmp_path):
    result = subprocess.run([JIFEN, "serve", "--workers", "2"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    assert result.returncode != 0 and "use PostgreSQL" in result.stderr


# A flash sale shared by processes, and a process killed in the middle of one.

SALE_ITEM = """mutation { createMallItem(input: {name: "保温杯", kind: GOODS, pointsPrice: 500, stock: 100}) {
  item { id } } }"""
SALE = """mutation($item: ID!, $stock: Int!, $starts: DateTime!, $ends: DateTime!) {
  createFlashSale(input: {itemId: $item, title: "秒杀", pointsPrice: 1, stock: $stock, perMemberLimit: 1,
                          startsAt: $starts, endsAt: $ends}) { flashSale { id } userErrors { code } } }"""
FUND = """mutation($m: ID!, $key: String!) { adjustPoints(input: {memberId: $m, delta: 10, memo: "m",
  idempotencyKey: $key}) { userErrors { code } } }"""
BUY = """mutation($sale: ID!, $key: String!) { redeem(input: {itemId: $sale, idempotencyKey: $key}) {
  entry { id delta } redemption { id } userErrors { code } } }"""


def post(base_url, token, query, variables=None):
    response = httpx.post(f"{base_url}/graphql", json={"query": query, "variables": variables or {}},
                          headers={"Authorization": f"Bearer {token}"}, timeout=30)
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def open_sale(base_url, stock, members):
    staff = issue_token(SECRET, "ops", role="staff")
    item = post(base_url, staff, SALE_ITEM)["createMallItem"]["item"]["id"]
    now = datetime.now(UTC)
    sale = post(base_url, staff, SALE, {"item": item, "stock": stock, "starts": now.isoformat(),
                                        "ends": (now + timedelta(hours=1)).isoformat()})["createFlashSale"]
    for member in members:
        post(base_url, issue_token(SECRET, member), "{ me { id } }")
        post(base_url, staff, FUND, {"m": member_gid(member), "key": f"fund-{member}"})
    return sale["flashSale"]["id"]


async def buy_all(base_url, sale, members, key="k", concurrency=32, won: list | None = None):
    """Every member's attempt at once: their payloads, or None where no answer came. ``won`` gets each
    winning payload as it arrives."""
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=concurrency)) as http:
        async def buy(member):
            async with gate:
                try:
                    response = await http.post(f"{base_url}/graphql",
                                               json={"query": BUY, "variables": {"sale": sale, "key": key}},
                                               headers={"Authorization": f"Bearer {issue_token(SECRET, member)}"})
                    payload = response.json()["data"]["redeem"]
                except (httpx.TransportError, ValueError):
                    return None
                if won is not None and not payload["userErrors"]:
                    won.append(payload)
                return payload
        return await asyncio.gather(*(buy(member) for member in members))


def stock_left(base_url):
    answer = post(base_url, issue_token(SECRET, "ops", role="staff"), "{ flashSales { stock } }")
    return answer["flashSales"][0]["stock"]


def ledger_checks_out(database_url):
    result = subprocess.run([JIFEN, "check"], env={**os.environ, "DATABASE_URL": database_url},
                            capture_output=True, text=True, timeout=300)
    return result.returncode == 0


@only_postgresql
async def test_two_workers_sell_exactly_the_stock(postgres_url, redis_url, redis_prefix):
    server, base_url = serve(postgres_url, redis_url, redis_prefix, "--workers", "2")
    try:
        members = [f"rush-{i}" for i in range(80)]
        sale = await asyncio.to_thread(open_sale, base_url, 25, members)
        payloads = await buy_all(base_url, sale, members * 2)  # every attempt sent twice: one effect per key
        assert None not in payloads
        bought = {p["redemption"]["id"] for p in payloads if not p["userErrors"]}
        assert len(bought) == 25 and stock_left(base_url) == 0
        assert {e["code"] for p in payloads for e in p["userErrors"]} <= {"SOLD_OUT"}
    finally:
        stop(server)
    assert ledger_checks_out(postgres_url)


async def test_a_process_killed_mid_rush_loses_no_acknowledged_sale(database_url, redis_url, redis_prefix):
    server, base_url = serve(database_url, redis_url, redis_prefix)
    members = [f"killed-{i}" for i in range(120)]
    try:
        sale = await asyncio.to_thread(open_sale, base_url, 40, members)
        won = []
        rush = asyncio.ensure_future(buy_all(base_url, sale, members, concurrency=16, won=won))
        while len(won) < 10:  # kill it with sales acknowledged and more in flight
            await asyncio.sleep(0.001)
        server.send_signal(signal.SIGKILL)
        first = await rush
    finally:
        stop(server)
    acknowledged = {m: p for m, p in zip(members, first) if p is not None}
    assert 0 < len(acknowledged) < len(members)
    server, base_url = serve(database_url, redis_url, redis_prefix)
    try:
        replayed = await buy_all(base_url, sale, members)
        for member, payload in zip(members, replayed):
            if member in acknowledged:
                assert payload == acknowledged[member]  # the same answer: nothing acknowledged was lost
        assert sum(not p["userErrors"] for p in replayed) == 40 and stock_left(base_url) == 0
    finally:
        stop(server)
    assert ledger_checks_out(database_url)
