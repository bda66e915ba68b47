"""Toasts across server processes: two `jifen serve` processes, and `jifen serve --workers 2`, on PostgreSQL
with Redis carrying the events between them."""
import asyncio
import os
import subprocess
import time
import uuid

import httpx
import pytest

from api.auth import issue_token
from tests.conftest import SECRET
from tests.documents import CHECK_IN
from tests.graphql_ws import connected
from tests.test_api_subscriptions import POINTS_CHANGED
from tests.test_cli import JIFEN, free_port

REDIS_URL = os.environ.get("JIFEN_TEST_REDIS", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_url():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as problem:
        if os.environ.get("CI"):
            pytest.fail(f"Redis must be reachable on CI at {REDIS_URL}: {problem}")
        pytest.skip(f"Redis unreachable at {REDIS_URL} ({problem}); set JIFEN_TEST_REDIS")
    return REDIS_URL


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
